"""The world renderer's edits are exact: they change what they say and nothing else."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from imvideoedit.world import EDIT_KINDS, apply_edit, render, sample_edit, sample_scene
from imvideoedit.world.edits import redraw_free_choices
from imvideoedit.world.pairs import heldout_edits
from imvideoedit.world.render import shape_mask, trajectory
from imvideoedit.world.scene import SIZES, caption


def _scene_with(rng, shapes: int):
    while True:
        scene = sample_scene(rng)
        if len(scene.shapes) == shapes:
            return scene


def _object_pixels(scene, index):
    """(T, H, W) mask of shape `index`'s visible pixels (not covered by later shapes)."""
    size = scene.size
    pixel = np.arange(size) + 0.5
    py, px = np.meshgrid(pixel, pixel, indexing="ij")
    masks = []
    for t in range(scene.frames):
        visible = np.zeros((size, size), dtype=bool)
        for j, shape in enumerate(scene.shapes):
            centre = trajectory(shape, scene)[t]
            mask = shape_mask(shape.kind, px - centre[0], py - centre[1], SIZES[shape.size] * size)
            visible = (visible | mask) if j == index else (visible & ~mask)
        masks.append(visible)
    return np.stack(masks)


def test_render_is_deterministic_and_sized():
    scene = sample_scene(np.random.default_rng(0), size=48, frames=13)
    video = render(scene)
    assert video.shape == (13, 48, 48, 3) and video.dtype == np.uint8
    assert np.array_equal(video, render(scene))


@pytest.mark.parametrize("seed", range(4))
def test_rendering_chosen_frames_gives_exactly_those_frames_of_the_clip(seed):
    """Image training steps render one frame alone; it must be the clip's frame, pan, zoom,
    style and light included."""
    rng = np.random.default_rng(seed)
    scene = sample_edit(sample_scene(rng, frames=9), rng).target  # edited looks too
    video = render(scene)
    assert np.array_equal(render(scene, [4]), video[4:5])
    assert np.array_equal(render(scene, [8, 0, 3]), video[[8, 0, 3]])


@pytest.mark.parametrize("seed", range(5))
def test_removal_leaves_exactly_the_background(seed):
    rng = np.random.default_rng(seed)
    scene = _scene_with(rng, 2)
    edit = apply_edit(scene, "remove", np.random.default_rng(seed))
    removed = next(i for i, s in enumerate(scene.shapes) if s not in edit.target.shapes)
    covered = _object_pixels(scene, removed)
    background_only = render(replace(scene, shapes=()))
    target, source = render(edit.target), render(edit.source)
    other = _object_pixels(edit.target, 0)
    reveal = covered & ~other
    assert reveal.any()
    assert np.array_equal(target[reveal], background_only[reveal])
    assert np.array_equal(target[~covered], source[~covered])


@pytest.mark.parametrize("seed", range(5))
def test_recolour_changes_only_the_object(seed):
    rng = np.random.default_rng(seed)
    scene = sample_scene(rng)
    edit = apply_edit(scene, "recolour", rng)
    index = next(i for i, (a, b) in enumerate(zip(scene.shapes, edit.target.shapes, strict=True)) if a != b)
    visible = _object_pixels(scene, index)
    source, target = render(edit.source), render(edit.target)
    changed = np.any(source != target, axis=-1)
    assert np.array_equal(changed, visible)


@pytest.mark.parametrize("kind", list(EDIT_KINDS))
def test_every_edit_keeps_the_motion(kind):
    rng = np.random.default_rng(1)
    for _ in range(50):
        scene = sample_scene(rng)
        edit = apply_edit(scene, kind, rng)
        if edit is not None:
            break
    assert edit is not None, kind
    assert edit.task == EDIT_KINDS[kind] and edit.instruction
    assert edit.target_caption != edit.source_caption
    kept = [
        s
        for s in scene.shapes
        if any((s.x, s.y, s.vx, s.vy) == (t.x, t.y, t.vx, t.vy) for t in edit.target.shapes)
    ]
    for shape in kept:
        match = next(
            t for t in edit.target.shapes if (t.x, t.y, t.vx, t.vy) == (shape.x, shape.y, shape.vx, shape.vy)
        )
        if match.size == shape.size:
            assert np.array_equal(trajectory(shape, scene), trajectory(match, edit.target))
    assert edit.target.pan == scene.pan and edit.target.frames == scene.frames
    assert not np.array_equal(render(edit.source), render(edit.target))


def test_hatched_style_phase_is_not_fixed_by_the_source():
    scene = sample_scene(np.random.default_rng(3))
    a = render(replace(scene, style="hatched", style_phase=0))
    b = render(replace(scene, style="hatched", style_phase=1))
    assert not np.array_equal(a, b)  # two valid ground truths for one source frame and caption


def test_sample_edit_covers_at_least_seven_task_categories():
    rng = np.random.default_rng(0)
    tasks = {sample_edit(sample_scene(rng), rng).task for _ in range(200)}
    assert len(tasks) >= 7


@pytest.mark.parametrize("kind", list(EDIT_KINDS))
def test_redrawn_free_choices_keep_everything_the_source_and_caption_state(kind):
    """A perfect editor's other results: same caption, same source, only the unstated choices move."""
    for index, edit in enumerate(heldout_edits(40)):
        if edit.kind != kind:
            continue
        redrawn = redraw_free_choices(edit, np.random.default_rng(index))
        assert caption(redrawn) == edit.target_caption
        if kind == "add":
            *others, new = redrawn.shapes
            assert tuple(others) == edit.target.shapes[:-1] and new != edit.target.shapes[-1]
            truth = edit.target.shapes[-1]
            assert (new.kind, new.colour, new.size, new.outline) == (
                truth.kind,
                truth.colour,
                truth.size,
                truth.outline,
            )
            assert np.array_equal(render(replace(redrawn, shapes=tuple(others))), render(edit.source))
        elif kind == "background" and edit.target.background.kind != "plain":
            assert replace(redrawn, background=edit.target.background) == edit.target
            assert (redrawn.background.shift_u, redrawn.background.shift_v) != (
                edit.target.background.shift_u,
                edit.target.background.shift_v,
            )
        elif kind == "style" and edit.target.style == "hatched":
            assert replace(redrawn, style_phase=edit.target.style_phase) == edit.target
        else:
            assert redrawn == edit.target  # nothing left open


@pytest.mark.parametrize("seed", range(4))
def test_object_mask_is_exactly_the_pixels_the_shapes_cover(seed):
    """The mask the backbone's loss weights (`object_loss_weight`) is where the drawn frames
    differ from the background alone, zoomed scenes and chosen frames included."""
    from imvideoedit.world.render import object_mask

    rng = np.random.default_rng(seed)
    scene = sample_scene(rng)
    if seed % 2:
        scene = apply_edit(scene, "zoom", rng).target
    drawn = np.any(render(scene) != render(replace(scene, shapes=())), axis=-1)  # (T, H, W)
    mask = object_mask(scene)
    assert mask.shape == (scene.frames, scene.size, scene.size) and mask.any()
    assert np.array_equal(mask, drawn)
    assert np.array_equal(object_mask(scene, [5, 2]), mask[[5, 2]])
