"""The trainable model: precision recipe, gradient checkpointing, LoRA mode, optimizer choices."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.errors import UserError
from imvideoedit.injection import adapter_parameters
from imvideoedit.training.batches import PairBatch, flow_matching_loss
from imvideoedit.training.config import ModelConfig, OptimConfig
from imvideoedit.training.model_setup import (
    build_optimizer,
    build_scheduler,
    build_trainable_transformer,
    trainable_parameters,
)


def random_batch(b: int = 2) -> PairBatch:
    g = torch.Generator().manual_seed(0)
    latents = lambda: torch.randn(b, 16, 1, 4, 4, generator=g)  # noqa: E731
    return PairBatch(latents(), latents(), torch.randn(b, 512, 32, generator=g))


def loss_and_grads(model: torch.nn.Module, dtype=torch.float32):
    batch = random_batch()
    sigma = torch.tensor([0.4, 0.8])
    noise = torch.randn(batch.target.shape, generator=torch.Generator().manual_seed(1))
    loss = flow_matching_loss(model, batch, sigma, noise, dtype)
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in adapter_parameters(model).items()}


def test_gradient_checkpointing_gives_the_same_gradients(tiny_base):
    torch.manual_seed(0)
    plain = build_trainable_transformer(
        ModelConfig(base=str(tiny_base), weights_dtype="float32", gradient_checkpointing=False),
        AdapterConfig(),
    )
    torch.manual_seed(0)
    checkpointed = build_trainable_transformer(
        ModelConfig(base=str(tiny_base), weights_dtype="float32", gradient_checkpointing=True),
        AdapterConfig(),
    )
    assert checkpointed.is_gradient_checkpointing
    loss_a, grads_a = loss_and_grads(plain)
    loss_b, grads_b = loss_and_grads(checkpointed)
    torch.testing.assert_close(loss_a, loss_b)
    # The first block's adapter gets gradients too (its input does not require grad). At step 0
    # only W_p does: the other branches sit behind zero-initialised projections (docs/adapter.md).
    assert grads_b["blocks.0.proj_p.weight"].abs().sum() > 0
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name])


def test_bf16_backbone_with_fp32_adapter_under_autocast(tiny_base):
    model = build_trainable_transformer(
        ModelConfig(base=str(tiny_base)), AdapterConfig()
    )  # the defaults: bf16 + fp32
    params = trainable_parameters(model)
    ids = {id(p) for p in params}
    assert all(p.dtype == torch.float32 for p in params)
    kept_fp32 = model._keep_in_fp32_modules  # diffusers keeps Wan's norms and time embedder in fp32
    backbone = [
        (n, p) for n, p in model.named_parameters() if id(p) not in ids and not any(k in n for k in kept_fp32)
    ]
    assert backbone and all(p.dtype == torch.bfloat16 for _, p in backbone)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, grads = loss_and_grads(model, torch.bfloat16)
    assert torch.isfinite(loss) and all(
        g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads.values()
    )


def test_lora_mode_trains_only_low_rank_factors_and_norms(tiny_base):
    model = build_trainable_transformer(
        ModelConfig(base=str(tiny_base), weights_dtype="float32", gradient_checkpointing=False),
        AdapterConfig(mode="lora", lora_rank=2),
    )
    full = build_trainable_transformer(
        ModelConfig(base=str(tiny_base), weights_dtype="float32", gradient_checkpointing=False),
        AdapterConfig(),
    )
    lora_count = sum(p.numel() for p in trainable_parameters(model))
    assert 0 < lora_count < sum(p.numel() for p in trainable_parameters(full))
    optimizer = build_optimizer(trainable_parameters(model), OptimConfig())
    assert sum(p.numel() for group in optimizer.param_groups for p in group["params"]) == lora_count


def test_optimizer_and_schedule_choices(tiny_base):
    params = [torch.nn.Parameter(torch.zeros(3))]
    optimizer = build_optimizer(params, OptimConfig(learning_rate=2e-4, weight_decay=0.0))
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.param_groups[0]["lr"] == 2e-4
    scheduler = build_scheduler(optimizer, OptimConfig(lr_scheduler="cosine", warmup_steps=2), total_steps=10)
    rates = []
    for _ in range(10):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert rates[0] == 0 and rates[2] == pytest.approx(2e-4) and rates[-1] < rates[2]
    with pytest.raises(UserError, match="unknown optim.lr_scheduler 'sometimes'"):
        build_scheduler(optimizer, OptimConfig(lr_scheduler="sometimes"), 10)


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is not None, reason="bitsandbytes is installed")
def test_eight_bit_without_bitsandbytes_is_a_clear_error():
    with pytest.raises(UserError, match="pip install 'bitsandbytes"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], OptimConfig(eight_bit=True))
