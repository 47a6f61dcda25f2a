"""Read one training image as 8-bit RGB, normalising what photo files really contain.

Image pairs come from many tools. Rather than rejecting the usual variations, every reader in
the project goes through `load_rgb` and gets the same RGB picture a viewer would show:

- EXIF orientation (phone photos) is applied           -> kind "exif_rotated"
- grayscale (L, 1-bit, I, F) is expanded to RGB           -> kind "grayscale"
- an alpha channel (RGBA, LA, palette transparency) is composited over white -> kind "alpha"
- 16-bit samples are scaled to 8 bits                     -> kind "16bit"
- CMYK (print JPEGs) is converted to RGB                  -> kind "cmyk"
- palette images are expanded                             -> kind "palette"

Files that cannot be decoded (not an image, truncated, corrupt, or over PIL's
decompression-bomb pixel limit) raise `ImageProblem` with a
`kind` of "unreadable" or "truncated", so a data check can count them and a trainer can refuse
them before the first step. A video file given in place of an image contributes its first frame
(ViFeEdit's layout stores targets as clips).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif"})

# What `load_rgb` may report having normalised, in the order a summary lists them.
NORMALISED_KINDS: tuple[str, ...] = (
    "exif_rotated",
    "grayscale",
    "alpha",
    "16bit",
    "cmyk",
    "palette",
    "video_frame",
)


class ImageProblem(Exception):
    """An image that cannot be used. `kind` is "missing", "unreadable" or "truncated"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class LoadedImage:
    image: Image.Image  # mode "RGB", orientation applied
    normalised: set[str] = field(default_factory=set)  # kinds from NORMALISED_KINDS

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) as displayed."""
        return self.image.size


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes: the cache key part that changes whenever the image does."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_rgb(path: Path) -> LoadedImage:
    """Decode `path` fully and return it as 8-bit RGB with the normalisations it needed."""
    path = Path(path)
    if not path.is_file():
        raise ImageProblem("missing", f"file not found: {path}")
    if path.suffix.lower() in VIDEO_SUFFIXES and path.suffix.lower() != ".gif":
        return _first_video_frame(path)
    try:
        with warnings.catch_warnings():  # a large but legal image: no multi-line warning per file
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                sixteen_bit = _has_16bit_samples(opened)  # before load(), which clears `tile`
                opened.load()  # decode every byte now: truncation shows here, not mid-epoch
                return _normalise(opened, sixteen_bit)
    except Image.DecompressionBombError:  # over PIL's pixel limit: refuse it as a bad row
        raise ImageProblem(
            "unreadable", f"image too large (over {Image.MAX_IMAGE_PIXELS * 2:,} pixels): {path}"
        ) from None
    except UnidentifiedImageError:
        raise ImageProblem("unreadable", f"not an image file (or an unsupported format): {path}") from None
    except (OSError, SyntaxError, ValueError) as error:
        text = str(error)
        if "truncated" in text or "broken data stream" in text or "image file is truncated" in text:
            raise ImageProblem("truncated", f"image file is truncated: {path}") from None
        raise ImageProblem("unreadable", f"cannot decode image {path}: {text}") from None


def _normalise(opened: Image.Image, sixteen_bit: bool) -> LoadedImage:
    normalised: set[str] = set()
    orientation = opened.getexif().get(0x0112, 1)  # EXIF Orientation tag
    image = ImageOps.exif_transpose(opened) if orientation not in (None, 1) else opened
    if orientation not in (None, 1):
        normalised.add("exif_rotated")

    if sixteen_bit:
        normalised.add("16bit")
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16/32-bit grayscale: scale the sample range to 0..255 before dropping to 8 bits.
        normalised.add("grayscale")
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        if mode == "F" and array.max(initial=0) <= 1.0:
            top = 1.0
        array = np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return LoadedImage(Image.fromarray(array, mode="L").convert("RGB"), normalised)
    if mode == "P":
        normalised.add("palette")
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("1", "L"):
        normalised.add("grayscale")
        return LoadedImage(image.convert("RGB"), normalised)
    if mode in ("LA", "La", "RGBA", "RGBa", "PA"):
        normalised.add("alpha")
        if mode in ("LA", "La"):
            normalised.add("grayscale")
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return LoadedImage(Image.alpha_composite(white, rgba).convert("RGB"), normalised)
    if mode == "CMYK":
        normalised.add("cmyk")
        return LoadedImage(image.convert("RGB"), normalised)
    if mode != "RGB":
        image = image.convert("RGB")  # YCbCr, LAB, HSV, ...: plain colour-space conversions
    return LoadedImage(image, normalised)


def _has_16bit_samples(opened: Image.Image) -> bool:
    """16-bit files: grayscale opens as I;16; colour PNGs decode through a ';16' raw mode."""
    if opened.mode.startswith("I;16"):
        return True
    return any(";16" in str(tile.args) for tile in opened.tile or [])


def _first_video_frame(path: Path) -> LoadedImage:
    from imvideoedit.errors import UserError
    from imvideoedit.video.reader import read_video

    try:
        decoded = read_video(path, max_seconds=1e-3)
    except UserError as error:
        kind = "truncated" if "truncat" in str(error) else "unreadable"
        raise ImageProblem(kind, str(error)) from None
    return LoadedImage(Image.fromarray(decoded.frames[0], mode="RGB"), {"video_frame"})
