"""Adapter files: safetensors holding adapter weights only, with their provenance in metadata.

Metadata keys (all strings, as safetensors requires):
    format                  "imvideoedit.adapter/1"
    imvideoedit_version     package version that wrote the file
    adapter_config          AdapterConfig as JSON
    base_config             the base transformer's architecture config as JSON
    base_config_fingerprint short hash of base_config
    base_weight_probe       JSON list of weight statistics of the base (absent for meta models)
    base_weight_values      JSON list of a few of the base's weight values at fixed positions
    ...                     caller's extra metadata (e.g. the resolved training config)

Full mode stores every adapter weight. LoRA mode stores the trainable part only (LoRA factors,
norm weights): the frozen rest is copied from the base again when the adapter is attached, which
is why the base fingerprint is checked before anything is loaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.atomic_write import atomic_path
from imvideoedit.base_fingerprint import (
    base_config_dict,
    base_config_fingerprint,
    base_weight_probe,
    base_weight_values,
    describe_base,
    weight_probes_match,
    weight_values_match,
)
from imvideoedit.errors import UserError
from imvideoedit.injection import adapter_parameters, attach_adapter, get_adapter_config, has_adapter

FORMAT = "imvideoedit.adapter/1"
_RESERVED = {
    "format",
    "imvideoedit_version",
    "adapter_config",
    "base_config",
    "base_config_fingerprint",
    "base_weight_probe",
    "base_weight_values",
}


def save_adapter(
    transformer: nn.Module, path: str | os.PathLike, extra_metadata: dict[str, str] | None = None
) -> Path:
    """Write the adapter's trainable weights and provenance to `path` (atomically)."""
    from imvideoedit import __version__

    config = get_adapter_config(transformer)
    tensors = {
        name: param.detach().to("cpu").contiguous().clone()
        for name, param in adapter_parameters(transformer, trainable_only=True).items()
    }
    metadata = {
        "format": FORMAT,
        "imvideoedit_version": __version__,
        "adapter_config": config.to_json(),
        "base_config": json.dumps(base_config_dict(transformer), sort_keys=True),
        "base_config_fingerprint": base_config_fingerprint(transformer),
    }
    probe, values = base_weight_probe(transformer), base_weight_values(transformer)
    if probe is not None and values is not None:
        metadata["base_weight_probe"] = json.dumps(probe)
        metadata["base_weight_values"] = json.dumps(values)
    for key, value in (extra_metadata or {}).items():
        if key in _RESERVED:
            raise ValueError(f"extra_metadata may not override the reserved key {key!r}")
        metadata[key] = value if isinstance(value, str) else json.dumps(value)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return Path(path)


def read_adapter_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The file's metadata, after checking that it is an ImVideoEdit adapter file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"adapter file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as error:  # safetensors raises its own error types for bad headers
        raise UserError(f"{path} is not a readable safetensors file ({error})") from None
    if metadata.get("format") != FORMAT:
        raise UserError(f"{path} is not an ImVideoEdit adapter file (format {metadata.get('format')!r})")
    return metadata


def load_adapter(
    transformer: nn.Module, path: str | os.PathLike, check_base_weights: bool = True
) -> AdapterConfig:
    """Load an adapter file into `transformer`, attaching the adapter first if needed.

    Refuses, with a message naming both sides, a base with another architecture config, a base
    whose weights differ from the training base (unless `check_base_weights=False`), or an
    already attached adapter of another variant/mode.
    """
    path = Path(path)
    metadata = read_adapter_metadata(path)
    file_config = AdapterConfig.from_json(metadata["adapter_config"])

    saved_base = json.loads(metadata["base_config"])
    if metadata["base_config_fingerprint"] != base_config_fingerprint(transformer):
        raise UserError(
            f"adapter {path.name} was made for another base: file base ({describe_base(saved_base)}) "
            f"vs this base ({describe_base(base_config_dict(transformer))})"
        )
    if check_base_weights and "base_weight_probe" in metadata:
        current = base_weight_probe(transformer)
        values = base_weight_values(transformer)
        if current is not None and (
            not weight_probes_match(json.loads(metadata["base_weight_probe"]), current)
            or (
                "base_weight_values" in metadata  # files from before it was recorded: statistics only
                and not weight_values_match(json.loads(metadata["base_weight_values"]), values, current)
            )
        ):
            raise UserError(
                f"adapter {path.name} was trained on a base with the same architecture but other weights "
                "(base weight probe differs); to load it anyway: `imvideoedit edit --skip-base-weight-check`, "
                "or load_adapter(..., check_base_weights=False)"
            )

    attached_here = False
    if has_adapter(transformer):
        attached = get_adapter_config(transformer)
        if attached != file_config:
            mine, theirs = file_config.to_dict(), attached.to_dict()
            differ = ", ".join(f"{key}={mine[key]}" for key in mine if mine[key] != theirs[key])
            held = ", ".join(f"{key}={theirs[key]}" for key in mine if mine[key] != theirs[key])
            raise UserError(f"adapter {path.name} is {differ}, but the attached adapter is {held}")
    else:
        attach_adapter(transformer, file_config)
        attached_here = True
    try:
        _copy_weights(transformer, path)
    except BaseException:  # a bad file, an I/O or memory error, Ctrl-C: no half-loaded adapter
        if attached_here:  # leave the model as it was given
            from imvideoedit.injection import detach_adapter

            detach_adapter(transformer)
        raise
    return file_config


def _copy_weights(transformer: nn.Module, path: Path) -> None:
    """Every adapter tensor of the file into the attached adapter (all checked before any copy)."""
    params = adapter_parameters(transformer, trainable_only=True)
    with safe_open(str(path), framework="pt") as handle:
        keys = set(handle.keys())
        missing, unexpected = sorted(set(params) - keys), sorted(keys - set(params))
        if missing or unexpected:
            raise UserError(
                f"adapter {path.name} does not match the attached adapter: "
                f"{len(missing)} missing keys (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]})"
            )
        for name, param in params.items():
            shape = tuple(handle.get_slice(name).get_shape())
            if shape != tuple(param.shape):
                raise UserError(
                    f"adapter {path.name}: {name} has shape {shape}, expected {tuple(param.shape)}"
                )
        with torch.no_grad():
            for name, param in params.items():
                param.copy_(handle.get_tensor(name).to(device=param.device, dtype=param.dtype))
