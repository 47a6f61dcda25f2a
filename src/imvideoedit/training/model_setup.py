"""Build what the optimizer trains: the frozen base with the adapter, the optimizer, the schedule.

Precision recipe (docs/training.md, "Memory"): the frozen backbone is stored in
`model.weights_dtype` (bf16 by default), the trainable adapter weights in `model.adapter_dtype`
(fp32: they are their own master copy) and compute runs under accelerate's bf16 autocast.
Only the adapter's trainable parameters reach the optimizer.
"""

from __future__ import annotations

import importlib.util

import torch

from imvideoedit import attach_adapter
from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.errors import UserError
from imvideoedit.injection import adapter_parameters
from imvideoedit.training.config import ModelConfig, OptimConfig

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def build_trainable_transformer(model: ModelConfig, adapter: AdapterConfig) -> torch.nn.Module:
    """Load the base transformer (or build a named config with random weights) and make it trainable.

    The caller seeds torch first: the adapter's fresh layers (gate MLP, LoRA factors) draw from
    the global generator, and every process must start from the same weights.
    """
    from imvideoedit.wan_configs import NAMED_CONFIGS, load_transformer

    device = "cpu" if model.base in NAMED_CONFIGS else None  # a named config: random weights
    transformer = load_transformer(model.base, device=device, dtype=DTYPES[model.weights_dtype])
    return make_trainable(transformer, model, adapter)


def make_trainable(
    transformer: torch.nn.Module, model: ModelConfig, adapter: AdapterConfig
) -> torch.nn.Module:
    """Attach the adapter, keep its trainable weights in `adapter_dtype`, switch on checkpointing."""
    attach_adapter(transformer, adapter)
    for param in adapter_parameters(transformer, trainable_only=True).values():
        param.data = param.data.to(DTYPES[model.adapter_dtype])
    if model.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    transformer.train()
    return transformer


def trainable_parameters(transformer: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Exactly the adapter's trainable parameters, in a fixed order (the optimizer's order)."""
    params = list(adapter_parameters(transformer, trainable_only=True).values())
    ids = {id(p) for p in params}
    stray = [name for name, p in transformer.named_parameters() if p.requires_grad and id(p) not in ids]
    if stray:
        raise RuntimeError(f"backbone parameters require grad: {stray[:3]}")
    return params


def build_optimizer(params: list[torch.nn.Parameter], optim: OptimConfig) -> torch.optim.Optimizer:
    """AdamW, or bitsandbytes' 8-bit AdamW when `optim.eight_bit` (which must then be installed)."""
    kwargs = {
        "lr": optim.learning_rate,
        "betas": (optim.beta1, optim.beta2),
        "eps": optim.eps,
        "weight_decay": optim.weight_decay,
    }
    if optim.eight_bit:
        if importlib.util.find_spec("bitsandbytes") is None:
            raise UserError("optim.eight_bit needs bitsandbytes: pip install 'bitsandbytes>=0.43'")
        import bitsandbytes

        return bitsandbytes.optim.AdamW8bit(params, **kwargs)
    return torch.optim.AdamW(params, **kwargs)


def build_scheduler(optimizer: torch.optim.Optimizer, optim: OptimConfig, total_steps: int):
    """Warmup + schedule from diffusers (constant, linear, cosine, ... with warmup)."""
    from diffusers.optimization import SchedulerType, get_scheduler

    valid = [kind.value for kind in SchedulerType]
    if optim.lr_scheduler not in valid:
        raise UserError(
            f"unknown optim.lr_scheduler {optim.lr_scheduler!r}; choose one of {', '.join(valid)}"
        )
    return get_scheduler(
        optim.lr_scheduler, optimizer, num_warmup_steps=optim.warmup_steps, num_training_steps=total_steps
    )
