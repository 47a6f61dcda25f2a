"""Quality of world edits against their exact ground truth.

PSNR and SSIM to the ground-truth edited video; flicker (the objective-metrics definition, on
the edit and on the ground truth); and trajectory error: per frame, the distance between the
centroid of the pixels that have an object's ground-truth colour in the edit and the object's
true centre, averaged over frames and over the objects the edit concerns.
"""

from __future__ import annotations

import numpy as np

from imvideoedit.eval.objective_metrics import flicker, ssim
from imvideoedit.world.edits import Edit
from imvideoedit.world.render import render, shape_mask, trajectory
from imvideoedit.world.scene import SIZES

COLOUR_TOLERANCE = 60.0  # RGB distance within which a pixel counts as an object's colour
OBJECT_EDITS = ("recolour", "reshape", "resize", "outline", "add")


def psnr(prediction: np.ndarray, truth: np.ndarray) -> float:
    error = np.mean((prediction.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(error, 1e-10)))


def video_ssim(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Mean SSIM over frames and RGB channels."""
    return float(
        np.mean(
            [ssim(p[..., c], t[..., c]) for p, t in zip(prediction, truth, strict=True) for c in range(3)]
        )
    )


def tracked_objects(edit: Edit) -> list[int]:
    """Indices (in the target scene) of the objects whose trajectories are measured."""
    if edit.kind == "add":
        return [len(edit.target.shapes) - 1]
    if edit.kind in OBJECT_EDITS:
        changed = [
            i for i, (a, b) in enumerate(zip(edit.source.shapes, edit.target.shapes, strict=False)) if a != b
        ]
        return changed
    return list(range(len(edit.target.shapes)))


def trajectory_error(prediction: np.ndarray, edit: Edit, truth: np.ndarray | None = None) -> float:
    """Mean centroid distance (pixels, at the clip's size) over frames and tracked objects."""
    truth = render(edit.target) if truth is None else truth
    scene = edit.target
    size = scene.size
    pixel = np.arange(size) + 0.5
    py, px = np.meshgrid(pixel, pixel, indexing="ij")
    errors = []
    for index in tracked_objects(edit):
        shape = scene.shapes[index]
        path = trajectory(shape, scene)
        for t in range(scene.frames):
            u = size / 2 + (px - size / 2) / scene.zoom
            v = size / 2 + (py - size / 2) / scene.zoom
            mask = shape_mask(shape.kind, u - path[t, 0], v - path[t, 1], SIZES[shape.size] * size)
            if not mask.any():
                continue
            colour = np.median(truth[t][mask].astype(np.float64), axis=0)  # as rendered (light, style)
            true_centre = np.array([px[mask].mean(), py[mask].mean()])
            near = np.linalg.norm(prediction[t].astype(np.float64) - colour, axis=-1) < COLOUR_TOLERANCE
            near_truth = np.linalg.norm(truth[t].astype(np.float64) - colour, axis=-1) < COLOUR_TOLERANCE
            near &= _window(mask, size)  # ignore same-coloured pixels far away (background stripes)
            near_truth &= _window(mask, size)
            if not near.any():
                errors.append(size / 2)  # the object vanished: a fixed, large penalty
                continue
            found = np.array([px[near].mean(), py[near].mean()])
            reference = (
                np.array([px[near_truth].mean(), py[near_truth].mean()]) if near_truth.any() else true_centre
            )
            errors.append(float(np.linalg.norm(found - reference)))
    return float(np.mean(errors)) if errors else float("nan")


def _window(mask: np.ndarray, size: int, margin: int = 4) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    window = np.zeros_like(mask)
    window[
        max(0, rows.min() - margin) : rows.max() + margin + 1,
        max(0, cols.min() - margin) : cols.max() + margin + 1,
    ] = True
    return window


def edit_metrics(prediction: np.ndarray, edit: Edit) -> dict[str, float]:
    """All ground-truth metrics of one edited clip (uint8 (T, H, W, 3), same size as the truth)."""
    truth = render(edit.target)
    return {
        "psnr": psnr(prediction, truth),
        "ssim": video_ssim(prediction, truth),
        "flicker": flicker(prediction) or 0.0,
        "flicker_truth": flicker(truth) or 0.0,
        "trajectory_error": trajectory_error(prediction, edit, truth),
    }
