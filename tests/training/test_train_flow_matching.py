"""The rectified-flow objective as plain functions (docs/training.md)."""

from __future__ import annotations

import torch

from imvideoedit.flow_matching import (
    add_noise,
    euler_step,
    paired_model_inputs,
    sample_sigmas,
    sampling_sigmas,
    shift_sigmas,
    target_half_loss,
    velocity_target,
)


def test_shift_moves_noise_levels_up_and_keeps_the_ends():
    u = torch.linspace(0, 1, 11)
    assert torch.equal(shift_sigmas(u, 1.0), u)
    shifted = shift_sigmas(u, 5.0)
    assert shifted[0] == 0 and shifted[-1] == 1
    assert torch.all(shifted[1:-1] > u[1:-1])
    torch.testing.assert_close(shift_sigmas(torch.tensor([0.5]), 5.0), torch.tensor([5 / 6]))
    sigmas = sample_sigmas(10_000, 5.0, torch.Generator().manual_seed(0))
    assert sigmas.min() >= 0 and sigmas.max() <= 1 and 0.75 < sigmas.median() < 0.9  # 5/6 in theory


def test_noising_path_and_velocity():
    x0, noise = torch.randn(2, 4, 1, 3, 3), torch.randn(2, 4, 1, 3, 3)
    sigma = torch.tensor([0.0, 1.0])
    noisy = add_noise(x0, noise, sigma)
    assert torch.equal(noisy[0], x0[0]) and torch.equal(noisy[1], noise[1])
    # d x_sigma / d sigma is the velocity target.
    s, h = torch.tensor([0.3, 0.3]), 1e-3
    derivative = (add_noise(x0, noise, s + h) - add_noise(x0, noise, s)) / h
    torch.testing.assert_close(derivative, velocity_target(x0, noise), rtol=1e-3, atol=1e-3)


def test_euler_with_the_exact_velocity_lands_on_the_data():
    x0, noise = torch.randn(1, 4, 1, 2, 2), torch.randn(1, 4, 1, 2, 2)
    sigmas = sampling_sigmas(7, 5.0).tolist()
    assert sigmas[0] == 1.0 and sigmas[-1] == 0.0 and sigmas == sorted(sigmas, reverse=True)
    x = noise
    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:], strict=True):
        x = euler_step(x, velocity_target(x0, noise), sigma, sigma_next)
    torch.testing.assert_close(x, x0)


def test_paired_inputs_and_loss_on_the_target_half_only():
    source, target = torch.randn(2, 4, 1, 2, 2), torch.randn(2, 4, 1, 2, 2)
    text = torch.randn(2, 5, 8)
    inputs = paired_model_inputs(source, target, torch.tensor([0.25, 0.5]), text)
    assert torch.equal(inputs["hidden_states"][:2], source) and torch.equal(
        inputs["hidden_states"][2:], target
    )
    assert inputs["timestep"].tolist() == [0.0, 0.0, 250.0, 500.0]
    assert torch.equal(inputs["encoder_hidden_states"], torch.cat([text, text]))
    prediction = torch.randn(4, 4, 1, 2, 2, requires_grad=True)
    velocity = torch.randn(2, 4, 1, 2, 2)
    loss = target_half_loss(prediction, velocity)
    loss.backward()
    assert torch.all(prediction.grad[:2] == 0) and torch.all(prediction.grad[2:] != 0)
    torch.testing.assert_close(loss, ((prediction[2:] - velocity) ** 2).mean())
