"""The kind-decision reading: other kind words over noised renders, and which kind comes back."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import torch

from imvideoedit.vae_latents import encode_pixels
from imvideoedit.world.kind_decision import kind_decision, with_other_kinds
from imvideoedit.world.render import render
from imvideoedit.world.scene import SHAPE_KINDS, WorldSpec
from imvideoedit.world.temporal_prior import load_base_pipeline, prior_scenes

ONE_OBJECT = WorldSpec(background_kinds=("plain",), pan_probability=0.0)


def test_other_kinds_change_every_kind_and_nothing_else():
    scene = prior_scenes(6, frames=3)[5]
    others = [with_other_kinds(scene, offset) for offset in range(1, len(SHAPE_KINDS))]
    for index, shape in enumerate(scene.shapes):
        assert sorted([shape.kind] + [other.shapes[index].kind for other in others]) == sorted(SHAPE_KINDS)
        for other in others:
            assert replace(shape, kind=other.shapes[index].kind) == other.shapes[index]
    assert all(other.background == scene.background for other in others)
    # In a world of two kinds, the other kind is the world's other one.
    two = ("square", "circle")
    for shape in with_other_kinds(_as_square(scene), 1, two).shapes:
        assert shape.kind == "circle"


def _as_square(scene):
    return replace(scene, shapes=tuple(replace(s, kind="square") for s in scene.shapes))


def test_a_world_of_one_kind_has_no_decision_to_read():
    import pytest

    with pytest.raises(ValueError, match="two kinds or more"):
        kind_decision(None, prior_scenes(1), strengths=(1.0,), kinds=("circle",))


class _Oracle(torch.nn.Module):
    """A transformer that knows the clean latents: its velocity always points at them."""

    def __init__(self, clean: torch.Tensor) -> None:
        super().__init__()
        self.clean = clean
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the module a device

    @property
    def device(self) -> torch.device:
        return self.anchor.device

    def forward(self, hidden_states, timestep, encoder_hidden_states, return_dict=False):
        sigma = (timestep / 1000.0).view(-1, 1, 1, 1, 1)
        return ((hidden_states - self.clean) / sigma,)


def test_a_base_that_keeps_the_frame_always_draws_the_renders_kind(small_world_base):
    """With a velocity that always leads back to the render, every strength gives the render's
    kind and never the caption's: the noising, the stepping and the decoding agree."""
    torch.set_num_threads(1)
    pipe = load_base_pipeline(small_world_base)
    scenes = prior_scenes(4, frames=1, max_shapes=1, world=ONE_OBJECT)
    pixels = (
        torch.from_numpy(np.stack([render(s) for s in scenes])).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
    )
    oracle = _Oracle(encode_pixels(pipe.vae, pixels))
    stand_in = SimpleNamespace(
        transformer=oracle,
        scheduler=pipe.scheduler,
        vae=pipe.vae,
        tokenizer=pipe.tokenizer,
        encode_prompt=pipe.encode_prompt,
    )
    results = kind_decision(stand_in, scenes, strengths=(0.5, 1.0), steps=6)
    assert [r.strength for r in results] == [0.5, 1.0]
    assert results[1].sigma == 1.0 and 0.0 < results[0].sigma < 1.0
    for result in results:
        assert (result.present, result.render_kind, result.caption_kind) == (1.0, 1.0, 0.0)


def test_kind_decision_runs_on_a_small_base(small_world_base):
    torch.set_num_threads(1)
    scenes = prior_scenes(2, frames=1)
    results = kind_decision(load_base_pipeline(small_world_base), scenes, strengths=(0.3, 1.0), steps=3)
    assert results[0].sigma < results[1].sigma == 1.0
    assert all(0.0 <= r.render_kind <= r.present and 0.0 <= r.caption_kind <= r.present for r in results)


def test_the_prior_script_refuses_bad_strengths_and_worlds_in_one_line():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "world_prior.py"
    for flags, message in (
        (["--kind-decision", "0,2"], "strengths must be in (0, 1]"),
        (["--kind-decision", "half"], "not comma-separated numbers"),
        (["--max-shapes", "0"], "max_shapes must be 1..7"),
        (["--world-sizes", "huge"], "sizes must be distinct values"),
        (["--full-world", "--max-shapes", "1"], "--full-world reads in the whole world"),
    ):
        done = subprocess.run([sys.executable, str(script), *flags], capture_output=True, text=True)
        assert done.returncode != 0 and message in done.stderr.strip().splitlines()[-1], done.stderr[-500:]
        assert "Traceback" not in done.stderr
