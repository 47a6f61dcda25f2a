"""Spatial mapping between a source frame and the model's grid, in both directions.

The model wants frames whose sides are multiples of 16 (8x VAE downsampling, then 2x2 patches),
and a frame area the memory allows (`max_pixels`). The source is resized keeping its aspect
ratio, then either centre-cropped to fill the grid (`crop`, nothing black but the borders lost)
or centre-padded with black (`pad`, nothing lost). `Geometry` records the numbers so that an
edit can be put back at the source's resolution and aspect ratio.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from PIL import Image

from imvideoedit.errors import UserError

Fit = Literal["crop", "pad"]
GRID = 16
# Wan2.1's native 480x832 frame; larger frames are refused (or downscaled, by option).
DEFAULT_MAX_PIXELS = 480 * 832


@dataclass(frozen=True)
class Geometry:
    """How a (source_height, source_width) frame becomes a (height, width) model frame.

    The source is resized to (resized_height, resized_width); with `crop`, the model frame is the
    window of that resized image starting at (top, left); with `pad`, the resized image sits in the
    model frame at (top, left) and the rest is black.
    """

    source_height: int
    source_width: int
    height: int
    width: int
    fit: str
    resized_height: int
    resized_width: int
    top: int
    left: int

    @property
    def scale(self) -> float:
        return self.resized_height / self.source_height

    def content_box(self) -> tuple[int, int, int, int]:
        """(top, left, height, width) of the model frame that shows the source."""
        if self.fit == "pad":
            return self.top, self.left, self.resized_height, self.resized_width
        return 0, 0, self.height, self.width

    def to_dict(self) -> dict:
        return asdict(self)


def plan_geometry(
    source_height: int,
    source_width: int,
    *,
    height: int | None = None,
    width: int | None = None,
    fit: Fit = "crop",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    downscale: bool = False,
    grid: int = GRID,
) -> Geometry:
    """Pick the model frame size and the resize/crop/pad that gets the source there.

    Sides that are not given follow the source's aspect ratio, rounded to the grid. A frame area
    above `max_pixels` is refused, unless `downscale` is set and the size was not given
    explicitly, in which case it is scaled down to fit.
    """
    if fit not in ("crop", "pad"):
        raise UserError(f"fit must be 'crop' or 'pad', got {fit!r}")
    for name, value in (("height", height), ("width", width)):
        if value is not None and (value < grid or value % grid):
            raise UserError(f"{name} must be a positive multiple of {grid}, got {value}")
    aspect = source_width / source_height
    if height is not None and width is None:
        width = _snap(height * aspect, grid)
    elif width is not None and height is None:
        height = _snap(width / aspect, grid)
    elif height is None and width is None:
        height, width = source_height, source_width
        if height * width > max_pixels:
            if not downscale:
                raise UserError(
                    f"source resolution {source_width}x{source_height} ({height * width:,} pixels) is "
                    f"beyond the pixel budget of {max_pixels:,}; give --height/--width, raise "
                    "--max-pixels, or pass --downscale"
                )
            shrink = math.sqrt(max_pixels / (height * width))
            height, width = height * shrink, width * shrink
        height, width = _snap(height, grid), _snap(width, grid)
        while height * width > max_pixels:  # rounding up may overshoot the budget by a row
            height, width = (height - grid, width) if height >= width else (height, width - grid)
    assert height is not None and width is not None
    if height * width > max_pixels:
        raise UserError(
            f"requested resolution {width}x{height} ({height * width:,} pixels) is beyond the "
            f"pixel budget of {max_pixels:,}; lower it or raise --max-pixels"
        )

    grow = max if fit == "crop" else min
    scale = grow(height / source_height, width / source_width)
    resized_height = round(source_height * scale)
    resized_width = round(source_width * scale)
    if fit == "crop":
        resized_height, resized_width = max(resized_height, height), max(resized_width, width)
        top, left = (resized_height - height) // 2, (resized_width - width) // 2
    else:
        resized_height, resized_width = min(resized_height, height), min(resized_width, width)
        top, left = (height - resized_height) // 2, (width - resized_width) // 2
    return Geometry(
        source_height=source_height,
        source_width=source_width,
        height=int(height),
        width=int(width),
        fit=fit,
        resized_height=int(resized_height),
        resized_width=int(resized_width),
        top=int(top),
        left=int(left),
    )


def to_model_grid(frames: np.ndarray, geometry: Geometry) -> np.ndarray:
    """(T, H, W, 3) uint8 source frames -> (T, height, width, 3) uint8 model frames."""
    resized = resize_frames(frames, geometry.resized_height, geometry.resized_width)
    g = geometry
    if g.fit == "crop":
        return np.ascontiguousarray(resized[:, g.top : g.top + g.height, g.left : g.left + g.width])
    out = np.zeros((frames.shape[0], g.height, g.width, 3), dtype=np.uint8)
    out[:, g.top : g.top + g.resized_height, g.left : g.left + g.resized_width] = resized
    return out


def content_of(frames: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Model frames without any black padding: (T, height, width, 3) -> (T, h', w', 3)."""
    top, left, height, width = geometry.content_box()
    return np.ascontiguousarray(frames[:, top : top + height, left : left + width])


def to_source_size(frames: np.ndarray, geometry: Geometry, source_frames: np.ndarray) -> np.ndarray:
    """Model frames back at the source's resolution and aspect ratio.

    (T, height, width, 3) -> (T, source_height, source_width, 3). With `pad` this is exact. With
    `crop`, the source border that the crop cut off was never edited: it is filled from
    `source_frames` (T, source_height, source_width, 3), the frames shown at the same times.
    """
    g = geometry
    if g.fit == "pad":
        return resize_frames(content_of(frames, g), g.source_height, g.source_width)
    # The model frame covers source rows [top/scale, (top+height)/scale) and likewise columns.
    y0, x0 = round(g.top / g.scale), round(g.left / g.scale)
    window_height = min(round(g.height / g.scale), g.source_height - y0)
    window_width = min(round(g.width / g.scale), g.source_width - x0)
    window = resize_frames(frames, window_height, window_width)
    out = np.array(source_frames, dtype=np.uint8, copy=True)
    out[:, y0 : y0 + window_height, x0 : x0 + window_width] = window
    return out


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, height, width, 3) uint8, Lanczos (antialiased when shrinking)."""
    if frames.shape[1] == height and frames.shape[2] == width:
        return frames
    out = np.empty((frames.shape[0], height, width, 3), dtype=np.uint8)
    for index, frame in enumerate(frames):
        image = Image.fromarray(frame).resize((width, height), Image.Resampling.LANCZOS)
        out[index] = np.asarray(image)
    return out


def _snap(value: float, grid: int) -> int:
    return max(grid, int(round(value / grid)) * grid)
