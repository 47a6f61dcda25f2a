"""Time mapping between a source clip and the model's frames, in both directions.

Wan generates 4k+1 frames at a fixed rate (16 fps for Wan2.1). A source clip has its own rate,
possibly 29.97 or variable, so frames are picked by presentation time: model frame j shows
what a player would show at time j / model_fps (sample and hold). The frame count is then fitted
to 4k+1 by trimming the tail, or by holding the last frame for a short clip (`frame_fit`).

Going back, each output time t shows model frame floor(t * model_fps): the edit is written at
the source's own timestamps (so a variable-rate clip keeps its timing and its audio stays in
sync), at the model's rate, or at any other rate. Padding frames are never written back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from imvideoedit.errors import UserError

FrameFit = Literal["trim", "pad"]
# Fewer model frames than this make no clip worth editing; shorter sources are padded up to it.
MIN_MODEL_FRAMES = 5
_EPS = 1e-6


@dataclass(frozen=True)
class FrameTiming:
    """Which source frame each model frame shows, and how the count became 4k+1."""

    model_fps: float
    source_indices: tuple[int, ...]  # (num_frames,) source frame shown by each model frame
    num_frames: int  # 4k+1, padding included
    num_padded: int  # trailing frames that hold the last real one (never written back)
    frame_fit: str
    available_frames: int  # model-rate frames the clip holds before fitting to 4k+1
    source_duration: float  # seconds

    @property
    def num_real(self) -> int:
        return self.num_frames - self.num_padded

    @property
    def covered_duration(self) -> float:
        """Seconds of the source the real (unpadded) model frames span."""
        return min(self.num_real / self.model_fps, self.source_duration)

    def to_dict(self) -> dict:
        record = asdict(self)
        record["source_indices"] = list(self.source_indices)
        record["covered_duration"] = self.covered_duration
        return record


def is_4k_plus_1(count: int) -> bool:
    return count >= 1 and (count - 1) % 4 == 0


def plan_frames(
    timestamps: np.ndarray,
    source_duration: float,
    source_fps: float,
    *,
    model_fps: float | None = 16.0,
    num_frames: int | None = None,
    max_frames: int = 81,
    frame_fit: FrameFit = "trim",
) -> FrameTiming:
    """Choose 4k+1 model frames from a clip whose frames sit at `timestamps` (seconds).

    `model_fps=None` keeps the source's frames one for one (no resampling).
    `num_frames` (4k+1) is honoured exactly, holding the last frame if the clip is too short.
    Otherwise the count is the largest 4k+1 that fits (`trim`) or the smallest that covers the
    whole clip (`pad`), at most `max_frames`, at least MIN_MODEL_FRAMES.
    """
    if frame_fit not in ("trim", "pad"):
        raise UserError(f"frame fit must be 'trim' or 'pad', got {frame_fit!r}")
    if num_frames is not None and not is_4k_plus_1(num_frames):
        raise UserError(f"num_frames must be 4k+1 (5, 9, ..., 81), got {num_frames}")
    if not is_4k_plus_1(max_frames) or max_frames < MIN_MODEL_FRAMES:
        raise UserError(f"max_frames must be 4k+1 and at least {MIN_MODEL_FRAMES}, got {max_frames}")
    if model_fps is not None and model_fps <= 0:
        raise UserError(f"model frame rate must be positive, got {model_fps}")

    rate = float(model_fps) if model_fps is not None else float(source_fps)
    if model_fps is None:
        shown = np.arange(len(timestamps))
    else:
        # Model frame j shows the source frame on screen at time j / rate.
        available = max(1, int(np.floor(source_duration * rate + _EPS)))
        times = np.arange(available) / rate
        shown = np.searchsorted(timestamps, times + _EPS, side="right") - 1
        shown = np.clip(shown, 0, len(timestamps) - 1)
    available = int(shown.size)

    if num_frames is not None:
        count = num_frames
    else:
        largest_fit = available - (available - 1) % 4
        count = largest_fit if frame_fit == "trim" or largest_fit == available else largest_fit + 4
        count = max(MIN_MODEL_FRAMES, min(count, max_frames))
    real = min(count, available)
    indices = np.concatenate([shown[:real], np.full(count - real, shown[real - 1])])
    return FrameTiming(
        model_fps=rate,
        source_indices=tuple(int(i) for i in indices),
        num_frames=count,
        num_padded=count - real,
        frame_fit=frame_fit,
        available_frames=available,
        source_duration=float(source_duration),
    )


def output_schedule(
    timing: FrameTiming,
    source_timestamps: np.ndarray,
    source_fps: float,
    output_fps: Literal["source", "model"] | float = "source",
) -> tuple[np.ndarray, np.ndarray, float]:
    """When to show which model frame in the written video.

    Returns (model_indices (N,), output_timestamps (N,) seconds, nominal fps). With "source" the
    output keeps the source's own timestamps within the covered span; with "model" or a number it
    runs at that constant rate.
    """
    covered = timing.covered_duration
    if output_fps == "source":
        keep = source_timestamps < covered - _EPS
        times = np.asarray(source_timestamps, dtype=np.float64)[keep]
        fps = float(source_fps)
    else:
        fps = timing.model_fps if output_fps == "model" else float(output_fps)
        if not fps > 0:
            raise UserError(f"output frame rate must be positive, got {output_fps}")
        count = max(1, int(np.floor(covered * fps + _EPS)))
        times = np.arange(count) / fps
    model_indices = np.floor(times * timing.model_fps + _EPS).astype(np.int64)
    model_indices = np.clip(model_indices, 0, timing.num_real - 1)
    return model_indices, times, fps
