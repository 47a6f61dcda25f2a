"""Fingerprints of a base transformer, stored in adapter files and video sidecars.

An adapter only makes sense on the base it was trained on. Two checks:
- the config fingerprint: a hash of the transformer's architecture config (what shapes the
  adapter's tensors and what its inherited weights were copied from);
- a weight probe: the mean, std and a few values at fixed positions of fixed backbone tensors,
  compared with a tolerance so that the same weights loaded in bf16 or fp32 still match, but
  another checkpoint does not. Statistics alone are not enough: two initialisations of the
  same architecture (or two fine-tunes of one base) share them within a percent.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import torch
from torch import nn

# Backbone tensors probed for the weight fingerprint (present in every Wan transformer).
_PROBED = ("blocks.0.attn1.to_q.weight", "proj_out.weight")
_PROBE_RTOL = 2e-2  # mean and std, relative to the std
_PROBE_VALUES = 8  # values per tensor, evenly spaced over its flattened elements
_VALUE_RTOL, _VALUE_ATOL = 1e-2, 1e-3  # a value may move by 1% of itself + 0.1% of the std (bf16: 0.4%)


def base_config_dict(transformer: nn.Module) -> dict[str, Any]:
    """The architecture config: diffusers' config minus bookkeeping keys (`_name_or_path`, ...)."""
    config = dict(transformer.config)
    return {key: _jsonable(value) for key, value in sorted(config.items()) if not key.startswith("_")}


def base_config_fingerprint(transformer: nn.Module) -> str:
    text = json.dumps(base_config_dict(transformer), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe_base(config: dict[str, Any]) -> str:
    """A short human description for error messages: 'dim 1536, 30 layers, 12 heads, ...'."""
    dim = config.get("num_attention_heads", 0) * config.get("attention_head_dim", 0)
    return (
        f"dim {dim}, {config.get('num_layers')} layers, {config.get('num_attention_heads')} heads, "
        f"ffn {config.get('ffn_dim')}, in_channels {config.get('in_channels')}, text_dim {config.get('text_dim')}"
    )


def base_weight_probe(transformer: nn.Module) -> list[float] | None:
    """Per probed tensor: mean, std, then `_PROBE_VALUES` values at evenly spaced flat positions
    (one flat list); None for a model on the meta device."""
    named = _backbone_named_parameters(transformer)
    stats: list[float] = []
    for name in _PROBED:
        tensor = named.get(name)
        if tensor is None or tensor.is_meta:
            return None
        values = tensor.detach().to(torch.float64).flatten()
        picks = torch.linspace(0, values.numel() - 1, _PROBE_VALUES).round().long()
        stats += [float(values.mean()), float(values.std()), *values[picks].tolist()]
    return stats


def weight_probes_match(saved: list[float], current: list[float]) -> bool:
    """True when `current` (this version's probe) matches `saved`, which may be an older file's
    probe of mean and std only (then only those are compared)."""
    count = len(_PROBED)
    if len(saved) % count or len(current) % count:
        return False
    saved_width, width = len(saved) // count, len(current) // count
    if saved_width not in (2, width):
        return False
    for index in range(count):
        old = saved[index * saved_width : (index + 1) * saved_width]
        new = current[index * width : (index + 1) * width]
        scale = max(abs(old[1]), 1e-12)  # the tensor's std
        if abs(old[1] - new[1]) > _PROBE_RTOL * scale or abs(old[0] - new[0]) > _PROBE_RTOL * scale:
            return False
        for a, b in zip(old[2:], new[2:saved_width], strict=True):
            if abs(a - b) > _VALUE_RTOL * abs(a) + _VALUE_ATOL * scale:
                return False
    return True


def _backbone_named_parameters(transformer: nn.Module) -> dict[str, torch.Tensor]:
    """Backbone parameters under their stock names, whether or not an adapter is attached."""
    named = {}
    for name, param in transformer.named_parameters():
        if ".adapter." in name:
            continue
        named[name.replace(".base.", ".", 1)] = param
    return named


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value
