"""Write frames as an H.264 MP4 (libx264 through PyAV), optionally with the source's audio.

The file appears atomically: everything is written to a temporary sibling that is renamed over
the target only once the container is closed. Frames at a constant rate are stamped 0, 1, 2, ...
in a 1/fps time base; frames with their own times (a variable-rate source kept at its timing) are
stamped with those times in a 1/90000 time base.

Audio from the source is stream-copied when MP4 can hold its codec (AAC, MP3, Opus, ...),
otherwise transcoded to AAC, and cut to the span the video covers, shifted so that source time
`audio_offset` lands at 0 (the first source frame), which keeps it in sync with the edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from imvideoedit.atomic_write import atomic_path
from imvideoedit.errors import UserError
from imvideoedit.video.reader import AudioInfo, fraction_rate

# Codecs the MP4 muxer accepts as they are; any other audio is transcoded to AAC.
_MP4_AUDIO_CODECS = {"aac", "mp3", "mp2", "ac3", "eac3", "opus", "alac", "flac"}
_VFR_TIME_BASE = Fraction(1, 90000)


@dataclass(frozen=True)
class WrittenVideo:
    path: str
    num_frames: int
    fps: float
    width: int
    height: int
    audio: str  # "none", "copied", "transcoded", or "dropped: <why>"


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    *,
    timestamps: np.ndarray | None = None,
    audio: AudioInfo | None = None,
    audio_offset: float = 0.0,
    crf: int = 18,
    preset: str = "medium",
) -> WrittenVideo:
    """Encode (T, H, W, 3) uint8 RGB `frames` to `path` (MP4, H.264, yuv420p).

    `timestamps` (T,) seconds from 0: when given and not a constant `fps` grid, frames keep them.
    Odd frame sides are made even (yuv420p needs it) by repeating the last row/column.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    if frames.shape[0] == 0:
        raise UserError("no frames to write")
    frames = _even_sides(frames)
    count, height, width = frames.shape[:3]
    rate = fraction_rate(fps)
    constant_rate = timestamps is None or np.allclose(
        np.asarray(timestamps), np.arange(count) / float(rate), atol=0.25 / float(rate)
    )
    duration = (count / float(rate)) if constant_rate else float(timestamps[-1]) + 1.0 / float(rate)

    audio_packets, audio_mode = [], "none"
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as output:
        video = output.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": str(crf), "preset": preset}
        if not constant_rate:
            video.codec_context.time_base = _VFR_TIME_BASE
        if audio is not None:
            audio_packets, audio_mode = _audio_packets(audio, output, audio_offset, duration)

        pending = iter(audio_packets)
        next_audio = next(pending, None)
        for index, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            if constant_rate:
                frame.pts, frame.time_base = index, 1 / rate
                now = index / float(rate)
            else:
                now = float(timestamps[index])
                frame.pts, frame.time_base = round(now / _VFR_TIME_BASE), _VFR_TIME_BASE
            while next_audio is not None and next_audio[0] <= now:
                output.mux(next_audio[1])
                next_audio = next(pending, None)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        while next_audio is not None:
            output.mux(next_audio[1])
            next_audio = next(pending, None)
    return WrittenVideo(
        path=str(path), num_frames=count, fps=float(rate), width=width, height=height, audio=audio_mode
    )


def _audio_packets(audio: AudioInfo, output, offset: float, duration: float):
    """Audio packets for [offset, offset + duration) of the source, as (time, packet) in order."""
    try:
        source = av.open(audio.path, mode="r")
    except av.FFmpegError as error:
        return [], f"dropped: cannot reopen the source audio ({error})"
    with source:
        in_stream = source.streams[audio.stream_index]
        if audio.codec in _MP4_AUDIO_CODECS:
            out_stream = output.add_stream_from_template(in_stream)
            packets = _copy_packets(source, in_stream, out_stream, offset, duration)
            mode = "copied"
        else:
            out_stream = output.add_stream("aac", rate=audio.sample_rate or 48000)
            packets = _transcode_packets(source, in_stream, out_stream, offset, duration)
            mode = "transcoded"
    if not packets:
        return [], "dropped: the source audio does not overlap the edited span"
    return packets, mode


def _copy_packets(source, in_stream, out_stream, offset: float, duration: float):
    time_base = in_stream.time_base
    shift = round(offset / time_base)
    packets = []
    for packet in source.demux(in_stream):
        if packet.pts is None or packet.dts is None:
            continue  # the demuxer's final empty packet
        start = float(packet.pts * time_base) - offset
        if start >= duration:
            break
        if start < 0:  # before the first source frame: nothing to sync it with
            continue
        packet.pts -= shift
        packet.dts -= shift
        packet.stream = out_stream
        packets.append((start, packet))
    return packets


def _transcode_packets(source, in_stream, out_stream, offset: float, duration: float):
    encoder = out_stream.codec_context
    resampler = av.AudioResampler(format="fltp", layout=encoder.layout.name, rate=encoder.sample_rate)
    packets, written = [], 0
    for frame in source.decode(in_stream):
        if frame.time is None or frame.time - offset < 0:
            continue
        if frame.time - offset >= duration:
            break
        for converted in resampler.resample(frame):
            converted.pts = written
            written += converted.samples
            packets.extend(encoder.encode(converted))
    for converted in resampler.resample(None):
        converted.pts = written
        written += converted.samples
        packets.extend(encoder.encode(converted))
    packets.extend(encoder.encode(None))
    for packet in packets:
        packet.stream = out_stream
    return [(float(p.pts * p.time_base) if p.pts is not None else 0.0, p) for p in packets]


def _even_sides(frames: np.ndarray) -> np.ndarray:
    height, width = frames.shape[1:3]
    if height % 2 == 0 and width % 2 == 0:
        return frames
    return np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
