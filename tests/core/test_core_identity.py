"""At initialisation the adapter is an exact identity, and it inherits the backbone's weights."""

from __future__ import annotations

import pytest
import torch
from tiny_models import forward, paired_inputs, perturb_adapter, tiny_transformer

from imvideoedit import AdapterConfig, attach_adapter, detach_adapter, has_adapter
from imvideoedit.errors import UserError

VARIANTS = ["full", "no_gate", "no_update", "parallel"]


@pytest.mark.parametrize("mode", ["full", "lora"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_identity_at_init(variant, mode):
    model = tiny_transformer()
    hidden, timestep, text = paired_inputs(b=2, frames=3)
    assert timestep.tolist()[:2] == [0.0, 0.0] and timestep[2] != timestep[3]
    with torch.no_grad():
        stock = forward(model, hidden, timestep, text)
        attach_adapter(model, AdapterConfig(variant=variant, mode=mode, lora_rank=4))
        adapted = forward(model, hidden, timestep, text)
    assert adapted.shape == stock.shape
    torch.testing.assert_close(adapted[:2], stock[:2], atol=1e-5, rtol=0)  # source half
    torch.testing.assert_close(adapted[2:], stock[2:], atol=1e-5, rtol=0)  # target half


@pytest.mark.parametrize("variant", VARIANTS)
def test_detach_gives_back_bit_identical_stock_model(variant):
    model = tiny_transformer()
    hidden, timestep, text = paired_inputs()
    names_before = [name for name, _ in model.named_parameters()]
    with torch.no_grad():
        stock = forward(model, hidden, timestep, text)
        attach_adapter(model, AdapterConfig(variant=variant))
        perturb_adapter(model)
        assert not torch.equal(forward(model, hidden, timestep, text), stock)
        detach_adapter(model)
        restored = forward(model, hidden, timestep, text)
    assert torch.equal(restored, stock)
    assert not has_adapter(model)
    assert [name for name, _ in model.named_parameters()] == names_before
    assert all(p.requires_grad for p in model.parameters())  # the stock model's flags are back


def test_inherited_weights():
    model = tiny_transformer()
    block_attn1 = [block.attn1 for block in model.blocks]
    block_attn2 = [block.attn2 for block in model.blocks]
    attach_adapter(model, AdapterConfig(variant="full"))
    for block, attn1, attn2 in zip(model.blocks, block_attn1, block_attn2, strict=True):
        adapter = block.adapter
        for name in ("to_q", "to_k", "to_v", "norm_q", "norm_k"):
            for phi in (adapter.phi1, adapter.phi2):
                for key, value in getattr(attn1, name).state_dict().items():
                    assert torch.equal(getattr(phi.attn, name).state_dict()[key], value), (name, key)
        # Phi1's output projection is inherited; Phi2's is zero (exact identity at step 0).
        assert torch.equal(adapter.phi1.attn.to_out[0].weight, attn1.to_out[0].weight)
        assert torch.count_nonzero(adapter.phi2.attn.to_out[0].weight) == 0
        assert torch.count_nonzero(adapter.phi2.attn.to_out[0].bias) == 0
        # The gate's cross-attention is attn2's.
        for key, value in attn2.state_dict().items():
            assert torch.equal(adapter.gate_attn.state_dict()[key], value), key
        # W_p is zero (paper).
        assert (
            torch.count_nonzero(adapter.proj_p.weight) == 0 and torch.count_nonzero(adapter.proj_p.bias) == 0
        )
        # The copies are independent tensors, not views of the backbone's.
        assert adapter.phi1.attn.to_q.weight.data_ptr() != attn1.to_q.weight.data_ptr()


def test_parallel_branches_both_copy_attn1():
    model = tiny_transformer()
    attn1 = model.blocks[0].attn1
    attach_adapter(model, AdapterConfig(variant="parallel"))
    adapter = model.blocks[0].adapter
    for phi in (adapter.phi_pos, adapter.phi_neg):
        for key, value in attn1.state_dict().items():
            assert torch.equal(phi.attn.state_dict()[key], value)


def test_each_variant_builds_only_its_modules():
    expected = {
        "full": {"phi1", "proj_p", "norm_update", "phi2", "norm_gate", "gate_attn", "gate_proj"},
        "no_gate": {"phi1", "proj_p", "norm_update", "phi2"},
        "no_update": {"phi1", "proj_p"},
        "parallel": {"phi_pos", "phi_neg"},
    }
    for variant, modules in expected.items():
        model = tiny_transformer()
        attach_adapter(model, AdapterConfig(variant=variant))
        assert {name for name, _ in model.blocks[0].adapter.named_children()} == modules


def test_attach_twice_is_a_clear_error_and_validates_first():
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig())
    with pytest.raises(UserError, match="already has an ImVideoEdit adapter"):
        attach_adapter(model, AdapterConfig())
    with pytest.raises(UserError, match="WanTransformer3DModel"):
        attach_adapter(torch.nn.Linear(2, 2), AdapterConfig())


def test_attach_rejects_image_conditioned_transformer_without_changing_it():
    model = tiny_transformer(image_dim=8, added_kv_proj_dim=24)
    before = {name: p.requires_grad for name, p in model.named_parameters()}
    with pytest.raises(UserError, match="image conditioning"):
        attach_adapter(model, AdapterConfig())
    assert not has_adapter(model)
    assert {name: p.requires_grad for name, p in model.named_parameters()} == before


def test_bad_config_values_are_clear_errors():
    with pytest.raises(UserError, match="unknown adapter variant"):
        AdapterConfig(variant="fancy")
    with pytest.raises(UserError, match="unknown adapter mode"):
        AdapterConfig(mode="qlora")
    with pytest.raises(UserError, match="lora_rank"):
        AdapterConfig(lora_rank=0)
    with pytest.raises(UserError, match="unknown AdapterConfig keys"):
        AdapterConfig.from_dict({"variant": "full", "rank": 3})


def test_odd_batch_is_a_clear_error():
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig())
    hidden, timestep, text = paired_inputs(b=2)
    with pytest.raises(UserError, match="even batch size"):
        forward(model, hidden[:3], timestep[:3], text[:3])
