"""The temporal-prior measurement: exact on renders, and it catches vanishing, morphing, flicker."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from imvideoedit.world.render import render
from imvideoedit.world.scene import COLOURS, SHAPE_KINDS, Scene
from imvideoedit.world.temporal_prior import (
    PriorReport,
    kind_breakdown,
    measure,
    object_frames,
    prior_scenes,
)


def _single_object_scenes(count: int) -> list[Scene]:
    return [scene for scene in prior_scenes(4 * count) if len(scene.shapes) == 1][:count]


def _as_kind(scene: Scene, kind: str) -> Scene:
    """A single-object scene with its object drawn as `kind` (same colour, size and motion)."""
    return replace(scene, shapes=(replace(scene.shapes[0], kind=kind),))


def test_renders_of_single_objects_are_read_exactly():
    scenes = _single_object_scenes(12)
    present, kind, flicker, stable = measure([render(s) for s in scenes], scenes)
    assert present == 1.0 and kind == 1.0 and stable == 1.0 and flicker > 0


def test_a_vanishing_object_is_caught():
    scene = _single_object_scenes(1)[0]
    video = render(scene)
    background = np.median(video.reshape(-1, 3), axis=0).astype(np.uint8)
    colour = np.array(COLOURS[scene.shapes[0].colour])
    hit = np.linalg.norm(video[4].astype(float) - colour, axis=-1) < 60
    video[4][hit] = background  # the object disappears in the middle frame
    present, kinds = object_frames(video, scene, 0)
    assert not present[4] and present[[0, 1, 2, 3, 5, 6, 7, 8]].all()
    assert measure([video], [scene])[0] == 0.0


def test_a_morphing_object_is_caught():
    scene = _single_object_scenes(1)[0]
    other = next(kind for kind in SHAPE_KINDS if kind not in (scene.shapes[0].kind, "cross"))
    morphed = _as_kind(scene, other)
    video = render(scene)
    video[5:] = render(morphed)[5:]
    present, kinds = object_frames(video, scene, 0)
    assert present.all()
    assert kinds[0] == SHAPE_KINDS.index(scene.shapes[0].kind)
    assert kinds[8] == SHAPE_KINDS.index(other)
    assert measure([video], [scene])[1] == 0.0
    assert measure([video], [scene])[3] == 0.0  # not one kind throughout either


def test_a_consistently_wrong_kind_is_stable_but_not_captioned():
    scene = _single_object_scenes(1)[0]
    other = next(kind for kind in SHAPE_KINDS if kind not in (scene.shapes[0].kind, "cross"))
    video = render(_as_kind(scene, other))  # every frame the other kind
    present, kind, _, stable = measure([video], [scene])
    assert (present, kind, stable) == (1.0, 0.0, 1.0)


def test_kind_breakdown_splits_by_size_and_reads_the_drawn_kind():
    scenes = _single_object_scenes(12)
    renders = [render(scene) for scene in scenes]
    exact = kind_breakdown(renders, scenes)
    sizes = {scene.shapes[0].size for scene in scenes}
    assert {f"size {size}" for size in sizes} | {"1 objects"} == set(exact["groups"])
    assert exact["groups"]["1 objects"] == {"objects": 12, "present": 1.0, "kind_given_present": 1.0}
    for kind, reads in exact["confusion"].items():  # every render is read as its own kind
        assert sum(n for read, n in reads.items() if read != kind) == 0

    # Every object drawn as one other kind: present, never its kind, and the confusion says which.
    wrong, drawn = [], []
    for scene in scenes:
        shape = scene.shapes[0]
        other = "square" if shape.kind != "square" else "circle"
        drawn.append(other)
        wrong.append(render(_as_kind(scene, other)))
    broken = kind_breakdown(wrong, scenes)
    assert broken["groups"]["1 objects"] == {"objects": 12, "present": 1.0, "kind_given_present": 0.0}
    for scene, other in zip(scenes, drawn, strict=True):
        assert broken["confusion"][scene.shapes[0].kind][other] >= 1

    # Nothing drawn: absent everywhere, and no kind reading to give.
    blank = [np.zeros_like(video) for video in renders]
    empty = kind_breakdown(blank, scenes)
    assert empty["groups"]["1 objects"]["present"] == 0.0
    assert empty["groups"]["1 objects"]["kind_given_present"] is None
    assert sum(reads["absent"] for reads in empty["confusion"].values()) == 12


def test_report_bar():
    good = PriorReport(4, 6, 0.9, 0.9, 0.8, 0.85, 0.011, 0.01)
    assert good.passed and abs(good.flicker_ratio - 1.1) < 1e-9
    assert not PriorReport(4, 6, 0.9, 0.9, 0.8, 0.85, 0.013, 0.01).passed  # flicker 1.3x
    assert not PriorReport(4, 6, 0.5, 0.9, 0.5, 0.85, 0.010, 0.01).passed  # objects vanish


def test_base_samples_through_diffusers_wan_pipeline(small_world_base):
    from imvideoedit.world.temporal_prior import load_base_pipeline, sample_videos

    torch.set_num_threads(1)
    pipe = load_base_pipeline(small_world_base)
    scenes = prior_scenes(3)
    videos = sample_videos(pipe, scenes, steps=2, guidance=1.0, batch=2)
    assert [v.shape for v in videos] == [(9, 32, 32, 3)] * 3  # 9 frames, not WanPipeline's rounded 10
    assert all(v.dtype == np.uint8 for v in videos)
    again = sample_videos(pipe, scenes[:2], steps=2, guidance=1.0, batch=2)
    assert np.array_equal(again[0], videos[0])


def test_image_reading_of_the_prior(small_world_base):
    """`frames=1` samples and measures single images against single-frame renders."""
    from imvideoedit.world.temporal_prior import load_base_pipeline, prior_report

    torch.set_num_threads(1)
    report, samples, scenes = prior_report(load_base_pipeline(small_world_base), count=2, steps=2, frames=1)
    assert [s.shape for s in samples] == [(1, 32, 32, 3)] * 2 and all(sc.frames == 1 for sc in scenes)
    assert report.present_truth == 1.0 and report.flicker_truth == 0.0
