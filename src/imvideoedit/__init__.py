"""ImVideoEdit: a frozen Wan2.1 text-to-video transformer taught to edit videos from image pairs.

The public API (kept stable; other tools call exactly these names):

    AdapterConfig                      what adapter to build (variant, mode, LoRA rank, ...)
    attach_adapter(transformer, cfg)   add Predict-Update Spatial Difference Attention in place
    detach_adapter(transformer)        give back the stock transformer
    save_adapter(transformer, path)    adapter weights + config + base fingerprint (safetensors)
    load_adapter(transformer, path)    attach if needed, then load; refuses a mismatched base

Names are resolved lazily so that `import imvideoedit` (and the CLI's start-up) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "AdapterConfig": "imvideoedit.adapter_config",
    "attach_adapter": "imvideoedit.injection",
    "detach_adapter": "imvideoedit.injection",
    "has_adapter": "imvideoedit.injection",
    "save_adapter": "imvideoedit.adapter_io",
    "load_adapter": "imvideoedit.adapter_io",
    "UserError": "imvideoedit.errors",
}

__all__ = [
    "AdapterConfig",
    "UserError",
    "__version__",
    "attach_adapter",
    "detach_adapter",
    "has_adapter",
    "load_adapter",
    "save_adapter",
]

if TYPE_CHECKING:  # pragma: no cover
    from imvideoedit.adapter_config import AdapterConfig
    from imvideoedit.adapter_io import load_adapter, save_adapter
    from imvideoedit.errors import UserError
    from imvideoedit.injection import attach_adapter, detach_adapter, has_adapter


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'imvideoedit' has no attribute {name!r}")
