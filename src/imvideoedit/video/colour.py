"""Colour matching: give an edit the source clip's per-channel colour statistics.

Diffusion edits can drift in overall brightness or tint. Matching each RGB channel's mean and
standard deviation over the whole clip (not per frame, which would flicker) to the source's
pulls the edit back without touching its content. Off by default: for edits whose point is a
colour change ("at sunset", "in black and white") it would undo the edit.
"""

from __future__ import annotations

import numpy as np


def match_colour(edit: np.ndarray, reference: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """(T, H, W, 3) uint8 edit -> same shape, with `reference`'s per-channel mean and std.

    `reference` may have any number of frames and any size; only its statistics are used.
    `strength` blends between the edit (0) and the fully matched edit (1).
    """
    edit_f = edit.astype(np.float32)
    ref_f = reference.astype(np.float32)
    edit_mean = edit_f.mean(axis=(0, 1, 2))  # (3,)
    edit_std = edit_f.std(axis=(0, 1, 2))
    ref_mean = ref_f.mean(axis=(0, 1, 2))
    ref_std = ref_f.std(axis=(0, 1, 2))
    gain = ref_std / np.maximum(edit_std, 1e-3)
    matched = (edit_f - edit_mean) * gain + ref_mean
    blended = edit_f + strength * (matched - edit_f)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)
