"""Images on their way to a model: numpy or PIL in, resized, encoded as PNG/JPEG bytes out."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from imvideoedit.vlm.messages import ImageLike


def to_pil(image: ImageLike) -> Image.Image:
    """An RGB PIL image from a PIL image or an (H, W, 3) / (H, W) uint8 array."""
    if isinstance(image, Image.Image):
        return image.convert("RGB") if image.mode != "RGB" else image
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"image arrays must be uint8, got {array.dtype}")
    if array.ndim == 2:
        return Image.fromarray(array, mode="L").convert("RGB")
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"image arrays must be (H, W, 3), got {array.shape}")
    return Image.fromarray(np.ascontiguousarray(array), mode="RGB")


def fit_within(image: Image.Image, max_side: int | None) -> Image.Image:
    """`image` scaled down (never up) so that its longer side is at most `max_side`."""
    if not max_side or max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def encode_image(
    image: ImageLike, *, max_side: int | None = None, fmt: str = "JPEG", quality: int = 90
) -> bytes:
    """Bytes of `image` (scaled to `max_side`) in `fmt` ("JPEG" or "PNG")."""
    pil = fit_within(to_pil(image), max_side)
    buffer = io.BytesIO()
    if fmt.upper() == "JPEG":
        pil.save(buffer, format="JPEG", quality=quality)
    else:
        pil.save(buffer, format=fmt.upper())
    return buffer.getvalue()


def data_url(image: ImageLike, *, max_side: int | None = None, fmt: str = "JPEG", quality: int = 90) -> str:
    """A `data:image/...;base64,` URL, the form chat APIs accept for inline images."""
    payload = base64.b64encode(encode_image(image, max_side=max_side, fmt=fmt, quality=quality)).decode(
        "ascii"
    )
    return f"data:image/{fmt.lower()};base64,{payload}"
