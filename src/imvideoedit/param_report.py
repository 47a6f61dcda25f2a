"""Parameter counts and training-memory estimates for a base + adapter (`imvideoedit info`).

Counts come from a real model built on the meta device (no memory, no weights), with the real
adapter attached, so they are exact. Memory is estimated per precision recipe for the three
things that scale with parameters — weights, gradients, optimizer state — and excludes
activations (which depend on resolution, batch and gradient checkpointing; the trainer reports
measured peaks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.errors import UserError
from imvideoedit.injection import adapter_parameters, attach_adapter
from imvideoedit.wan_configs import NAMED_CONFIGS, build_named_transformer

GIB = 1024**3


@dataclass(frozen=True)
class ParameterCounts:
    backbone: int  # frozen backbone parameters
    adapter_total: int  # every adapter parameter (frozen inherited ones included in LoRA mode)
    trainable: int  # what the optimizer sees
    per_block_trainable: int
    num_blocks: int
    dim: int

    @property
    def frozen(self) -> int:
        return self.backbone + self.adapter_total - self.trainable

    @property
    def total(self) -> int:
        return self.backbone + self.adapter_total


@dataclass(frozen=True)
class MemoryRecipe:
    name: str
    weight_bytes: int  # bytes per stored weight (backbone and adapter)
    master_bytes: int  # bytes per trainable parameter for an fp32 master copy (0 if none)
    grad_bytes: int  # bytes per trainable parameter for its gradient
    optimizer_bytes: int  # bytes per trainable parameter for AdamW state (two moments)


RECIPES = (
    MemoryRecipe("fp32 weights, fp32 AdamW", 4, 0, 4, 8),
    MemoryRecipe("bf16 weights + fp32 master, fp32 AdamW", 2, 4, 2, 8),
    MemoryRecipe("bf16 weights, 8-bit AdamW", 2, 0, 2, 2),
)


def build_meta_transformer(name_or_path: str):
    """A transformer with the base's architecture on the meta device (no weights are read)."""
    from diffusers import WanTransformer3DModel

    if name_or_path in NAMED_CONFIGS:
        return build_named_transformer(name_or_path, device="meta")
    path = Path(name_or_path)
    subfolder = "transformer" if (path / "transformer" / "config.json").is_file() else None
    if not path.exists():
        raise UserError(
            f"base not found: {name_or_path!r}; give a local diffusers folder or one of {', '.join(NAMED_CONFIGS)}"
        )
    try:
        config = WanTransformer3DModel.load_config(str(path), subfolder=subfolder)
    except (OSError, ValueError) as error:
        raise UserError(f"{path} has no readable Wan transformer config: {error}") from None
    if config.get("_class_name") != "WanTransformer3DModel":  # a VAE's or text encoder's config, ...
        found = config.get("_class_name") or "no _class_name"
        raise UserError(f"{path} is not a Wan transformer folder (its config is {found})")
    with torch.device("meta"):
        return WanTransformer3DModel.from_config(config)


def count_parameters(transformer, config: AdapterConfig) -> ParameterCounts:
    """Attach `config` to `transformer` (which should be a throwaway meta model) and count."""
    backbone = sum(p.numel() for p in transformer.parameters())
    attach_adapter(transformer, config)
    adapter_total = sum(p.numel() for p in adapter_parameters(transformer, trainable_only=False).values())
    trainable = sum(p.numel() for p in transformer.parameters() if p.requires_grad)
    num_blocks = len(transformer.blocks)
    dim = transformer.config.num_attention_heads * transformer.config.attention_head_dim
    return ParameterCounts(backbone, adapter_total, trainable, trainable // num_blocks, num_blocks, dim)


def memory_table(
    counts: ParameterCounts, unit: int = GIB
) -> list[tuple[str, float, float, float, float, float]]:
    """Per recipe: (name, weights, master, gradients, optimizer, total) in `unit` bytes."""
    rows = []
    for recipe in RECIPES:
        weights = counts.total * recipe.weight_bytes / unit
        master = counts.trainable * recipe.master_bytes / unit
        grads = counts.trainable * recipe.grad_bytes / unit
        optim = counts.trainable * recipe.optimizer_bytes / unit
        rows.append((recipe.name, weights, master, grads, optim, weights + master + grads + optim))
    return rows


def format_report(base: str, config: AdapterConfig, counts: ParameterCounts) -> str:
    unit, unit_name = (GIB, "GiB") if counts.total * 4 >= GIB else (1024**2, "MiB")
    lines = [
        f"base: {base}  ({counts.num_blocks} blocks, dim {counts.dim})",
        f"adapter: variant={config.variant} mode={config.mode}"
        + (f" rank={config.lora_rank}" if config.mode == "lora" else ""),
        "",
        "parameters",
        f"  backbone (frozen)        {counts.backbone:>16,}",
        f"  adapter (all)            {counts.adapter_total:>16,}",
        f"  trainable                {counts.trainable:>16,}   ({counts.per_block_trainable:,} per block)",
        f"  frozen                   {counts.frozen:>16,}",
        "",
        f"memory for weights, gradients and optimizer state ({unit_name}; activations not included)",
        f"  {'recipe':<42}{'weights':>9}{'master':>9}{'grads':>9}{'AdamW':>9}{'total':>9}",
    ]
    for name, weights, master, grads, optim, total in memory_table(counts, unit):
        lines.append(f"  {name:<42}{weights:>9.2f}{master:>9.2f}{grads:>9.2f}{optim:>9.2f}{total:>9.2f}")
    lines.append(
        "  with DeepSpeed ZeRO-2 over N GPUs, gradients and optimizer state are divided by N per GPU"
    )
    return "\n".join(lines)
