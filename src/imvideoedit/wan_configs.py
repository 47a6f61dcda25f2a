"""Named Wan transformer configs and the one function that loads a base transformer.

`load_transformer` accepts a named config (built with random weights, on the meta device by
default, for sizing), a local diffusers folder (a whole pipeline folder or its `transformer/`
subfolder), or a hub id; the last two go through diffusers' own `from_pretrained`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from imvideoedit.errors import UserError

_WAN21_COMMON: dict[str, Any] = {
    "patch_size": [1, 2, 2],
    "attention_head_dim": 128,
    "in_channels": 16,
    "out_channels": 16,
    "text_dim": 4096,
    "freq_dim": 256,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6,
    "rope_max_seq_len": 1024,
}

NAMED_CONFIGS: dict[str, dict[str, Any]] = {
    # Wan-AI/Wan2.1-T2V-1.3B-Diffusers, transformer/config.json
    "wan2.1-t2v-1.3b": {**_WAN21_COMMON, "num_attention_heads": 12, "ffn_dim": 8960, "num_layers": 30},
    # Wan-AI/Wan2.1-T2V-14B-Diffusers, transformer/config.json
    "wan2.1-t2v-14b": {**_WAN21_COMMON, "num_attention_heads": 40, "ffn_dim": 13824, "num_layers": 40},
    # The tiny random base written by `imvideoedit tiny-base` (tests, CI, first steps).
    "tiny": {
        **_WAN21_COMMON,
        "attention_head_dim": 16,
        "num_attention_heads": 2,
        "ffn_dim": 64,
        "num_layers": 2,
        "text_dim": 32,
        "freq_dim": 32,
    },
}

# Hub ids of the real bases, for docs and error messages.
HUB_IDS = {
    "wan2.1-t2v-1.3b": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
    "wan2.1-t2v-14b": "Wan-AI/Wan2.1-T2V-14B-Diffusers",
}


def build_named_transformer(
    name: str, device: str | torch.device = "meta", dtype: torch.dtype = torch.float32
):
    """A randomly initialised transformer of a named config (on the meta device: no memory)."""
    from diffusers import WanTransformer3DModel

    if name not in NAMED_CONFIGS:
        raise UserError(f"unknown named config {name!r}; choose one of {', '.join(NAMED_CONFIGS)}")
    with torch.device(device):
        model = WanTransformer3DModel(**NAMED_CONFIGS[name])
    return model.to(dtype=dtype) if str(device) != "meta" else model


def load_transformer(
    name_or_path: str,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
):
    """Load a base `WanTransformer3DModel` from a named config, a local folder, or a hub id."""
    from diffusers import WanTransformer3DModel

    if name_or_path in NAMED_CONFIGS:
        return build_named_transformer(name_or_path, device=device or "meta", dtype=dtype or torch.float32)

    path = Path(name_or_path)
    kwargs: dict[str, Any] = {}
    if dtype is not None:
        kwargs["torch_dtype"] = dtype
    if path.exists():
        if (path / "transformer" / "config.json").is_file():
            kwargs["subfolder"] = "transformer"
        elif not _is_wan_transformer_folder(path):
            raise UserError(
                f"{path} is neither a diffusers Wan pipeline folder (with transformer/) nor a "
                "WanTransformer3DModel folder (config.json with _class_name WanTransformer3DModel)"
            )
    elif looks_like_hub_id(name_or_path):
        kwargs["subfolder"] = "transformer"  # a hub id of a whole pipeline repo
    else:
        raise UserError(f"base not found: {name_or_path!r} is not a folder, a hub id or a named config")
    try:
        model = WanTransformer3DModel.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError) as error:
        raise UserError(f"could not load a Wan transformer from {name_or_path!r}: {error}") from None
    return model.to(device) if device is not None else model


def looks_like_hub_id(name: str) -> bool:
    """ "owner/repo": one slash, not a path ("./x", "/x", "~/x") and nothing on disk by that name.

    The one rule every loader uses to tell a hub id from a local folder that is missing, so that a
    mistyped path is reported as not found rather than looked up on the hub.
    """
    return name.count("/") == 1 and not name.startswith((".", "/", "~")) and not Path(name).exists()


def _is_wan_transformer_folder(path: Path) -> bool:
    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("_class_name") == "WanTransformer3DModel"
    except (OSError, json.JSONDecodeError):
        return False
