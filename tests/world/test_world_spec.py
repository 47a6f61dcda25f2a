"""Reduced worlds (`WorldSpec`): their scenes use only their words, bad ones are refused, a base
trained in one records it, and the prior reads that base in its own world."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from imvideoedit.world.backbone_training import BackboneTrainingConfig, base_world, train_backbone
from imvideoedit.world.caption_response import word_response
from imvideoedit.world.scene import FULL_WORLD, WorldSpec, sample_scene

REPO = Path(__file__).resolve().parents[2]
MINIMAL = WorldSpec(
    shape_colours=("red",),
    sizes=("small",),
    background_kinds=("plain",),
    background_colours=("blue",),
    pan_probability=0.0,
)


def test_the_whole_world_draws_what_it_always_drew():
    """The default spec must not change the scenes (the packaged base, the held-out set and every
    run's resumed stream depend on them). This digest was taken before worlds could be reduced."""
    rng = np.random.default_rng(0)
    scenes = repr([sample_scene(rng, max_shapes=m) for m in (1, 2, 3) * 40])
    assert hashlib.sha1(scenes.encode()).hexdigest() == "222f9863c5955b91f4ccc2a55442b8e1600b4e4c"
    assert FULL_WORLD.is_full and not MINIMAL.is_full


def test_a_reduced_world_draws_only_its_words():
    world = WorldSpec(
        shape_kinds=("circle", "cross"),
        shape_colours=("red", "green"),
        sizes=("large",),
        background_kinds=("stripes",),
        background_colours=("white", "black"),
        pan_probability=0.0,
    )
    rng = np.random.default_rng(1)
    scenes = [sample_scene(rng, max_shapes=2, world=world) for _ in range(200)]
    shapes = [shape for scene in scenes for shape in scene.shapes]
    assert {s.kind for s in shapes} == {"circle", "cross"}
    assert {s.colour for s in shapes} == {"red", "green"} and {s.size for s in shapes} == {"large"}
    assert {len(scene.shapes) for scene in scenes} == {1, 2}
    assert {scene.background.kind for scene in scenes} == {"stripes"}
    assert {(scene.background.colour_a, scene.background.colour_b) for scene in scenes} <= {
        ("white", "black"),
        ("black", "white"),
    }
    assert all(scene.pan == 0.0 for scene in scenes)
    # One plain background colour is enough for a plain-only world.
    minimal = [sample_scene(rng, max_shapes=1, world=MINIMAL) for _ in range(20)]
    assert {(s.background.kind, s.background.colour_a) for s in minimal} == {("plain", "blue")}


@pytest.mark.parametrize(
    ("spec", "max_shapes", "message"),
    [
        ({"shape_colours": ("red", "purple")}, 1, "shape_colours must be distinct values"),
        ({"sizes": ()}, 1, "sizes must be distinct values"),
        ({"shape_kinds": ("circle", "circle")}, 1, "shape_kinds must be distinct values"),
        ({"pan_probability": 1.5}, 1, "pan_probability"),
        ({"shape_colours": ("red", "green")}, 3, "max_shapes must be 1..2"),
        ({"background_colours": ("green", "blue"), "shape_colours": ("green", "blue")}, 1, "leave 1"),
    ],
)
def test_bad_worlds_are_refused(spec, max_shapes, message):
    with pytest.raises(ValueError, match=message):
        WorldSpec(**spec).check_max_shapes(max_shapes)


def test_a_reduced_world_trains_on_plain_scenes_only():
    with pytest.raises(ValueError, match="edited_fraction to 0"):
        BackboneTrainingConfig(world=MINIMAL, max_shapes=1, edited_fraction=0.2)
    with pytest.raises(ValueError, match="max_shapes must be 1..1"):
        BackboneTrainingConfig(world=MINIMAL, edited_fraction=0.0)


def test_a_base_records_its_world_and_the_prior_reads_it_there(tmp_path, small_world_config):
    torch.set_num_threads(1)
    config = BackboneTrainingConfig(
        model=small_world_config,
        batch_size=2,
        max_steps=2,
        warmup_steps=1,
        image_step_every=2,
        max_shapes=1,
        edited_fraction=0.0,
        world=MINIMAL,
    )
    base = train_backbone(config, tmp_path / "run", tmp_path / "base", log=lambda m: None)
    assert base_world(base) == (MINIMAL, 1)
    from imvideoedit.world.backbone_training import base_from_state

    assert base_world(base_from_state(tmp_path / "run" / "state.pt", tmp_path / "from-state")) == (MINIMAL, 1)

    script = REPO / "benchmarks" / "world_prior.py"
    common = [sys.executable, str(script), "--count", "2", "--steps", "2", "--frames", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    own = subprocess.run(common + ["--base", str(base)], capture_output=True, text=True, env=env)
    assert own.returncode == 0, own.stderr[-2000:]
    report = json.loads(own.stdout)
    assert report["world"]["shape_colours"] == ["red"] and report["world"]["max_shapes"] == 1
    assert report["passed"] is None and report["whole_world"] is False  # the bar is set on the whole world
    assert report["objects"] == 2 and report["present_truth"] == 1.0

    whole = subprocess.run(
        common + ["--base", str(base), "--full-world"], capture_output=True, text=True, env=env
    )
    assert whole.returncode == 0, whole.stderr[-2000:]
    report = json.loads(whole.stdout)
    assert report["whole_world"] is True and report["passed"] in (True, False)

    # One flag given: that field changes, the others stay the base's.
    merged = subprocess.run(
        common + ["--base", str(base), "--world-sizes", "large"], capture_output=True, text=True, env=env
    )
    assert merged.returncode == 0, merged.stderr[-2000:]
    world = json.loads(merged.stdout)["world"]
    assert (world["sizes"], world["shape_colours"], world["max_shapes"]) == (["large"], ["red"], 1)

    # The kind decision reads in the world's kinds, and needs two of them.
    two = ["--base", str(base), "--world-shape-kinds", "circle,square", "--kind-decision", "1.0"]
    decided = subprocess.run(common + two, capture_output=True, text=True, env=env)
    assert decided.returncode == 0, decided.stderr[-2000:]
    assert json.loads(decided.stdout)["kind_decision"][0]["sigma"] == 1.0
    one = ["--base", str(base), "--world-shape-kinds", "circle", "--kind-decision", "1.0"]
    refused = subprocess.run(common + one, capture_output=True, text=True, env=env)
    assert refused.returncode != 0 and "two shape kinds or more" in refused.stderr
    assert "Traceback" not in refused.stderr

    # A resumed run must keep its world.
    from imvideoedit.errors import UserError

    other = dataclasses.replace(config, world=dataclasses.replace(MINIMAL, sizes=("large",)), max_steps=3)
    with pytest.raises(UserError, match="started in another world"):
        train_backbone(other, tmp_path / "run", tmp_path / "base-2", log=lambda m: None)


def test_a_base_without_a_training_config_is_read_in_the_whole_world(small_world_base):
    assert base_world(small_world_base) == (FULL_WORLD, 3)


def test_training_script_refuses_a_bad_world_in_one_line():
    script = REPO / "scripts" / "train_world_backbone.py"
    common = [sys.executable, str(script), "--max-steps", "1", "--batch-size", "1", "--warmup-steps", "1"]
    bad = subprocess.run(common + ["--world-sizes", "huge"], capture_output=True, text=True)
    assert bad.returncode == 2 and "sizes must be distinct values" in bad.stderr
    assert "Traceback" not in bad.stderr
    edited = subprocess.run(common + ["--world-sizes", "small"], capture_output=True, text=True)
    assert edited.returncode == 2 and "edited_fraction to 0" in edited.stderr
    both = subprocess.run(
        common + ["--zero-init", "--init-base", "somewhere"], capture_output=True, text=True
    )
    assert both.returncode == 2 and "choose one" in both.stderr


def test_edits_need_every_word_not_the_same_order_or_pan():
    every = WorldSpec(sizes=("large", "small"), pan_probability=0.0)
    assert every.has_every_word and not every.is_full
    BackboneTrainingConfig(world=every, edited_fraction=0.2)  # edits draw only words it has
    assert not MINIMAL.has_every_word


def test_training_batches_come_from_the_run_world():
    from imvideoedit.world.scene import SHAPE_COLOURS
    from imvideoedit.world.training_batches import draw_batch, step_batch

    config = BackboneTrainingConfig(
        world=MINIMAL, max_shapes=1, edited_fraction=0.0, batch_size=6, text_dropout=0.0, per_step_data=True
    )
    for batch in (draw_batch(np.random.default_rng(0), config, 0), step_batch(config, 3)):
        for prompt in batch.prompts:
            assert prompt == f"a small red {prompt.split()[3]} moves over a plain blue background"
            assert not {word for word in prompt.split() if word in SHAPE_COLOURS} - {"red", "blue"}


def test_word_response_swaps_only_the_words_a_world_varies(monkeypatch):
    """A world with one size has no size word to swap: that reading is left out, not NaN."""
    from imvideoedit.world import caption_response

    monkeypatch.setattr(
        caption_response,
        "sample_videos",
        lambda pipe, scenes, **kw: [np.zeros((1, 32, 32, 3), np.uint8) for _ in scenes],
    )
    world = WorldSpec(
        sizes=("small",),
        shape_colours=("red", "green"),
        background_kinds=("plain",),
        background_colours=("blue",),
    )
    world.check_max_shapes(1)
    results = {r.attribute: r for r in word_response(None, count=2, steps=1, world=world)}
    assert set(results) == {"kind", "colour"}
    assert results["kind"].ratio == 0.0 and results["colour"].renders > 0
