"""Objective metrics on synthetic clips whose answers are known, and the metrics runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imvideoedit.eval.flow import farneback_flow, to_gray, warp
from imvideoedit.eval.metrics_runner import MetricsRunConfig, frames_from_file, run_metrics
from imvideoedit.eval.objective_metrics import (
    ObjectiveConfig,
    align_in_time,
    dynamic_degree_farneback,
    flicker,
    motion_fidelity_epe,
    ssim,
    structure_ssim,
    warp_error,
)
from imvideoedit.eval.spec import load_spec, parse_methods


def flickering(frames: np.ndarray, amplitude: int = 30) -> np.ndarray:
    out = frames.astype(np.int16)
    out[::2] += amplitude
    return np.clip(out, 0, 255).astype(np.uint8)


def test_static_video_has_dynamic_degree_zero(make_frames):
    static = np.repeat(make_frames(1, 96, 128), 16, axis=0)
    verdict = dynamic_degree_farneback(static, fps=8.0)
    assert verdict.is_dynamic is False
    assert max(verdict.pair_scores) < 0.1 * verdict.threshold


def test_moving_video_is_dynamic(make_frames):
    moving = make_frames(16, 96, 128, shift=(0, 4))
    verdict = dynamic_degree_farneback(moving, fps=8.0)
    assert verdict.is_dynamic is True
    assert np.median(verdict.pair_scores) == pytest.approx(4.0, abs=0.5)  # the top-5% magnitude is the shift


def test_dynamic_degree_follows_vbench_sampling_and_thresholds(make_frames):
    frames = make_frames(32, 64, 96)  # static; only the rule's parameters are checked here
    at_30 = dynamic_degree_farneback(frames, fps=30.0)
    assert len(at_30.pair_scores) == 7  # every round(30/8)=4th frame: 8 frames kept, 7 pairs
    assert at_30.threshold == pytest.approx(6.0 * 64 / 256)
    assert at_30.pairs_needed == 2  # round(4 * 8 / 16)
    at_4 = dynamic_degree_farneback(frames[:10], fps=4.0)
    assert len(at_4.pair_scores) == 9 and at_4.threshold == pytest.approx(2 * 6.0 * 64 / 256)
    assert at_4.pairs_needed == 2  # Python's round(2.5) == 2, as in VBench


def test_shifted_copy_has_the_known_flow(make_frames):
    frames = make_frames(2, 96, 128, shift=(-2, 3))  # content moves 3 px right and 2 px up per frame
    flow = farneback_flow(to_gray(frames[0]), to_gray(frames[1]))
    interior = flow[16:-16, 16:-16].reshape(-1, 2)
    dx, dy = np.median(interior, axis=0)
    assert dx == pytest.approx(3.0, abs=0.15) and dy == pytest.approx(-2.0, abs=0.15)
    pulled_back, inside = warp(frames[1], flow)  # the second frame pulled onto the first's grid
    error = np.abs(pulled_back - frames[0].astype(np.float32))[16:-16, 16:-16].mean()
    assert error < 3.0 and inside[16:-16, 16:-16].all()


def test_flickering_video_scores_worse_than_a_stable_one(make_frames):
    stable = make_frames(8, 64, 80, shift=(1, 1))
    flickers = flickering(stable)
    assert warp_error(flickers) > 5 * warp_error(stable)
    assert flicker(stable) < 0.005
    assert flicker(flickers) > 0.05
    fade = np.stack([np.clip(stable[0].astype(np.int16) + 4 * t, 0, 255).astype(np.uint8) for t in range(8)])
    assert flicker(fade) < 0.005  # a steady fade is not flicker


def test_identical_pair_preserves_structure_and_motion_perfectly(make_frames):
    source = make_frames(6, 64, 80, shift=(0, 2))
    assert structure_ssim(source, source.copy()) == 1.0
    assert motion_fidelity_epe(source, source.copy()) == 0.0
    assert ssim(to_gray(source[0]), to_gray(source[0])) == 1.0


def test_structure_and_motion_degrade_when_the_edit_departs(make_frames):
    source = make_frames(6, 64, 80, shift=(0, 2))
    recoloured = np.clip(source.astype(np.int16) * 0.7 + 40, 0, 255).astype(
        np.uint8
    )  # same structure, new tone
    unrelated = make_frames(6, 64, 80, seed=7, shift=(0, 2))
    assert structure_ssim(source, recoloured) > 0.8
    assert structure_ssim(source, unrelated) < 0.3
    reversed_motion = make_frames(6, 64, 80, shift=(0, -2))
    same_motion = motion_fidelity_epe(source, recoloured)
    assert same_motion < 0.5
    assert motion_fidelity_epe(source, reversed_motion) > 5 * max(same_motion, 0.1)


def test_pairs_of_different_length_and_size_are_aligned(make_frames):
    source = make_frames(8, 64, 80, shift=(0, 2))
    longer = np.repeat(source, 2, axis=0)  # the same clip at twice the frame count
    a, b = align_in_time(source, longer)
    assert len(a) == len(b) == 8
    bigger = np.stack([np.kron(frame, np.ones((2, 2, 1), np.uint8)) for frame in source])  # 128x160
    assert structure_ssim(source, bigger) > 0.9


def test_too_short_clips_give_no_value_rather_than_a_made_up_one(make_frames):
    one = make_frames(1)
    assert warp_error(one) is None and flicker(make_frames(2)) is None
    assert motion_fidelity_epe(one, one) is None
    assert dynamic_degree_farneback(one, fps=8.0).is_dynamic is False


def test_metrics_runner_measures_sources_and_edits_and_resumes(tiny_benchmark):
    cases = load_spec(tiny_benchmark["spec"])
    methods = parse_methods([f"good={tiny_benchmark['good']}", f"partial={tiny_benchmark['partial']}"])
    out = tiny_benchmark["root"] / "out"
    decoded: list[str] = []

    def reader(path):
        decoded.append(path.name)
        return frames_from_file(path)

    config = MetricsRunConfig(objective=ObjectiveConfig(working_max_side=64))
    rows = run_metrics(cases, methods, config, out, read_frames=reader)
    assert set(rows) == {"source", "good", "partial"}
    for record in rows["source"]:
        assert record["status"] == "ok"
        assert record["metrics"]["structure_ssim"] == 1.0 and record["metrics"]["motion_fidelity_epe"] == 0.0
        assert record["metrics"]["dynamic_degree_farneback"] in (0.0, 1.0)
    assert rows["partial"][2]["status"] == "missing" and "no edited video" in rows["partial"][2]["failure"]
    assert rows["partial"][2]["metrics"] is None
    # The inverted edit keeps the structure's edges but not the luma: SSIM clearly below 1.
    assert all(r["metrics"]["structure_ssim"] < 0.5 for r in rows["good"])
    unavailable = rows["good"][0]["unavailable"]
    assert set(unavailable) == {
        "subject_consistency",
        "background_consistency",
        "aesthetic_quality",
        "motion_smoothness",
        "imaging_quality",
    }
    assert (out / "metrics" / "source.jsonl").is_file() and (out / "metrics" / "run.json").is_file()
    # Second run: everything comes from the cache, nothing is decoded.
    decoded.clear()
    again = run_metrics(cases, methods, config, out, read_frames=reader)
    assert decoded == []
    assert again["good"][0]["metrics"] == rows["good"][0]["metrics"]


def test_metrics_runner_records_an_unreadable_edit(tiny_benchmark):
    (tiny_benchmark["good"] / "c2.mp4").write_bytes(b"\x00" * 100)
    cases = load_spec(tiny_benchmark["spec"])
    rows = run_metrics(
        cases,
        parse_methods([f"good={tiny_benchmark['good']}"]),
        MetricsRunConfig(objective=ObjectiveConfig(working_max_side=48)),
        tiny_benchmark["root"] / "o",
    )
    assert [r["status"] for r in rows["good"]] == ["ok", "missing", "ok"]
    assert "c2.mp4" in rows["good"][1]["failure"]


def test_dynamic_degree_at_reduced_resolution_keeps_the_verdict(make_frames):
    moving = make_frames(8, 300, 400, shift=(0, 6))  # 6 px/frame at min side 300: threshold 7.0 at full size
    full = dynamic_degree_farneback(moving, fps=8.0)
    reduced = dynamic_degree_farneback(moving, fps=8.0, min_side=150)  # flow and threshold both halve
    assert reduced.threshold == pytest.approx(full.threshold / 2)
    assert full.is_dynamic is False and reduced.is_dynamic is False
    assert np.median(reduced.pair_scores) == pytest.approx(np.median(full.pair_scores) / 2, rel=0.1)


DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "videos"


@pytest.mark.skipif(not (DATA / "kitten.mp4").is_file(), reason=f"shared test media not found at {DATA}")
def test_real_clip_is_dynamic_and_its_frozen_copy_is_not():
    frames, fps = frames_from_file(DATA / "kitten.mp4")
    assert dynamic_degree_farneback(frames, fps, min_side=256).is_dynamic is True
    frozen = np.repeat(frames[:1], len(frames), axis=0)
    assert dynamic_degree_farneback(frozen, fps, min_side=256).is_dynamic is False
    assert warp_error(flickering(frames)) > 3 * warp_error(frames)


def test_an_edit_of_the_sources_first_half_is_aligned_by_time(make_frames):
    from imvideoedit.eval.metrics_runner import timing_warning

    source = make_frames(12, 64, 80, shift=(0, 2))
    first_half = source[:6]  # the same frames at the same rate: an exact edit of the first half
    assert structure_ssim(source, first_half, source_fps=8.0, edited_fps=8.0) == 1.0
    assert motion_fidelity_epe(source, first_half, source_fps=8.0, edited_fps=8.0) == 0.0
    assert structure_ssim(source, first_half) < 1.0  # without rates: stretched over the whole source
    a, b = align_in_time(source, source[::2], 8.0, 4.0)  # the whole clip at half the rate
    assert len(a) == len(b) == 6 and np.array_equal(a, b)
    assert timing_warning(6, 8.0, 12, 8.0).startswith("the edit covers 0.75 s")
    assert timing_warning(6, 4.0, 12, 8.0) is None and "single frame" in timing_warning(1, 8.0, 12, 8.0)


def test_a_wrong_feature_model_path_stops_the_run_before_any_clip(tiny_benchmark):
    from imvideoedit.errors import UserError
    from imvideoedit.eval.vbench_dimensions import FeatureModelPaths

    config = MetricsRunConfig(features=FeatureModelPaths(dino_vitb16=tiny_benchmark["root"] / "nowhere"))
    out = tiny_benchmark["root"] / "out"
    with pytest.raises(UserError, match="DINO ViT-B/16 folder not found"):
        run_metrics(load_spec(tiny_benchmark["spec"]), [], config, out)
    assert not (out / "metrics" / "source.jsonl").exists()
