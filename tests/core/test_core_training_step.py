"""Only the adapter trains; gradient checkpointing, bf16 and attention backends behave."""

from __future__ import annotations

import pytest
import torch
from tiny_models import forward, paired_inputs, perturb_adapter, tiny_transformer

from imvideoedit import AdapterConfig, attach_adapter
from imvideoedit.injection import adapter_parameters


def _adapter_step(model, steps: int = 2) -> None:
    hidden, timestep, text = paired_inputs(b=2)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    for _ in range(steps):
        out = forward(model, hidden, timestep, text)
        loss = out[2:].pow(2).mean()  # loss on the target half only
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("mode", ["full", "lora"])
@pytest.mark.parametrize("variant", ["full", "no_gate", "no_update", "parallel"])
def test_only_adapter_parameters_change(variant, mode):
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig(variant=variant, mode=mode, lora_rank=4))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".adapter." in name for name in trainable)
    if mode == "lora":
        assert all("lora_" in name or "norm" in name for name in trainable)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    _adapter_step(model, steps=3)
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert changed, "nothing trained"
    assert changed <= trainable
    backbone = [name for name in before if ".adapter." not in name]
    for name in backbone:
        assert torch.equal(dict(model.named_parameters())[name], before[name]), name


def test_gradient_checkpointing_matches_plain_backward():
    hidden, timestep, text = paired_inputs(b=2)
    grads = []
    for checkpointing in (False, True):
        model = tiny_transformer()
        attach_adapter(model, AdapterConfig())
        perturb_adapter(model)
        model.train()
        if checkpointing:
            model.enable_gradient_checkpointing()
        out = forward(model, hidden, timestep, text)
        out[2:].pow(2).mean().backward()
        grads.append({name: p.grad.clone() for name, p in adapter_parameters(model).items()})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], atol=1e-6, rtol=1e-5)


def test_bf16_paired_forward_and_backward():
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig())
    perturb_adapter(model)
    hidden, timestep, text = paired_inputs(b=2)
    with torch.no_grad():
        reference = forward(model, hidden, timestep, text)
    model.to(torch.bfloat16)
    out = forward(model, hidden.bfloat16(), timestep, text.bfloat16())
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), reference, atol=0.15, rtol=0.05)
    out[2:].float().pow(2).mean().backward()
    assert all(p.grad is not None for p in adapter_parameters(model).values())


def test_set_attention_backend_reaches_the_2d_attentions():
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    process_wide = _AttentionBackendRegistry._active_backend
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig(variant="full"))
    model.set_attention_backend("_native_math")
    try:
        adapter = model.blocks[0].adapter
        for attention in (adapter.phi1.attn, adapter.phi2.attn, adapter.gate_attn):
            assert attention.processor._attention_backend.value == "_native_math"
        hidden, timestep, text = paired_inputs()
        with torch.no_grad():
            forward(model, hidden, timestep, text)  # and it runs through that backend
    finally:
        # diffusers also sets a process-wide active backend, which reset does not undo.
        model.reset_attention_backend()
        _AttentionBackendRegistry.set_active_backend(process_wide)
