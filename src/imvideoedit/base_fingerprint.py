"""Fingerprints of a base transformer, stored in adapter files and video sidecars.

An adapter only makes sense on the base it was trained on. Two checks:
- the config fingerprint: a hash of the transformer's architecture config (what shapes the
  adapter's tensors and what its inherited weights were copied from);
- a weight probe: the mean and std of fixed backbone tensors (`base_weight_probe`) and a few of
  their values at fixed positions (`base_weight_values`), compared with a tolerance so that the
  same weights loaded in bf16 or fp32 still match, but another checkpoint does not. Statistics
  alone are not enough: two initialisations of the same architecture (or two fine-tunes of one
  base) share them within a percent. Files from before the values were recorded are checked on
  their statistics.
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
    """Mean and std of a few backbone tensors, or None for a model on the meta device."""
    stats: list[float] = []
    for values in _probed_tensors(transformer):
        if values is None:
            return None
        stats += [float(values.mean()), float(values.std())]
    return stats


def base_weight_values(transformer: nn.Module) -> list[float] | None:
    """`_PROBE_VALUES` values of each probed tensor at evenly spaced flat positions (one list), or
    None for a model on the meta device. Kept apart from `base_weight_probe`, whose layout older
    files and versions know."""
    picked: list[float] = []
    for values in _probed_tensors(transformer):
        if values is None:
            return None
        positions = torch.linspace(0, values.numel() - 1, _PROBE_VALUES).round().long()
        picked += values[positions].tolist()
    return picked


def weight_probes_match(saved: list[float], current: list[float]) -> bool:
    if len(saved) != len(current):
        return False
    for (saved_mean, saved_std), (mean, std) in zip(_pairs(saved), _pairs(current), strict=True):
        scale = max(abs(saved_std), 1e-12)
        if abs(saved_std - std) > _PROBE_RTOL * scale or abs(saved_mean - mean) > _PROBE_RTOL * scale:
            return False
    return True


def weight_values_match(saved: list[float], current: list[float], probe: list[float]) -> bool:
    """The same values up to a dtype's rounding; `probe` (this base's mean/std) scales the slack."""
    if len(saved) != len(current) or len(saved) != _PROBE_VALUES * len(_PROBED):
        return False
    stds = [abs(std) for _, std in _pairs(probe)]
    for index, (a, b) in enumerate(zip(saved, current, strict=True)):
        scale = max(stds[index // _PROBE_VALUES], 1e-12)
        if abs(a - b) > _VALUE_RTOL * abs(a) + _VALUE_ATOL * scale:
            return False
    return True


def _probed_tensors(transformer: nn.Module) -> list[torch.Tensor | None]:
    """The probed tensors, flat, in float64; None in place of one that is missing, on the meta
    device, or empty (a parameter shard another process holds)."""
    named = _backbone_named_parameters(transformer)
    tensors: list[torch.Tensor | None] = []
    for name in _PROBED:
        tensor = named.get(name)
        if tensor is None or tensor.is_meta or tensor.numel() == 0:
            tensors.append(None)
        else:
            tensors.append(tensor.detach().to(torch.float64).flatten())
    return tensors


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


def _pairs(values: list[float]) -> list[tuple[float, float]]:
    return list(zip(values[0::2], values[1::2], strict=True))
