"""The adapter's data flow: pairs stay apart, the 2D path is purely spatial, 3D never mixes streams."""

from __future__ import annotations

import pytest
import torch
from tiny_models import forward, paired_inputs, perturb_adapter, tiny_transformer

from imvideoedit import AdapterConfig, attach_adapter

VARIANTS = ["full", "no_gate", "no_update", "parallel"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_pair_zero_does_not_depend_on_pair_one(variant):
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig(variant=variant))
    perturb_adapter(model)
    hidden, timestep, text = paired_inputs(b=2)
    changed = hidden.clone()
    changed[1] += torch.randn_like(changed[1])  # source of pair 1
    changed[3] += torch.randn_like(changed[3])  # target of pair 1
    with torch.no_grad():
        out, out_changed = forward(model, hidden, timestep, text), forward(model, changed, timestep, text)
    torch.testing.assert_close(out_changed[2], out[2], atol=1e-6, rtol=0)  # target of pair 0
    torch.testing.assert_close(out_changed[0], out[0], atol=1e-6, rtol=0)  # source of pair 0
    assert not torch.allclose(out_changed[3], out[3])  # pair 1 itself did change


@pytest.mark.parametrize("variant", VARIANTS)
def test_2d_path_is_purely_spatial(variant):
    """One block, frozen 3D output held fixed: source frame k moves target frame k only."""
    frames, height, width = 4, 6, 6
    model = tiny_transformer(num_layers=1)
    attach_adapter(model, AdapterConfig(variant=variant))
    perturb_adapter(model, scale=0.1)
    hidden, timestep, text = paired_inputs(b=1, frames=frames, height=height, width=width)
    tokens_per_frame = (height // 2) * (width // 2)
    fixed = torch.randn(2, frames * tokens_per_frame, 24)
    model.blocks[0].base.attn1.register_forward_hook(lambda module, args, output: fixed)
    with torch.no_grad():
        reference = forward(model, hidden, timestep, text)
        for k in range(frames):
            changed = hidden.clone()
            changed[0, :, k] += 3.0 * torch.randn_like(changed[0, :, k])  # source frame k
            out = forward(model, changed, timestep, text)
            diff = (out[1] - reference[1]).abs().amax(dim=(0, 2, 3))  # per target frame
            assert diff[k] > 1e-4, f"source frame {k} did not reach target frame {k}"
            others = torch.cat([diff[:k], diff[k + 1 :]])
            assert torch.all(others == 0), f"source frame {k} leaked into other target frames: {diff}"


def test_frozen_3d_attention_never_mixes_source_and_target():
    """Without the 2D path (identity adapter), the target cannot see the source at all."""
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig(variant="full"))
    seen_batches = []
    for block in model.blocks:
        block.base.attn1.register_forward_pre_hook(lambda m, args: seen_batches.append(args[0].shape[0]))
    hidden, timestep, text = paired_inputs(b=2)
    changed = hidden.clone()
    changed[:2] = torch.randn_like(changed[:2])  # new sources
    with torch.no_grad():
        out, out_changed = forward(model, hidden, timestep, text), forward(model, changed, timestep, text)
    assert torch.equal(out_changed[2:], out[2:])
    assert set(seen_batches) == {4}  # attn1 runs on the stacked streams as separate batch items


def test_gate_forced_to_ones_equals_no_gate():
    hidden, timestep, text = paired_inputs(b=2)
    full = tiny_transformer()
    attach_adapter(full, AdapterConfig(variant="full"))
    perturb_adapter(full, scale=0.1)
    no_gate = tiny_transformer()
    attach_adapter(no_gate, AdapterConfig(variant="no_gate"))
    with torch.no_grad():
        for full_block, block in zip(full.blocks, no_gate.blocks, strict=True):
            shared = {
                k: v
                for k, v in full_block.adapter.state_dict().items()
                if not k.startswith(("gate", "norm_gate"))
            }
            block.adapter.load_state_dict(shared, strict=True)
            last = full_block.adapter.gate_proj[2]
            last.weight.zero_()
            last.bias.fill_(1e4)  # sigmoid(1e4) == 1.0 exactly in float32
        out_full = forward(full, hidden, timestep, text)
        out_no_gate = forward(no_gate, hidden, timestep, text)
    assert torch.equal(out_full, out_no_gate)
