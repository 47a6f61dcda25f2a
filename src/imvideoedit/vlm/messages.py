"""Chat messages that carry text, images and videos, independent of any provider's wire format.

Callers build `Message`s from parts; each backend translates them: the OpenAI-compatible and
local backends turn a `VideoPart` into a few frames sent as images (with their times written
beside them), Gemini sends the video itself with an explicit sampling rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

ImageLike = Image.Image | np.ndarray
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True, eq=False)
class ImagePart:
    """One image: a PIL image or an (H, W, 3) uint8 RGB array."""

    image: ImageLike


@dataclass(frozen=True, eq=False)
class VideoPart:
    """A whole clip. `path` is the file it was decoded from, for backends that upload video.

    frames: (T, H, W, 3) uint8 RGB, as decoded.
    """

    frames: np.ndarray
    fps: float
    path: Path | None = None
    label: str = ""  # how the clip is called in the conversation ("original video", ...)

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.shape[0] < 1:
            raise ValueError(f"VideoPart frames must be (T, H, W, 3) with T >= 1, got {self.frames.shape}")
        if not self.fps > 0:
            raise ValueError(f"VideoPart fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


Part = TextPart | ImagePart | VideoPart


@dataclass(frozen=True)
class Message:
    role: Role
    parts: tuple[Part, ...] = field(default_factory=tuple)

    @classmethod
    def user(cls, *parts: Part | str) -> Message:
        return cls("user", tuple(TextPart(p) if isinstance(p, str) else p for p in parts))

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", (TextPart(text),))

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", (TextPart(text),))

    @property
    def text(self) -> str:
        """The message's text parts joined (images and videos left out)."""
        return "\n".join(part.text for part in self.parts if isinstance(part, TextPart))


def sample_frame_indices(num_frames: int, count: int) -> list[int]:
    """`count` indices spread evenly from the first to the last frame (all frames if fewer)."""
    if count >= num_frames:
        return list(range(num_frames))
    if count == 1:
        return [num_frames // 2]
    return sorted({int(round(i)) for i in np.linspace(0, num_frames - 1, count)})


def video_as_images(video: VideoPart, max_frames: int) -> list[Part]:
    """A video as text + still frames, for backends that only take images.

    The text says how many frames were taken from how many and at which times, so the model can
    reason about motion between them.
    """
    indices = sample_frame_indices(video.num_frames, max_frames)
    times = ", ".join(f"{index / video.fps:.2f}s" for index in indices)
    name = video.label or "video"
    header = (
        f"[{name}: {len(indices)} frames sampled evenly from {video.num_frames} frames "
        f"({video.num_frames / video.fps:.2f}s at {video.fps:.3g} fps), in order, at {times}]"
    )
    return [TextPart(header), *(ImagePart(video.frames[index]) for index in indices)]
