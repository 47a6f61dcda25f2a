"""The rectified-flow objective of ImVideoEdit as plain functions (docs/training.md, "What one step does").

Noise level sigma in [0, 1]; diffusers' Wan transformer takes timesteps t = 1000 * sigma.

    x_sigma = (1 - sigma) * x0 + sigma * eps           (noising, `add_noise`)
    v       = eps - x0                                 (velocity target, `velocity_target`)
    loss    = mean (v_pred - v)^2 over the target half (`target_half_loss`)

Training samples sigma by shifted uniform sampling: u ~ U(0, 1), sigma = s*u / (1 + (s - 1)*u),
which with shift s > 1 spends more steps at high noise (s = 5 follows ViFeEdit's public recipe).
One forward pass carries both streams: `cat([source, target])`, the source clean at t = 0 and
the target noised at t (`paired_model_inputs`); only the target half of the output is scored.

Sampling for validation uses the same sigma shift on a uniform grid and plain Euler steps.
"""

from __future__ import annotations

import torch

TIMESTEP_SCALE = 1000.0  # diffusers' Wan timesteps are sigma * 1000


def shift_sigmas(u: torch.Tensor, shift: float) -> torch.Tensor:
    """Map uniform u in [0, 1] to shifted noise levels (shift 1 leaves them unchanged)."""
    return shift * u / (1.0 + (shift - 1.0) * u)


def sample_sigmas(batch: int, shift: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Training noise levels (batch,) in float32, on the generator's device (CPU by default)."""
    u = torch.rand(batch, generator=generator, dtype=torch.float32)
    return shift_sigmas(u, shift)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x0, noise (b, C, F, H, W); sigma (b,) -> x_sigma = (1 - sigma) x0 + sigma noise."""
    sigma = sigma.view(-1, *([1] * (x0.dim() - 1))).to(x0.dtype)
    return (1.0 - sigma) * x0 + sigma * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The straight path's constant velocity d x_sigma / d sigma = noise - x0."""
    return noise - x0


def paired_model_inputs(
    source: torch.Tensor, noisy_target: torch.Tensor, sigma: torch.Tensor, text: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Keyword arguments for the adapted transformer: both streams in one batch of 2b.

    source, noisy_target (b, C, F, H, W); sigma (b,); text (b, L, text_dim).
    """
    b = source.shape[0]
    timestep = torch.cat([torch.zeros(b, device=sigma.device), sigma * TIMESTEP_SCALE])  # (2b,)
    return {
        "hidden_states": torch.cat([source, noisy_target]),  # (2b, C, F, H, W)
        "timestep": timestep.to(source.device),
        "encoder_hidden_states": torch.cat([text, text]),  # (2b, L, text_dim)
        "return_dict": False,
    }


def target_half(prediction: torch.Tensor) -> torch.Tensor:
    """(2b, ...) model output -> (b, ...) the target stream's velocity prediction."""
    return prediction[prediction.shape[0] // 2 :]


def target_half_loss(prediction: torch.Tensor, velocity: torch.Tensor) -> torch.Tensor:
    """MSE between the target half of a paired prediction and the velocity target, in float32."""
    return torch.nn.functional.mse_loss(target_half(prediction).float(), velocity.float())


def sampling_sigmas(num_steps: int, shift: float) -> torch.Tensor:
    """Decreasing noise levels (num_steps + 1,) from 1 to 0 for Euler sampling."""
    return torch.cat([shift_sigmas(torch.linspace(1.0, 0.0, num_steps + 1)[:-1], shift), torch.zeros(1)])


def euler_step(x: torch.Tensor, velocity: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """One Euler step of dx/dsigma = v from sigma to sigma_next (sigma_next < sigma)."""
    return x + (sigma_next - sigma) * velocity
