"""From a decoded source clip to the model's input frames, with the mapping recorded.

`prepare_clip` picks 4k+1 frames at the model's rate (`timing`), resizes them onto the model
grid (`geometry`) and keeps both mappings, so that the edit can be written back at the source's
timing and size (`imvideoedit.video.render`) and the sidecar can say exactly what was done.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from imvideoedit.errors import UserError
from imvideoedit.video.geometry import DEFAULT_MAX_PIXELS, Fit, Geometry, plan_geometry, to_model_grid
from imvideoedit.video.reader import DecodedVideo, read_video
from imvideoedit.video.timing import MIN_MODEL_FRAMES, FrameFit, FrameTiming, is_4k_plus_1, plan_frames

# Extra seconds decoded beyond what the frame plan needs (covers rounding at the boundary).
_READ_MARGIN_S = 1.0
MAX_FPS = 240  # frame rates above this (model or output) are refused as nonsense


def is_whole_number(value: object) -> bool:
    """An int and not a bool (a jobs file's `true` is not a frame count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: object) -> bool:
    """An int or float, not a bool, neither NaN nor infinite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class ClipSpec:
    """How a source clip becomes model input. `None` sizes/counts follow the source."""

    model_fps: float | None = 16.0  # Wan2.1's frame rate; None keeps the source's frames as they are
    num_frames: int | None = None  # 4k+1; None: as many as fit, up to max_frames
    max_frames: int = 81  # Wan2.1's native clip length
    frame_fit: FrameFit = "trim"  # fewer frames (trim the tail) or more (hold the last frame)
    height: int | None = None  # multiple of 16
    width: int | None = None
    fit: Fit = "crop"  # fill the grid by centre-cropping, or letterbox with black
    max_pixels: int = DEFAULT_MAX_PIXELS  # frame-area budget of the model frames
    downscale: bool = False  # shrink a too-large source to the budget instead of refusing it

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        """Refuse impossible settings before anything is decoded or loaded (one-line UserError)."""
        if self.model_fps is not None and not (
            is_finite_number(self.model_fps) and 0 < self.model_fps <= MAX_FPS
        ):
            raise UserError(
                f"model frame rate must be a number in (0, {MAX_FPS}] or 'source', got {self.model_fps!r}"
            )
        if (
            not is_whole_number(self.max_frames)
            or not is_4k_plus_1(self.max_frames)
            or self.max_frames < MIN_MODEL_FRAMES
        ):
            raise UserError(
                f"max_frames must be 4k+1 and at least {MIN_MODEL_FRAMES}, got {self.max_frames!r}"
            )
        if self.num_frames is not None and (
            not is_whole_number(self.num_frames)
            or not is_4k_plus_1(self.num_frames)
            or self.num_frames < MIN_MODEL_FRAMES
        ):
            raise UserError(f"num_frames must be 4k+1 (5, 9, ..., 81), got {self.num_frames!r}")
        for name in ("height", "width"):
            value = getattr(self, name)
            if value is not None and (not is_whole_number(value) or value < 16 or value % 16):
                raise UserError(f"{name} must be a positive multiple of 16, got {value!r}")
        if not is_whole_number(self.max_pixels) or self.max_pixels < 16 * 16:
            raise UserError(f"max_pixels must be an integer of at least 256, got {self.max_pixels!r}")


@dataclass
class PreparedClip:
    """Model-ready frames plus everything needed to map an edit back onto the source."""

    frames: np.ndarray  # (T, height, width, 3) uint8, T = 4k+1
    timing: FrameTiming
    geometry: Geometry
    source: DecodedVideo

    def mapping(self) -> dict:
        """The frame and geometry mapping, as recorded in sidecars."""
        source = self.source
        return {
            "source": {
                "path": source.source_path,
                "width": source.width,
                "height": source.height,
                "fps": source.fps,
                "num_frames": source.file_frames,  # as the file declares (None if it does not)
                "num_frames_decoded": source.num_frames,  # only as much as the frame plan can use
                "duration": source.file_duration or source.duration,
                "decoded_duration": source.duration,
                "variable_frame_rate": source.variable_frame_rate,
                "rotation": source.rotation,
                "mirrored": source.mirrored,
                "codec": source.codec,
                "has_audio": source.has_audio,
            },
            "timing": self.timing.to_dict(),
            "geometry": self.geometry.to_dict(),
        }


def prepare_clip(video: DecodedVideo, spec: ClipSpec) -> PreparedClip:
    """Fit `video` to the model's rate, 4k+1 frame count and grid (raises UserError if it cannot)."""
    timing = plan_frames(
        video.timestamps,
        video.duration,
        video.fps,
        model_fps=spec.model_fps,
        num_frames=spec.num_frames,
        max_frames=spec.max_frames,
        frame_fit=spec.frame_fit,
    )
    geometry = plan_geometry(
        video.height,
        video.width,
        height=spec.height,
        width=spec.width,
        fit=spec.fit,
        max_pixels=spec.max_pixels,
        downscale=spec.downscale,
    )
    picked = video.frames[np.asarray(timing.source_indices)]  # (T, H, W, 3)
    return PreparedClip(
        frames=to_model_grid(picked, geometry), timing=timing, geometry=geometry, source=video
    )


def load_clip(path: str | Path, spec: ClipSpec) -> PreparedClip:
    """Read only as much of `path` as the frame plan can use, then prepare it.

    Stills are refused: editing needs at least two frames.
    """
    spec.check()
    frames_needed = spec.num_frames or spec.max_frames
    if spec.model_fps is None:  # the source's frames one for one: no more of them than the plan takes
        video = read_video(path, max_frames=frames_needed, min_frames=2)
    else:
        seconds = frames_needed / spec.model_fps + _READ_MARGIN_S
        video = read_video(path, max_seconds=seconds, min_frames=2)
    return prepare_clip(video, spec)
