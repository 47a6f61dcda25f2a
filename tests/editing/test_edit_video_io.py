"""Video in and out: decoding, rotation, timing, geometry, writing, colour matching."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from edit_media import write_test_video
from PIL import Image

from imvideoedit.errors import UserError
from imvideoedit.video import (
    ClipSpec,
    OutputSpec,
    load_clip,
    match_colour,
    read_video,
    render_edit,
    write_video,
)
from imvideoedit.video.geometry import content_of, plan_geometry, to_model_grid, to_source_size
from imvideoedit.video.timing import output_schedule, plan_frames

# ---------------------------------------------------------------------------- decoding


def test_decoder_matches_the_kitten_reference_frames(shared_data: Path):
    video = read_video(shared_data / "videos" / "kitten.mp4")
    references = sorted((shared_data / "videos" / "kitten_frames").glob("*.png"))
    assert video.num_frames == len(references) == 16
    assert video.fps == 8.0 and not video.has_audio
    for frame, reference in zip(video.frames, references, strict=True):
        expected = np.asarray(Image.open(reference).convert("RGB")).astype(np.int16)
        difference = np.abs(frame.astype(np.int16) - expected)
        assert difference.max() <= 3 and difference.mean() < 0.5, reference.name


def test_29_97_fps_clip_keeps_its_exact_rate_and_audio(shared_data: Path):
    video = read_video(shared_data / "videos" / "man_skiing_2997fps_audio.mp4")
    assert video.fps == pytest.approx(30000 / 1001)
    assert video.num_frames == 91
    np.testing.assert_allclose(np.diff(video.timestamps), 1001 / 30000, atol=1e-4)
    assert video.has_audio and video.audio is not None and video.audio.codec == "aac"


def _marked_frames(count: int = 3) -> np.ndarray:
    """(count, 32, 64, 3): white block at the top-left, red block at the top-right."""
    frames = np.zeros((count, 32, 64, 3), np.uint8)
    frames[:, :8, :8] = 255
    frames[:, :8, -8:, 0] = 255
    return frames


def _corner_means(frame: np.ndarray) -> dict[str, float]:
    grey = frame.astype(float).mean(axis=2)
    return {
        "top_left": grey[:8, :8].mean(),
        "top_right": grey[:8, -8:].mean(),
        "bottom_left": grey[-8:, :8].mean(),
        "bottom_right": grey[-8:, -8:].mean(),
    }


@pytest.mark.parametrize(
    ("rotation", "hflip", "shape", "white_corner"),
    [
        (90, False, (64, 32), "bottom_left"),  # a quarter turn counter-clockwise
        (-90, False, (64, 32), "top_right"),  # clockwise (phones filmed upright store this)
        (180, False, (32, 64), "bottom_right"),
        (0, True, (32, 64), "top_right"),  # mirrored
    ],
)
def test_rotation_metadata_is_applied(tmp_path: Path, rotation, hflip, shape, white_corner):
    path = write_test_video(tmp_path / "rotated.mp4", _marked_frames(), fps=8, rotation=rotation, hflip=hflip)
    video = read_video(path)
    assert video.frames.shape[1:3] == shape
    corners = _corner_means(video.frames[0])
    assert max(corners, key=corners.get) == white_corner
    assert read_video(path, apply_rotation=False).frames.shape[1:3] == (32, 64)


def test_variable_frame_rate_is_resampled_by_time(tmp_path: Path):
    times = np.array([0.0, 0.05, 0.30, 0.35, 0.60, 0.95, 1.00, 1.40])
    frames = np.stack([np.full((32, 32, 3), 20 * (i + 1), np.uint8) for i in range(times.size)])
    video = read_video(write_test_video(tmp_path / "vfr.mp4", frames, fps=8, times=times))
    np.testing.assert_allclose(video.timestamps, times, atol=1e-3)
    assert video.variable_frame_rate
    timing = plan_frames(video.timestamps, video.duration, video.fps, model_fps=16.0)
    # Model frame j shows the source frame on screen at j / 16 s.
    expected = [int(np.searchsorted(times, j / 16 + 1e-6, side="right") - 1) for j in range(timing.num_real)]
    assert list(timing.source_indices[: timing.num_real]) == expected
    assert expected[:6] == [0, 1, 1, 1, 1, 2]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated_no_index", "truncated or corrupt"),
        ("truncated_frames", "truncated"),
        ("not_a_video", "not a video file"),
        ("empty_file", "empty"),
        ("audio_only", "audio-only"),
        ("zero_frames_mp4", "no frames"),
        ("zero_frames_mkv", "before its first frame"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(bad_media, name, message):
    with pytest.raises(UserError, match=message):
        read_video(bad_media[name])


def test_missing_path_and_stills(tmp_path: Path, bad_media):
    with pytest.raises(UserError, match="video not found"):
        read_video(tmp_path / "nope.mp4")
    assert read_video(bad_media["one_frame"]).num_frames == 1
    with pytest.raises(UserError, match="1 frame; at least 2"):
        read_video(bad_media["one_frame"], min_frames=2)


def test_truncation_is_caught_even_when_only_the_start_is_decoded(bad_media):
    with pytest.raises(UserError, match="truncated"):
        load_clip(bad_media["truncated_frames"], ClipSpec(num_frames=5, height=32))


# ---------------------------------------------------------------------------- frame plans


def _plan(duration: float, fps: float, **kwargs):
    timestamps = np.arange(round(duration * fps)) / fps
    return plan_frames(timestamps, duration, fps, **kwargs)


def test_frame_count_is_4k_plus_1_by_trim_or_pad():
    trim = _plan(2.0, 8.0)  # 32 frames at 16 fps fit
    assert (trim.num_frames, trim.num_padded, trim.available_frames) == (29, 0, 32)
    pad = _plan(2.0, 8.0, frame_fit="pad")
    assert (pad.num_frames, pad.num_padded) == (33, 1)
    assert pad.source_indices[-1] == pad.source_indices[-2]  # the padding holds the last frame
    long = _plan(20.0, 25.0)
    assert long.num_frames == 81 and long.num_padded == 0
    short = _plan(0.2, 10.0)  # 3 model frames: padded up to the minimum of 5
    assert (short.num_frames, short.num_padded) == (5, 2)
    exact = _plan(2.0, 8.0, num_frames=45)
    assert (exact.num_frames, exact.num_padded) == (45, 13)
    untouched = _plan(1.0, 9.0, model_fps=None)
    assert untouched.source_indices[:9] == tuple(range(9)) and untouched.num_frames == 9
    with pytest.raises(UserError, match="4k\\+1"):
        _plan(2.0, 8.0, num_frames=10)


def test_output_schedule_at_source_rate_model_rate_and_a_number():
    fps = 30000 / 1001
    timestamps = np.arange(91) / fps
    timing = plan_frames(timestamps, 91 / fps, fps, num_frames=17)  # covers 17 / 16 s
    indices, times, out_fps = output_schedule(timing, timestamps, fps, "source")
    assert out_fps == fps and times.size == int(np.sum(timestamps < 17 / 16 - 1e-6))
    assert indices[0] == 0 and indices[-1] == 16 and np.all(np.diff(indices) >= 0)
    indices, times, out_fps = output_schedule(timing, timestamps, fps, "model")
    assert out_fps == 16.0 and list(indices) == list(range(17))
    indices, times, out_fps = output_schedule(timing, timestamps, fps, 8.0)
    assert times.size == 8 and list(indices) == list(range(0, 16, 2))


# ---------------------------------------------------------------------------- geometry


def test_geometry_crop_pad_and_default_sizes():
    crop = plan_geometry(506, 960, height=256, width=256, fit="crop")
    assert (crop.resized_height, crop.resized_width) == (256, 486)
    assert (crop.top, crop.left) == (0, 115)
    pad = plan_geometry(506, 960, height=256, width=256, fit="pad")
    assert (pad.resized_height, pad.resized_width, pad.top, pad.left) == (135, 256, 60, 0)
    default = plan_geometry(506, 960, max_pixels=10**6)  # the source size, snapped to the 16-grid
    assert (default.height, default.width) == (512, 960)
    from_height = plan_geometry(506, 960, height=256)
    assert from_height.width == 480


def test_pixel_budget_refuses_or_downscales():
    with pytest.raises(UserError, match="beyond the pixel budget"):
        plan_geometry(718, 718)  # 515,524 pixels > 480 x 832
    shrunk = plan_geometry(718, 718, downscale=True)
    assert shrunk.height * shrunk.width <= 480 * 832 and shrunk.height == shrunk.width
    with pytest.raises(UserError, match="beyond the pixel budget"):
        plan_geometry(480, 832, height=720, width=1280)
    with pytest.raises(UserError, match="multiple of 16"):
        plan_geometry(480, 832, height=500, width=512)


def _smooth_frames(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([255 * x / width, 255 * y / height, 128 + 0 * x], axis=-1).astype(np.uint8)
    return image[None]


def test_restore_to_source_size_inverts_the_mapping():
    source = _smooth_frames(506, 960)
    for fit in ("pad", "crop"):
        geometry = plan_geometry(506, 960, height=128, width=128, fit=fit)
        model = to_model_grid(source, geometry)
        assert model.shape == (1, 128, 128, 3)
        restored = to_source_size(model, geometry, source)
        assert restored.shape == source.shape
        assert np.abs(restored.astype(int) - source).mean() < 4.0, fit
    geometry = plan_geometry(506, 960, height=128, width=128, fit="pad")
    assert content_of(to_model_grid(source, geometry), geometry).shape == (1, 67, 128, 3)


# ---------------------------------------------------------------------------- writing


def test_writer_copies_audio_in_sync(shared_data: Path, tmp_path: Path):
    clip = load_clip(
        shared_data / "videos" / "old_man_exercise_audio.mp4", ClipSpec(num_frames=17, height=32)
    )
    written = write_video(tmp_path / "with_audio.mp4", clip.frames, 16.0, audio=clip.source.audio)
    assert written.audio == "copied"
    with av.open(str(tmp_path / "with_audio.mp4")) as container:
        audio = container.streams.audio[0]
        video = container.streams.video[0]
        audio_seconds = float(audio.duration * audio.time_base)
        video_seconds = float(video.duration * video.time_base)
        assert audio.codec_context.name == "aac"
        assert abs(audio_seconds - video_seconds) < 0.1
    silent = write_video(tmp_path / "silent.mp4", clip.frames, 16.0)
    assert silent.audio == "none"
    with av.open(str(tmp_path / "silent.mp4")) as container:
        assert not container.streams.audio


def test_writer_keeps_variable_timestamps(tmp_path: Path):
    times = np.array([0.0, 0.1, 0.15, 0.5, 0.55])
    frames = np.stack([np.full((16, 16, 3), 40 * i, np.uint8) for i in range(5)])
    write_video(tmp_path / "vfr.mp4", frames, 10.0, timestamps=times)
    np.testing.assert_allclose(read_video(tmp_path / "vfr.mp4").timestamps, times, atol=1e-4)


def test_writer_leaves_nothing_behind_when_it_fails(tmp_path: Path, monkeypatch):
    calls = {"count": 0}
    original = av.VideoFrame.from_ndarray

    def failing(*args, **kwargs):
        calls["count"] += 1
        if calls["count"] == 3:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(av.VideoFrame, "from_ndarray", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_video(tmp_path / "out.mp4", np.zeros((5, 16, 16, 3), np.uint8), 8.0)
    assert list(tmp_path.iterdir()) == []


def test_side_by_side_and_restored_size(shared_data: Path):
    clip = load_clip(
        shared_data / "videos" / "sculpture_960x506.mp4", ClipSpec(num_frames=9, height=32, fit="pad")
    )
    assert clip.frames.shape == (9, 32, 64, 3)
    both = render_edit(clip.frames, clip, OutputSpec(fps="model", side_by_side=True))
    assert both.frames.shape == (9, 32, 2 * 61, 3)  # letterbox removed: 61 columns of content
    restored = render_edit(clip.frames, clip, OutputSpec(fps="source", size="source"))
    assert restored.frames.shape[1:] == (506, 960, 3) and restored.fps == 25.0


def test_colour_matching_moves_the_statistics_to_the_reference():
    rng = np.random.default_rng(0)
    reference = rng.normal(100, 20, (4, 16, 16, 3)).clip(0, 255).astype(np.uint8)
    edit = rng.normal(170, 40, (4, 16, 16, 3)).clip(0, 255).astype(np.uint8)
    matched = match_colour(edit, reference).astype(float)
    np.testing.assert_allclose(matched.mean(axis=(0, 1, 2)), reference.mean(axis=(0, 1, 2)), atol=1.0)
    np.testing.assert_allclose(matched.std(axis=(0, 1, 2)), reference.std(axis=(0, 1, 2)), rtol=0.05)
    assert np.array_equal(match_colour(edit, reference, strength=0.0), edit)


def test_source_rate_clips_decode_only_the_frames_the_plan_takes(shared_data: Path):
    wolf = shared_data / "videos" / "wolf.mp4"
    whole = read_video(wolf)
    clip = load_clip(wolf, ClipSpec(model_fps=None, num_frames=9, height=32))
    assert clip.source.num_frames == 9 < whole.num_frames  # not the whole file
    source = clip.mapping()["source"]
    assert source["num_frames_decoded"] == 9
    assert source["duration"] == pytest.approx(
        whole.file_duration or whole.duration
    )  # the file's, not 9 frames'
    assert source["decoded_duration"] < source["duration"]


def test_mp3_audio_is_copied_not_transcoded(tmp_path: Path):
    path = tmp_path / "mp3.mp4"
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=8)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = container.add_stream("libmp3lame", rate=44100)
        for index in range(8):
            pixels = np.full((32, 32, 3), index * 30, np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        samples = np.zeros((1, 44100), np.float32)
        sound = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        sound.sample_rate = 44100
        container.mux(audio.encode(sound))
        container.mux(audio.encode(None))
        container.mux(video.encode(None))
    clip = load_clip(path, ClipSpec(num_frames=5, height=32, model_fps=8.0))
    assert clip.source.audio.codec == "mp3"
    written = write_video(tmp_path / "out.mp4", clip.frames, 8.0, audio=clip.source.audio)
    assert written.audio == "copied"
