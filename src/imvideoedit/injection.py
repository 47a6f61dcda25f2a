"""Attach the adapter to a diffusers `WanTransformer3DModel`, and take it off again.

The seam (no fork, no monkey-patching of diffusers):
- every `WanTransformerBlock` in `transformer.blocks` is replaced by an `ImVideoEditBlock` that
  keeps the original as `.base` and has the same call signature. Its forward runs the stock
  block; for the duration of that one call a forward hook on `base.attn1` swaps the 3D
  self-attention output A for the adapter's H, so H lands exactly where A did, inside the block's
  timestep gate (docs/adapter.md, "What one adapted block computes"). Everything else in the
  block is diffusers' own code.
- the per-call facts a block is not given (the latent token grid, the 2D RoPE of the joint
  [target | source] grid) are computed once per forward by a pre-hook on the transformer and
  travel in one `PairedLayout` object shared by the blocks.

The batch layout (docs/training.md, "What one step does") is `cat([sources, targets])`: item i of the first half is
paired with item i of the second half. Nothing else is needed from the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.errors import UserError
from imvideoedit.spatial_difference import SpatialDifferenceAdapter

_STATE_ATTR = "_imvideoedit_state"


@dataclass
class PairedLayout:
    """Per-forward facts shared by all adapted blocks of one transformer."""

    grid: tuple[int, int, int] | None = None  # (F, H, W) latent tokens after patching
    rotary_emb_2d: tuple[torch.Tensor, torch.Tensor] | None = None  # joint H x 2W grid RoPE

    def require(self, seq_len: int) -> tuple[tuple[int, int, int], tuple[torch.Tensor, torch.Tensor]]:
        if self.grid is None or self.rotary_emb_2d is None:
            raise RuntimeError(
                "ImVideoEdit block called outside its transformer's forward; call the transformer itself"
            )
        if math.prod(self.grid) != seq_len:
            raise RuntimeError(
                f"ImVideoEdit block got {seq_len} tokens but the current latent grid {self.grid} has "
                f"{math.prod(self.grid)}; a recomputation (gradient checkpointing) must follow its own forward"
            )
        return self.grid, self.rotary_emb_2d


@dataclass
class _AttachedState:
    config: AdapterConfig
    layout: PairedLayout
    hook: Any
    requires_grad_before: dict[str, bool] = field(default_factory=dict)


class ImVideoEditBlock(nn.Module):
    """A Wan block with the adapter: same call signature, the stock block kept as `base`."""

    def __init__(self, base: nn.Module, adapter: SpatialDifferenceAdapter, layout: PairedLayout) -> None:
        super().__init__()
        self.base = base
        self.adapter = adapter
        self._layout = layout  # a plain object: not a module, not in the state dict

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        temb: torch.Tensor,
        rotary_emb: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        grid, rotary_emb_2d = self._layout.require(hidden_states.shape[1])

        def replace_attn1_output(module, args, kwargs, attn_output):
            norm_hidden_states = args[0] if args else kwargs["hidden_states"]
            return self.adapter(norm_hidden_states, attn_output, encoder_hidden_states, grid, rotary_emb_2d)

        handle = self.base.attn1.register_forward_hook(replace_attn1_output, with_kwargs=True)
        try:
            return self.base(hidden_states, encoder_hidden_states, temb, rotary_emb)
        finally:
            handle.remove()


def has_adapter(transformer: nn.Module) -> bool:
    return getattr(transformer, _STATE_ATTR, None) is not None


def get_adapter_config(transformer: nn.Module) -> AdapterConfig:
    state = getattr(transformer, _STATE_ATTR, None)
    if state is None:
        raise UserError("this transformer has no ImVideoEdit adapter attached")
    return state.config


def adapted_blocks(transformer: nn.Module) -> list[ImVideoEditBlock]:
    return [block for block in transformer.blocks if isinstance(block, ImVideoEditBlock)]


def adapter_parameters(transformer: nn.Module, trainable_only: bool = True) -> dict[str, nn.Parameter]:
    """The adapter's parameters keyed `blocks.{i}.{name}` (the adapter files' key format)."""
    params: dict[str, nn.Parameter] = {}
    for index, block in enumerate(transformer.blocks):
        if not isinstance(block, ImVideoEditBlock):
            continue
        for name, param in block.adapter.named_parameters():
            if param.requires_grad or not trainable_only:
                params[f"blocks.{index}.{name}"] = param
    return params


def attach_adapter(transformer: nn.Module, config: AdapterConfig | None = None) -> nn.Module:
    """Add the ImVideoEdit adapter to every block of `transformer`, in place; return it.

    Validates everything before changing anything. Afterwards every backbone parameter is
    frozen and exactly the adapter's trainable parameters (all of them in "full" mode; the LoRA
    factors and norm weights in "lora" mode) have `requires_grad=True`.
    """
    config = config or AdapterConfig()
    _validate_transformer(transformer)

    requires_grad_before = {name: p.requires_grad for name, p in transformer.named_parameters()}
    transformer.requires_grad_(False)

    layout = PairedLayout()
    for index, block in enumerate(transformer.blocks):
        adapter = SpatialDifferenceAdapter(block.attn1, block.attn2, config, index=index)
        transformer.blocks[index] = ImVideoEditBlock(block, adapter, layout)

    for block in adapted_blocks(transformer):
        _set_trainable(block.adapter, config)

    hook = transformer.register_forward_pre_hook(_make_layout_hook(transformer, layout), with_kwargs=True)
    setattr(transformer, _STATE_ATTR, _AttachedState(config, layout, hook, requires_grad_before))
    return transformer


def detach_adapter(transformer: nn.Module) -> nn.Module:
    """Remove the adapter: the stock blocks return, and so do the original `requires_grad` flags."""
    state = getattr(transformer, _STATE_ATTR, None)
    if state is None:
        raise UserError("detach_adapter: this transformer has no ImVideoEdit adapter attached")
    for index, block in enumerate(transformer.blocks):
        if isinstance(block, ImVideoEditBlock):
            transformer.blocks[index] = block.base
    state.hook.remove()
    for name, param in transformer.named_parameters():
        param.requires_grad_(state.requires_grad_before.get(name, param.requires_grad))
    delattr(transformer, _STATE_ATTR)
    return transformer


def _validate_transformer(transformer: nn.Module) -> None:
    from diffusers import WanTransformer3DModel
    from diffusers.models.transformers.transformer_wan import WanAttention, WanTransformerBlock

    if has_adapter(transformer):
        raise UserError("attach_adapter: this transformer already has an ImVideoEdit adapter attached")
    if not isinstance(transformer, WanTransformer3DModel):
        raise UserError(
            f"attach_adapter expects a diffusers WanTransformer3DModel, got {type(transformer).__name__}"
        )
    cfg = transformer.config
    if cfg.get("image_dim") is not None or cfg.get("added_kv_proj_dim") is not None:
        raise UserError(
            "attach_adapter supports Wan text-to-video transformers; this one has image conditioning "
            f"(image_dim={cfg.get('image_dim')}, added_kv_proj_dim={cfg.get('added_kv_proj_dim')})"
        )
    for index, block in enumerate(transformer.blocks):
        if not isinstance(block, WanTransformerBlock):
            raise UserError(
                f"attach_adapter: block {index} is a {type(block).__name__}, not a WanTransformerBlock"
            )
        for name in ("attn1", "attn2"):
            attn = getattr(block, name, None)
            if not isinstance(attn, WanAttention):
                raise UserError(f"attach_adapter: block {index}.{name} is not a WanAttention")
            if getattr(attn, "fused_projections", False):
                raise UserError(
                    f"attach_adapter: block {index}.{name} has fused projections; call "
                    "transformer.unfuse_qkv_projections() first"
                )


def _set_trainable(adapter: SpatialDifferenceAdapter, config: AdapterConfig) -> None:
    if config.mode == "full":
        adapter.requires_grad_(True)
        return
    _inject_lora(adapter, config)
    for module in adapter.modules():
        if isinstance(module, (nn.LayerNorm, nn.RMSNorm)):
            for param in module.parameters(recurse=False):
                param.requires_grad_(True)


def _inject_lora(adapter: SpatialDifferenceAdapter, config: AdapterConfig) -> None:
    """Rank-r LoRA on every Linear of the adapter (peft), up-projections zero-initialised."""
    from peft import LoraConfig, inject_adapter_in_model

    targets = [name for name, module in adapter.named_modules() if isinstance(module, nn.Linear)]
    lora_config = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_scale_alpha,
        lora_dropout=0.0,
        target_modules=targets,
        bias="none",
        init_lora_weights=True,
    )
    reference = next(adapter.parameters())
    device, dtype = reference.device, reference.dtype
    inject_adapter_in_model(lora_config, adapter)
    adapter.to(device=device, dtype=dtype)  # the new LoRA factors follow the adapter's device/dtype
    for name, param in adapter.named_parameters():
        param.requires_grad_("lora_" in name)


def _make_layout_hook(transformer: nn.Module, layout: PairedLayout):
    """Pre-forward hook: record the latent grid and the joint-grid 2D RoPE for this call."""

    def record_layout(module, args, kwargs):
        hidden_states = args[0] if args else kwargs.get("hidden_states")
        if hidden_states is None or hidden_states.ndim != 5:
            raise UserError("ImVideoEdit transformer expects hidden_states of shape (batch, C, F, H, W)")
        batch, _, frames, height, width = hidden_states.shape
        if batch % 2 != 0:
            raise UserError(
                "ImVideoEdit expects a paired batch cat([sources, targets]) with an even batch size, "
                f"got batch {batch}"
            )
        p_t, p_h, p_w = transformer.config.patch_size
        grid = (frames // p_t, height // p_h, width // p_w)
        # The transformer's own RoPE module, asked for a 1-frame H x 2W grid: frame index 0,
        # rows 0..H-1, columns 0..2W-1 (the source half is offset by W). It reads only the shape.
        probe = torch.empty(1, 0, p_t, grid[1] * p_h, 2 * grid[2] * p_w, device=hidden_states.device)
        layout.grid = grid
        layout.rotary_emb_2d = transformer.rope(probe)
        return None

    return record_layout
