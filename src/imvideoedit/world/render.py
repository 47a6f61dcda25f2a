"""Render a world scene to frames, analytically on pixel centres (exact, deterministic)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imvideoedit.world.scene import COLOURS, LIGHTS, SIZES, Background, Scene, Shape


def _reflect(position: np.ndarray, low: float, high: float) -> np.ndarray:
    """Bounce a 1D trajectory between low and high (a triangle wave)."""
    span = high - low
    if span <= 0:
        return np.full_like(position, (low + high) / 2)
    phase = np.mod(position - low, 2 * span)
    return low + np.where(phase > span, 2 * span - phase, phase)


def trajectory(shape: Shape, scene: Scene) -> np.ndarray:
    """(T, 2) centre positions (x, y) in frame coordinates at zoom 1."""
    radius = SIZES[shape.size] * scene.size
    t = np.arange(scene.frames, dtype=np.float64)
    x = _reflect(shape.x + shape.vx * t, radius, scene.size - radius)
    y = _reflect(shape.y + shape.vy * t, radius, scene.size - radius)
    return np.stack([x, y], axis=1)


def shape_mask(kind: str, du: np.ndarray, dv: np.ndarray, radius: float) -> np.ndarray:
    adu, adv = np.abs(du), np.abs(dv)
    if kind == "circle":
        return du * du + dv * dv <= radius * radius
    if kind == "square":
        return np.maximum(adu, adv) <= 0.85 * radius
    if kind == "diamond":
        return adu + adv <= 1.1 * radius
    if kind == "triangle":
        return (dv <= 0.8 * radius) & (adu <= 0.6 * (dv + radius))
    if kind == "cross":
        arm = radius / 3
        return ((adu <= arm) & (adv <= radius)) | ((adv <= arm) & (adu <= radius))
    raise ValueError(f"unknown shape kind {kind!r}")


def _background(background: Background, u: np.ndarray, v: np.ndarray, size: int) -> np.ndarray:
    a = np.array(COLOURS[background.colour_a], dtype=np.float64)
    b = np.array(COLOURS[background.colour_b], dtype=np.float64)
    u, v = u + background.shift_u, v + background.shift_v
    coord = u if background.vertical else v
    if background.kind == "plain":
        weight = np.zeros_like(u)
    elif background.kind == "stripes":
        weight = (np.floor(coord / background.period) % 2).astype(np.float64)
    elif background.kind == "gradient":
        phase = np.mod(coord, 2 * size) / size  # a periodic ramp, so a pan scrolls it smoothly
        weight = np.where(phase > 1, 2 - phase, phase)
    elif background.kind == "checker":
        weight = ((np.floor(u / background.period) + np.floor(v / background.period)) % 2).astype(np.float64)
    else:
        raise ValueError(f"unknown background kind {background.kind!r}")
    return a * (1 - weight[..., None]) + b * weight[..., None]


def render(scene: Scene, times: Sequence[int] | None = None) -> np.ndarray:
    """scene -> frames uint8 (T, H, W, 3); `times` renders only those frame indices (in that
    order), exactly as they are in the whole clip (single training frames at a ninth of the cost)."""
    size = scene.size
    u, v = _view_coordinates(scene)
    trajectories = [trajectory(shape, scene) for shape in scene.shapes]
    times = range(scene.frames) if times is None else times
    frames = np.empty((len(times), size, size, 3), dtype=np.float64)
    for index, t in enumerate(times):
        image = _background(scene.background, u + scene.pan * t, v, size)  # (H, W, 3)
        for shape, path in zip(scene.shapes, trajectories, strict=True):
            radius = SIZES[shape.size] * size
            du, dv = u - path[t, 0], v - path[t, 1]
            mask = shape_mask(shape.kind, du, dv, radius)
            image[mask] = COLOURS[shape.colour]
            if shape.outline or scene.style == "outlined":
                inner = shape_mask(shape.kind, du, dv, radius - 1.5 / scene.zoom * 1.0)
                image[mask & ~inner] = COLOURS["black"]
        frames[index] = image
    frames = _apply_look(frames, scene, u, v)
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def object_mask(scene: Scene, times: Sequence[int] | None = None) -> np.ndarray:
    """bool (T, H, W): the pixels the scene's shapes cover (outlines included) in the frames
    `render(scene, times)` draws; the backbone's loss can weight them (`object_loss_weight`)."""
    u, v = _view_coordinates(scene)
    times = range(scene.frames) if times is None else times
    masks = np.zeros((len(times), scene.size, scene.size), dtype=bool)
    for shape in scene.shapes:
        path, radius = trajectory(shape, scene), SIZES[shape.size] * scene.size
        for index, t in enumerate(times):
            masks[index] |= shape_mask(shape.kind, u - path[t, 0], v - path[t, 1], radius)
    return masks


def _view_coordinates(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) frame coordinates (u, v) of each pixel centre, seen through the camera zoom (about
    the frame centre)."""
    centre = scene.size / 2
    pixel = np.arange(scene.size, dtype=np.float64) + 0.5
    py, px = np.meshgrid(pixel, pixel, indexing="ij")  # (H, W) pixel centres
    return centre + (px - centre) / scene.zoom, centre + (py - centre) / scene.zoom


def _apply_look(frames: np.ndarray, scene: Scene, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Global style and lighting, applied to the whole frame after the scene is drawn."""
    if scene.style == "hatched":
        # Diagonal hatching fixed in frame space; its phase is one value per video.
        stripes = (np.floor((u + v + scene.style_phase) / 2) % 2 == 0)[None, ..., None]
        frames = np.where(stripes, frames * 0.55, frames)
    elif scene.style == "inverted":
        frames = 255.0 - frames
    frames = frames * np.array(LIGHTS[scene.light], dtype=np.float64)
    return frames
