"""Load the parts of a Wan base that preprocessing needs: tokenizer, UMT5 encoder, VAE.

The base is a local diffusers pipeline folder (like `Wan-AI/Wan2.1-T2V-1.3B-Diffusers` once
downloaded, or `imvideoedit tiny-base DIR`) or a hub id that diffusers/transformers resolve
through their own cache. Only what is asked for is loaded, so `data check --base` reads just the
tokenizer and a fully cached training run loads neither the VAE nor the text encoder.

`encoders_fingerprint` identifies the VAE + text encoder + tokenizer without loading them: it
hashes their config files and, for each weight file, its size and its first and last MiB. A
latent cache written with other encoders is never reused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from imvideoedit.errors import UserError
from imvideoedit.wan_configs import looks_like_hub_id

_PARTS = ("vae", "text_encoder", "tokenizer")
_PROBE_BYTES = 1 << 20


def require_base_parts(base: str, parts: tuple[str, ...]) -> None:
    """Refuse, in one line and before any work, a local base that lacks one of `parts`' folders.

    A hub id is left to the hub's own resolution (its errors are reported where it is loaded).
    """
    path = Path(base)
    if not path.is_dir():
        if not looks_like_hub_id(base):
            raise UserError(f"base not found: {base!r} is neither a folder nor a hub id")
        return
    missing = [part for part in parts if not (path / part).is_dir()]
    if missing:
        raise UserError(
            f"base {base!r} has no {', '.join(f'{part}/' for part in missing)} folder "
            "(expected a diffusers Wan pipeline layout)"
        )


def load_tokenizer(base: str):
    from transformers import AutoTokenizer

    require_base_parts(base, ("tokenizer",))
    try:
        return AutoTokenizer.from_pretrained(base, subfolder="tokenizer")
    except (OSError, ValueError) as error:
        raise UserError(f"could not load the tokenizer of base {base!r}: {_first_line(error)}") from None


def load_text_encoder(base: str, device: torch.device | str, dtype: torch.dtype):
    from transformers import UMT5EncoderModel

    try:
        model = UMT5EncoderModel.from_pretrained(base, subfolder="text_encoder", dtype=dtype)
    except (OSError, ValueError) as error:
        raise UserError(f"could not load the text encoder of base {base!r}: {_first_line(error)}") from None
    return model.to(device).eval().requires_grad_(False)


def load_vae(base: str, device: torch.device | str, dtype: torch.dtype):
    """The base's VAE: the class its model_index.json names (AutoencoderKLWan for Wan2.1; a
    pixel-space base names `imvideoedit.pixel_space_vae.PixelSpaceVAE`)."""
    try:
        model = _vae_class(base).from_pretrained(base, subfolder="vae", torch_dtype=dtype)
    except (OSError, ValueError) as error:
        raise UserError(f"could not load the VAE of base {base!r}: {_first_line(error)}") from None
    return model.to(device).eval().requires_grad_(False)


def _vae_class(base: str):
    import importlib
    import json

    from diffusers import AutoencoderKLWan

    index = Path(base) / "model_index.json"
    if not index.is_file():
        return AutoencoderKLWan
    try:
        library, class_name = json.loads(index.read_text())["vae"]
        return getattr(importlib.import_module(library), class_name)
    except (KeyError, ValueError, TypeError, ImportError, AttributeError) as error:
        raise UserError(f"{index} names a VAE that cannot be imported: {_first_line(error)}") from None


def resolve_base_folder(base: str) -> Path:
    """The local folder of a base: the path itself, or the hub cache's snapshot of a hub id."""
    path = Path(base)
    if path.is_dir():
        return path
    if looks_like_hub_id(base):
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(base, allow_patterns=[f"{part}/*" for part in _PARTS]))
        except Exception as error:  # noqa: BLE001 - hub errors come in many types; report one line
            raise UserError(
                f"could not find base {base!r} locally or on the hub: {_first_line(error)}"
            ) from None
    raise UserError(f"base not found: {base!r} is neither a folder nor a hub id")


def encoders_fingerprint(base: str) -> str:
    """A short hash of the base's VAE, text encoder and tokenizer files (see module docstring)."""
    folder = resolve_base_folder(base)
    digest = hashlib.sha256()
    for part in _PARTS:
        part_folder = folder / part
        if not part_folder.is_dir():
            raise UserError(f"base {base!r} has no {part}/ folder (expected a diffusers Wan pipeline layout)")
        for file in sorted(p for p in part_folder.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(folder)).encode())
            size = file.stat().st_size
            digest.update(str(size).encode())
            with open(file, "rb") as handle:
                if size <= 2 * _PROBE_BYTES or file.suffix in (".json", ".txt", ".model"):
                    digest.update(handle.read())
                else:
                    digest.update(handle.read(_PROBE_BYTES))
                    handle.seek(size - _PROBE_BYTES)
                    digest.update(handle.read(_PROBE_BYTES))
    return digest.hexdigest()[:16]


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
