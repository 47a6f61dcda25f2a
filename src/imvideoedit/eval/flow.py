"""Dense optical flow with OpenCV's Farneback method, and warping frames along it.

Farneback needs no learned weights, which is why the objective metrics use it. Convention:
`farneback_flow(a, b)` returns `flow` (H, W, 2) with `a[y, x] ~ b[y + flow[y, x, 1],
x + flow[y, x, 0]]` (where each pixel of `a` moved to in `b`), in pixels; `warp(b, flow)`
pulls `b` back onto `a`'s grid, so `warp(b, farneback_flow(a, b)) ~ a`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FarnebackParams:
    """cv2.calcOpticalFlowFarneback's parameters (OpenCV's documented example values, 5 levels)."""

    pyr_scale: float = 0.5
    levels: int = 5
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2


def to_gray(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 luma (ITU-R BT.601, as OpenCV computes it)."""
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def farneback_flow(
    first: np.ndarray, second: np.ndarray, params: FarnebackParams = FarnebackParams()
) -> np.ndarray:
    """Flow from `first` to `second`, both (H, W) uint8 gray; returns (H, W, 2) float32 (dx, dy)."""
    return cv2.calcOpticalFlowFarneback(
        first,
        second,
        None,
        params.pyr_scale,
        params.levels,
        params.winsize,
        params.iterations,
        params.poly_n,
        params.poly_sigma,
        0,
    )


def warp(image: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample `image` at (x + dx, y + dy): returns (warped image float32, in-bounds mask bool (H, W))."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x = grid_x + flow[..., 0]
    map_y = grid_y + flow[..., 1]
    warped = cv2.remap(
        image.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return warped, inside


def consistent_flow_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Pixels whose forward flow is undone by the backward flow (not occluded), (H, W) bool.

    The forward-backward check of Sundaram, Brox & Keutzer (ECCV 2010):
    |f + b(x + f)|^2 < 0.01 (|f|^2 + |b(x + f)|^2) + 0.5.
    """
    backward_at_target, inside = warp(backward, forward)
    total = forward + backward_at_target
    energy = (forward**2).sum(-1) + (backward_at_target**2).sum(-1)
    return inside & ((total**2).sum(-1) < 0.01 * energy + 0.5)


def resize_frames(frames: np.ndarray, max_side: int | None) -> np.ndarray:
    """(T, H, W, C) scaled down (never up) so the longer side is at most `max_side` (area filter)."""
    height, width = frames.shape[1:3]
    if not max_side or max(height, width) <= max_side:
        return frames
    scale = max_side / max(height, width)
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return np.stack([cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in frames])


def resize_to(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(T, H, W, C) resampled to exactly (height, width)."""
    if frames.shape[1:3] == (height, width):
        return frames
    shrinking = height * width < frames.shape[1] * frames.shape[2]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return np.stack([cv2.resize(frame, (width, height), interpolation=interpolation) for frame in frames])
