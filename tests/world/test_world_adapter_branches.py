"""The branch analysis behind the ablation's discussion reads each branch where it is: at
initialisation every branch that must be zero is zero, and a perturbed branch shows up."""

from __future__ import annotations

from pathlib import Path

import torch
from benchmark_scripts import load_benchmark
from diffusers import WanTransformer3DModel

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.adapter_io import save_adapter
from imvideoedit.injection import adapted_blocks, attach_adapter


def _adapter(base: Path, path: Path, variant: str, perturb: bool = False) -> Path:
    transformer = WanTransformer3DModel.from_pretrained(str(base / "transformer"))
    attach_adapter(transformer, AdapterConfig(variant=variant))
    if perturb:  # make the update branch speak: its output projection leaves zero
        with torch.no_grad():
            for block in adapted_blocks(transformer):
                torch.nn.init.normal_(block.adapter.phi2.attn.to_out[0].weight, std=0.05)
    return save_adapter(transformer, path)


def test_branches_are_zero_at_initialisation_and_seen_when_trained(small_world_base, tmp_path):
    torch.set_num_threads(1)
    measure = load_benchmark("world_adapter_branches").measure
    fresh = measure(
        str(small_world_base), str(_adapter(small_world_base, tmp_path / "f.st", "full")), 3, 0.5, 0
    )
    assert fresh["mean"]["change"] == 0.0
    assert fresh["mean"]["predict"] == 0.0 and fresh["mean"]["update"] == 0.0
    assert 0.0 < fresh["mean"]["gate_mean"] < 1.0
    assert len(fresh["per_block"]) == 2  # one row per adapted block

    moved = measure(
        str(small_world_base), str(_adapter(small_world_base, tmp_path / "m.st", "full", True)), 3, 0.5, 0
    )
    assert moved["mean"]["update"] > 0.0 and moved["mean"]["gated"] > 0.0
    assert moved["mean"]["change"] > 0.0 and moved["mean"]["predict"] == 0.0  # W_p still zero

    parallel = measure(
        str(small_world_base), str(_adapter(small_world_base, tmp_path / "p.st", "parallel")), 3, 0.5, 0
    )
    assert parallel["mean"]["change"] == 0.0 and "gate_mean" not in parallel["mean"]


def test_twin_share_reads_the_attention_the_operator_uses(small_world_base):
    """The recomputed weights, applied to the operator's own values, give its forward output
    (so q/k, norms and RoPE are the ones it runs), and the twin share is a share."""
    from imvideoedit.joint_spatial_attention import JointSpatialAttention

    script = load_benchmark("world_adapter_branches")
    transformer = WanTransformer3DModel.from_pretrained(str(small_world_base / "transformer"))
    phi = JointSpatialAttention(transformer.blocks[0].attn1)
    with torch.no_grad():  # trained-looking weights: sharper, non-trivial attention
        for linear in (phi.attn.to_q, phi.attn.to_k):
            torch.nn.init.normal_(linear.weight, std=0.3)
    frames, height, width = 2, 3, 4
    dim = transformer.config.num_attention_heads * transformer.config.attention_head_dim
    hidden = torch.randn(2 * 2, frames * height * width, dim, generator=torch.Generator().manual_seed(0))
    p_t, p_h, p_w = transformer.config.patch_size  # the joint H x 2W grid, as the adapter asks for it
    rope = transformer.rope(torch.empty(1, 0, p_t, height * p_h, 2 * width * p_w))
    grid = (frames, height, width)
    with torch.no_grad():
        weights, joint = script.attention_weights(phi, hidden, grid, rope)
        value = phi.attn.to_v(joint).unflatten(2, (phi.attn.heads, -1))  # (bF, 2HW, h, d)
        mixed = torch.einsum("bhqk,bkhd->bqhd", weights, value).flatten(2)
        expected = phi.attn(joint, None, None, rope)
        share = script.twin_share(phi, hidden, grid, rope)
    torch.testing.assert_close(phi.attn.to_out[0](mixed), expected, atol=1e-5, rtol=1e-4)
    assert 0.0 < share < 1.0
