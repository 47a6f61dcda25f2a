"""Decode a video file into RGB frames with their real timestamps, through PyAV.

Everything downstream (frame-rate resampling, the model grid, the writer) works from what this
module returns, so it is the one place that deals with containers and codecs:

- any container and codec PyAV (FFmpeg) can read;
- the frame rate is whatever the file says, and each frame keeps its own presentation time, so
  29.97 fps and variable-frame-rate clips are resampled by time, not by index;
- rotation and mirroring stored as display-matrix side data (or the legacy `rotate` tag) are
  applied, so frames come out the way a player shows them;
- an audio stream is not decoded, only described (`AudioInfo`), so the writer can copy it into
  the edited video later.

Bad files raise `UserError` with a one-line message: a missing path, a file that is not a video,
a truncated or corrupt one, one with no (or too few) frames, or one with only audio.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from imvideoedit.errors import UserError

# A decoded clip whose last frame sits before this share of the duration the container
# declares has lost its tail (a cut download, a copy that stopped half-way).
_TRUNCATION_TOLERANCE = 0.9


@dataclass(frozen=True)
class AudioInfo:
    """What the writer needs to copy a source audio stream next to the edited video."""

    path: str
    stream_index: int  # index among all streams of the source container
    codec: str
    sample_rate: int
    channels: int
    start_time: float  # seconds, on the container clock
    duration: float | None  # seconds, when the container says


@dataclass
class DecodedVideo:
    """A decoded clip: frames as displayed, their times, and what came with them.

    `timestamps[i]` is frame i's presentation time in seconds, counted from the first frame
    (so `timestamps[0] == 0`); `start_time` is that first frame's time on the container clock,
    which the writer needs to keep the audio in sync.
    """

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB, rotation applied
    fps: float  # the stream's average frame rate (frames per second)
    timestamps: np.ndarray  # (T,) float64 seconds from the first frame
    has_audio: bool
    source_path: str
    start_time: float = 0.0
    frame_duration: float = 0.0  # how long the last frame is shown, seconds
    rotation: int = 0  # degrees counter-clockwise that were applied to the stored frames
    mirrored: bool = False  # whether a horizontal/vertical flip was applied too
    codec: str = ""
    container_format: str = ""
    variable_frame_rate: bool = False
    audio: AudioInfo | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    file_duration: float | None = None  # the video stream's duration as the file declares it
    file_frames: int | None = None  # its frame count as declared (the decoded part may be shorter)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def duration(self) -> float:
        """Seconds from the first frame's start to the last frame's end."""
        return float(self.timestamps[-1] + self.frame_duration)


def read_video(
    path: str | Path,
    *,
    max_seconds: float | None = None,
    max_frames: int | None = None,
    min_frames: int = 1,
    apply_rotation: bool = True,
) -> DecodedVideo:
    """Decode every frame of `path` (or the first `max_seconds`, or `max_frames`, of it) as RGB uint8.

    `min_frames` lets callers that need motion refuse stills (editing asks for 2). A file read to
    its end must hold the frames its index declares, or it is reported as truncated.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"video not found: {path}")
    if path.is_dir():
        raise UserError(f"expected a video file, got a directory: {path}")
    if path.stat().st_size == 0:
        raise UserError(f"video file is empty (0 bytes): {path}")

    container = _open(path)
    with container:
        if not container.streams.video:
            if container.streams.audio:
                raise UserError(f"file has audio but no video stream (audio-only): {path}")
            raise UserError(f"file has no video stream (no frames): {path}")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        audio = _describe_audio(container, path)
        declared_rate = _declared_rate(stream)
        declared_frames = int(stream.frames or 0)
        declared_duration = _stream_seconds(stream)
        legacy_rotate = _legacy_rotate_tag(stream.metadata)
        codec = stream.codec_context.name
        container_format = container.format.name
        stream_metadata = dict(stream.metadata)
        _check_index_within_file(container, path)
        decoded = _decode_frames(container, stream, path, max_seconds, declared_rate, max_frames)

    frames, times, durations, rotation_matrix, corrupt, stopped_early = decoded
    if not frames:
        raise UserError(f"video has no decodable frames: {path}")
    if corrupt:
        raise UserError(f"video is corrupt ({corrupt} damaged frames): {path}")
    if not stopped_early:  # the whole file was read: it must hold what its index promises
        _check_not_truncated(
            stream_frames=declared_frames,
            stream_duration=declared_duration,
            decoded=len(frames),
            last_time=times[-1] - times[0],
            path=path,
        )
    if len(frames) < min_frames:
        raise UserError(
            f"video has {len(frames)} frame{'s' if len(frames) != 1 else ''}; "
            f"at least {min_frames} are needed: {path}"
        )

    order = np.argsort(np.asarray(times), kind="stable")  # presentation order, to be safe
    times_arr = np.asarray(times, dtype=np.float64)[order]
    stack = np.stack([frames[i] for i in order])  # (T, H, W, 3)
    rotation, mirrored = 0, False
    if apply_rotation:
        if rotation_matrix is not None:
            stack, rotation, mirrored = _apply_display_matrix(stack, rotation_matrix)
        elif legacy_rotate:
            # The legacy tag is clockwise degrees; np.rot90 turns counter-clockwise.
            stack = np.ascontiguousarray(np.rot90(stack, k=-legacy_rotate // 90, axes=(1, 2)))
            rotation = -legacy_rotate

    fps = _frame_rate(declared_rate, times_arr)
    steps = np.diff(times_arr)
    variable = bool(steps.size > 1 and (steps.max() - steps.min()) > 0.5 / fps)
    last_duration = durations[order[-1]] or (1.0 / fps)
    return DecodedVideo(
        frames=stack,
        fps=fps,
        timestamps=times_arr - times_arr[0],
        has_audio=audio is not None,
        source_path=str(path),
        start_time=float(times_arr[0]),
        frame_duration=float(last_duration),
        rotation=int(rotation),
        mirrored=mirrored,
        codec=codec,
        container_format=container_format,
        variable_frame_rate=variable,
        audio=audio,
        metadata=stream_metadata,
        file_duration=declared_duration,
        file_frames=declared_frames or None,
    )


def probe_video(path: str | Path) -> dict[str, object]:
    """Cheap facts about a file without decoding it (size, rate, frame count, audio)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"video not found: {path}")
    container = _open(path)
    with container:
        if not container.streams.video:
            raise UserError(f"file has no video stream: {path}")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return {
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "fps": float(rate) if rate else None,
            "frames": stream.frames or None,
            "duration": _stream_seconds(stream),
            "has_audio": bool(container.streams.audio),
        }


def _open(path: Path):
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as error:
        with open(path, "rb") as handle:
            head = handle.read(12)
        if isinstance(error, EOFError):
            raise UserError(f"video ends before its first frame (empty or truncated): {path}") from None
        if head[4:8] == b"ftyp":  # an MP4/MOV whose index (moov box) is missing or damaged
            raise UserError(f"video is truncated or corrupt ({_ffmpeg_reason(error)}): {path}") from None
        raise UserError(f"not a video file, or an unreadable one ({_ffmpeg_reason(error)}): {path}") from None


def _decode_frames(
    container,
    stream,
    path: Path,
    max_seconds: float | None,
    rate: float | None,
    max_frames: int | None = None,
):
    """Decode to RGB.

    Returns (frames, times, durations, display matrix or None, corrupt count, stopped early).
    """
    frames: list[np.ndarray] = []
    times: list[float] = []
    durations: list[float] = []
    matrix: tuple[int, ...] | None = None
    corrupt = 0
    stopped_early = False
    fallback_step = 1.0 / (rate or 25.0)
    try:
        for frame in container.decode(stream):
            if frame.time is not None:
                time = float(frame.time)
            else:  # no presentation time: assume a constant rate after the previous frame
                time = (times[-1] + fallback_step) if times else 0.0
            if max_seconds is not None and times and time - times[0] >= max_seconds:
                stopped_early = True
                break
            if max_frames is not None and len(frames) >= max_frames:
                stopped_early = True
                break
            if matrix is None:
                matrix = _display_matrix(frame)
            corrupt += int(frame.is_corrupt)
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(time)
            durations.append(
                float(frame.duration * frame.time_base) if frame.duration and frame.time_base else 0.0
            )
    except av.FFmpegError as error:
        raise UserError(f"video is corrupt or truncated ({_ffmpeg_reason(error)}): {path}") from None
    return frames, times, durations, matrix, corrupt, stopped_early


def _check_not_truncated(
    *, stream_frames: int, stream_duration: float | None, decoded: int, last_time: float, path: Path
) -> None:
    if stream_frames and decoded < stream_frames:
        raise UserError(f"video is truncated or corrupt: decoded {decoded} of {stream_frames} frames: {path}")
    if stream_duration and decoded > 1 and last_time < _TRUNCATION_TOLERANCE * stream_duration - 1.0:
        raise UserError(
            f"video is truncated: frames stop at {last_time:.2f}s of {stream_duration:.2f}s: {path}"
        )


def _check_index_within_file(container, path: Path) -> None:
    """A file cut short loses the packets its index (MP4 moov, Matroska cues) still points to.

    Checked up front, so that truncation is caught even when only the clip's start is decoded.
    """
    size = path.stat().st_size
    for stream in container.streams:
        entries = stream.index_entries
        if len(entries) == 0:
            continue
        last = entries[len(entries) - 1]
        if last.pos >= 0 and last.pos + last.size > size:
            raise UserError(
                f"video is truncated: its index points {last.pos + last.size - size:,} bytes past the end "
                f"of the file ({size:,} bytes): {path}"
            )


def _describe_audio(container, path: Path) -> AudioInfo | None:
    if not container.streams.audio:
        return None
    stream = container.streams.audio[0]
    context = stream.codec_context
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    return AudioInfo(
        path=str(path),
        stream_index=stream.index,
        # The codec's canonical name ("mp3"), not its decoder's ("mp3float"): the writer copies by it.
        codec=(context.codec.canonical_name if context is not None else "unknown"),
        sample_rate=int(context.sample_rate or 0),
        channels=int(getattr(context, "channels", 0) or 0),
        start_time=start,
        duration=_stream_seconds(stream),
    )


def _stream_seconds(stream) -> float | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def _declared_rate(stream) -> float | None:
    """The rate the container declares (average, else guessed); None when it does not say."""
    rate = stream.average_rate or stream.guessed_rate
    if rate and math.isfinite(float(rate)) and float(rate) > 0:
        return float(rate)
    return None


def _frame_rate(declared: float | None, times: np.ndarray) -> float:
    """The declared average rate; from the timestamps when the container does not say."""
    if declared:
        return declared
    if times.size > 1 and times[-1] > times[0]:
        return float((times.size - 1) / (times[-1] - times[0]))
    return 25.0


def _display_matrix(frame) -> tuple[int, ...] | None:
    """The frame's 3x3 display matrix (16.16 fixed point, row-major), if it carries one."""
    for side_data in frame.side_data:
        if "DISPLAYMATRIX" in str(side_data.type):
            raw = bytes(side_data)
            if len(raw) >= 36:
                return struct.unpack("<9i", raw[:36])
    return None


def _apply_display_matrix(frames: np.ndarray, matrix: tuple[int, ...]) -> tuple[np.ndarray, int, bool]:
    """Turn stored frames into displayed ones: (T, H, W, 3) -> (T, H', W', 3).

    The display matrix maps a stored pixel (x, y) to (a*x + c*y, b*x + d*y) with
    [a b; c d] = matrix[0:2], matrix[3:5] (the MP4/FFmpeg convention, y pointing down).
    Only quarter turns and mirrors are supported; anything else is refused.
    """
    a, b, c, d = (round(v / 65536) for v in (matrix[0], matrix[1], matrix[3], matrix[4]))
    if (a, b, c, d) == (1, 0, 0, 1):
        return frames, 0, False
    if abs(a) + abs(b) + abs(c) + abs(d) != 2 or (a != 0) != (d != 0) or (b != 0) != (c != 0):
        raise UserError(f"unsupported display matrix {matrix[:2] + matrix[3:5]} (not a quarter turn)")
    out = frames
    if a == 0:  # axes swap: x' = c*y, y' = b*x
        out = out.transpose(0, 2, 1, 3)  # (T, W, H, 3): rows now indexed by x
        if c < 0:
            out = out[:, :, ::-1]
        if b < 0:
            out = out[:, ::-1]
    else:  # x' = a*x, y' = d*y
        if a < 0:
            out = out[:, :, ::-1]
        if d < 0:
            out = out[:, ::-1]
    # Rotation angle (counter-clockwise) and whether a mirror is left over.
    determinant = a * d - b * c
    mirrored = determinant < 0
    angle = int(round(math.degrees(math.atan2(-b, a)))) if not mirrored else 0
    return np.ascontiguousarray(out), angle, mirrored


def _legacy_rotate_tag(metadata: dict[str, str]) -> int:
    value = metadata.get("rotate")
    if not value:
        return 0
    try:
        degrees = int(float(value)) % 360
    except ValueError:
        return 0
    return degrees if degrees in (90, 180, 270) else 0


def _ffmpeg_reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return " ".join(str(text).split())


def fraction_rate(fps: float) -> Fraction:
    """A frame rate as the exact fraction containers want (29.97 -> 30000/1001)."""
    for denominator in (1001, 1):
        numerator = fps * denominator
        if abs(numerator - round(numerator)) < 1e-3 * denominator:
            return Fraction(round(numerator), denominator)
    return Fraction(fps).limit_denominator(1001)
