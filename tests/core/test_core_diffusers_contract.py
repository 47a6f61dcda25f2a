"""What ImVideoEdit relies on in diffusers' Wan transformer. If a diffusers release changes any
of this, these tests fail first, naming the assumption, before anything subtler breaks."""

from __future__ import annotations

import inspect

import torch
from diffusers import WanTransformer3DModel
from diffusers.models.transformers.transformer_wan import WanAttention, WanTransformerBlock
from tiny_models import forward, paired_inputs, tiny_transformer


def test_block_forward_signature_is_what_the_wrapper_mirrors():
    params = list(inspect.signature(WanTransformerBlock.forward).parameters)
    assert params == ["self", "hidden_states", "encoder_hidden_states", "temb", "rotary_emb"]


def test_attention_takes_the_keywords_the_adapter_passes():
    # Phi calls its copy of attn1 with hidden_states= and rotary_emb=; the gate calls its copy of
    # attn2 with hidden_states= and encoder_hidden_states= (cross-attention to the text).
    params = inspect.signature(WanAttention.forward).parameters
    assert {"hidden_states", "encoder_hidden_states", "rotary_emb"} <= set(params)
    assert params["encoder_hidden_states"].default is None and params["rotary_emb"].default is None
    assert "attention_mask" not in params or params["attention_mask"].default is None  # none passed


def test_block_structure():
    block = tiny_transformer().blocks[0]
    assert isinstance(block.attn1, WanAttention) and isinstance(block.attn2, WanAttention)
    for attention in (block.attn1, block.attn2):
        for name in ("to_q", "to_k", "to_v", "norm_q", "norm_k", "processor"):
            assert hasattr(attention, name), name
        assert isinstance(attention.to_out[0], torch.nn.Linear)
        assert hasattr(attention.processor, "_attention_backend")
    assert block.attn2.is_cross_attention and not block.attn1.is_cross_attention
    assert block.scale_shift_table.shape[1] == 6


def _block_inputs(model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(2, 4 * 4 * 5, 24, generator=generator)
    text = torch.randn(2, 7, 24, generator=generator)
    temb = torch.randn(2, 6, 24, generator=generator)
    rope = model.rope(torch.empty(1, 0, 4, 8, 10))
    return hidden, text, temb, rope


def test_attn1_is_called_once_with_the_modulated_norm1_output_and_gated_by_gate_msa():
    model = tiny_transformer()
    block = model.blocks[0]
    hidden, text, temb, rope = _block_inputs(model)
    calls = []
    handle = block.attn1.register_forward_hook(lambda m, args, out: calls.append(args[0].clone()))
    with torch.no_grad():
        block(hidden, text, temb, rope)
    handle.remove()
    assert len(calls) == 1
    shift, scale, gate, *_ = (block.scale_shift_table + temb.float()).chunk(6, dim=1)
    expected_n = (block.norm1(hidden.float()) * (1 + scale) + shift).type_as(hidden)
    assert torch.equal(calls[0], expected_n)

    # attn1's output is what `x + A * gate_msa` adds: with gate_msa = 0 it has no effect.
    temb_zero_gate = temb.clone()
    temb_zero_gate[:, 2] = -block.scale_shift_table[0, 2]
    with torch.no_grad():
        plain = block(hidden, text, temb_zero_gate, rope)
        handle = block.attn1.register_forward_hook(lambda m, args, out: out + 100.0)
        swapped = block(hidden, text, temb_zero_gate, rope)
        handle.remove()
        moved = block(hidden, text, temb, rope)
        handle = block.attn1.register_forward_hook(lambda m, args, out: out + 100.0)
        moved_swapped = block(hidden, text, temb, rope)
        handle.remove()
    assert torch.equal(plain, swapped)
    assert not torch.allclose(moved, moved_swapped)


def test_rope_reads_only_the_shape_and_gives_the_joint_grid_positions():
    model = tiny_transformer()
    height, width = 4, 5
    joint_cos, joint_sin = model.rope(torch.empty(1, 0, 1, 2 * height, 2 * 2 * width))
    head_dim = model.config.attention_head_dim
    assert joint_cos.shape == joint_sin.shape == (1, height * 2 * width, 1, head_dim)
    stock_cos, stock_sin = model.rope(torch.empty(1, 0, 1, 2 * height, 2 * width))
    joint_cos = joint_cos.reshape(height, 2 * width, head_dim)
    stock_cos = stock_cos.reshape(height, width, head_dim)
    # Target half: the same positions as a stock frame 0; source half: columns offset by W.
    assert torch.equal(joint_cos[:, :width], stock_cos)
    assert not torch.equal(joint_cos[:, width:], stock_cos)


def test_transformer_runs_blocks_from_its_module_list_with_checkpointing_hook():
    source = inspect.getsource(WanTransformer3DModel.forward)
    assert "for block in self.blocks" in source
    assert "_gradient_checkpointing_func" in source
    assert "self.rope(hidden_states)" in source


def test_paired_timesteps_give_per_item_modulation():
    model = tiny_transformer()
    hidden, timestep, text = paired_inputs(b=2)
    with torch.no_grad():
        out = forward(model, hidden, timestep, text)
        swapped = forward(model, hidden[[0, 1, 3, 2]], timestep[[0, 1, 3, 2]], text[[0, 1, 3, 2]])
    torch.testing.assert_close(swapped[[0, 1, 3, 2]], out, atol=1e-5, rtol=0)
