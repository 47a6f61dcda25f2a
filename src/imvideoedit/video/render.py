"""From the model's edited frames to the video that is written, undoing the clip's mapping.

The edit comes out of the model at the model's rate and grid. `render_edit` puts it back on the
source's clock (its own timestamps, the model's rate, or any rate), optionally at the source's
resolution and aspect ratio, optionally colour-matched to the source, optionally next to the
source (source | edit); `write_edit` writes it with the source's audio.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from imvideoedit.errors import UserError
from imvideoedit.video.clip import MAX_FPS, PreparedClip, is_finite_number, is_whole_number
from imvideoedit.video.colour import match_colour
from imvideoedit.video.geometry import content_of, to_model_grid, to_source_size
from imvideoedit.video.timing import output_schedule
from imvideoedit.video.writer import WrittenVideo, write_video

OutputSize = Literal["model", "source"]


@dataclass(frozen=True)
class OutputSpec:
    """How the edit is written.

    fps: "source" keeps the source's own frame times (variable rates included), "model" writes
        the model's frames at the model's rate, a number resamples to that constant rate.
    size: "model" writes the model's frames without any letterbox padding; "source" puts the
        edit back at the source's resolution and aspect ratio.
    """

    fps: Literal["source", "model"] | float = "source"
    size: OutputSize = "model"
    side_by_side: bool = False
    colour_match: bool = False
    audio: bool = True
    crf: int = 18
    preset: str = "medium"

    def check(self) -> None:
        """Refuse impossible settings before anything is decoded or loaded (one-line UserError)."""
        if self.fps not in ("source", "model") and not (
            is_finite_number(self.fps) and 0.1 <= self.fps <= MAX_FPS
        ):
            raise UserError(
                f"output fps must be 'source', 'model' or a number in [0.1, {MAX_FPS}], got {self.fps!r}"
            )
        if not is_whole_number(self.crf) or not 0 <= self.crf <= 51:
            raise UserError(f"crf must be an integer in 0..51 (x264's range), got {self.crf!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RenderedVideo:
    frames: np.ndarray  # (N, H, W, 3) uint8
    timestamps: np.ndarray  # (N,) seconds from 0
    fps: float
    model_indices: np.ndarray  # (N,) model frame shown by each output frame
    source_indices: np.ndarray  # (N,) source frame shown at the same time


def render_edit(edit: np.ndarray, clip: PreparedClip, spec: OutputSpec) -> RenderedVideo:
    """(T, height, width, 3) uint8 model-grid edit -> the frames to write, on the source's clock."""
    timing, geometry, source = clip.timing, clip.geometry, clip.source
    expected = (timing.num_frames, geometry.height, geometry.width, 3)
    if edit.shape != expected or edit.dtype != np.uint8:
        raise ValueError(f"edit must be {expected} uint8, got {edit.shape} {edit.dtype}")
    if spec.size not in ("model", "source"):
        raise UserError(f"output size must be 'model' or 'source', got {spec.size!r}")

    if spec.colour_match:
        edit = match_colour(edit, content_of(clip.frames, geometry))

    model_indices, times, fps = output_schedule(timing, source.timestamps, source.fps, spec.fps)
    # The source frame on screen at each output time (for restoring borders and side by side).
    source_indices = np.clip(np.searchsorted(source.timestamps, times + 1e-6, side="right") - 1, 0, None)

    if spec.size == "model":
        frames = content_of(edit[model_indices], geometry)
        reference = None
        if spec.side_by_side:  # gathered only when shown: N full-size source frames can be gigabytes
            reference = content_of(to_model_grid(source.frames[source_indices], geometry), geometry)
    else:
        source_frames = source.frames[source_indices]  # (N, H, W, 3)
        frames = to_source_size(edit[model_indices], geometry, source_frames)
        reference = source_frames
    if spec.side_by_side:
        frames = np.concatenate([reference, frames], axis=2)  # (N, H, 2W, 3): source | edit
    return RenderedVideo(
        frames=np.ascontiguousarray(frames),
        timestamps=times,
        fps=fps,
        model_indices=model_indices,
        source_indices=source_indices,
    )


def write_edit(path: str | Path, edit: np.ndarray, clip: PreparedClip, spec: OutputSpec) -> WrittenVideo:
    """Render `edit` and write it (atomically) to `path`, with the source's audio when asked."""
    rendered = render_edit(edit, clip, spec)
    return write_video(
        path,
        rendered.frames,
        rendered.fps,
        timestamps=rendered.timestamps,
        audio=clip.source.audio if spec.audio else None,
        audio_offset=clip.source.start_time,
        crf=spec.crf,
        preset=spec.preset,
    )
