"""Short version of the proving ground: the ordinary trainer and pipeline on a world base."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imvideoedit.world.base_model import WorldModelConfig, build_world_components, save_world_base
from imvideoedit.world.pairs import heldout_edits, write_training_pairs
from imvideoedit.world.proving_ground import (
    AdapterRecipe,
    edit_clips,
    edit_frames_apart,
    score,
    train_world_adapter,
)

SMALL = WorldModelConfig(
    dim_heads=2, head_dim=16, num_layers=2, ffn_dim=64, text_dim=32, text_layers=1, text_heads=2, text_ffn=32
)


@pytest.fixture(scope="module")
def world_base(tmp_path_factory):
    components = build_world_components(SMALL, seed=0)
    return save_world_base(components, tmp_path_factory.mktemp("world") / "base", {"command": "test"})


def test_adapter_trains_on_single_frames_and_edits_whole_clips(world_base, tmp_path):
    torch.set_num_threads(1)
    pairs = write_training_pairs(tmp_path / "pairs", count=8, seed=0)
    adapter = train_world_adapter(world_base, pairs, tmp_path / "run", AdapterRecipe(steps=3, batch_size=4))
    assert adapter.is_file()

    from imvideoedit.pipeline import ImVideoEditPipeline

    pipe = ImVideoEditPipeline.from_pretrained(str(world_base), adapter=str(adapter))
    pipe.set_progress_bar_config(disable=True)
    edits = heldout_edits(2)
    clips = edit_clips(pipe, edits, steps=2)
    apart = edit_frames_apart(pipe, edits, steps=2)
    for edit, clip, frames in zip(edits, clips, apart, strict=True):
        assert clip.shape == frames.shape == (edit.source.frames, 32, 32, 3)
        assert clip.dtype == np.uint8
    assert np.array_equal(edit_clips(pipe, edits[:1], steps=2)[0], clips[0])  # seeded
    table = score(edits, clips)
    assert set(table) == {"all", *(e.kind for e in edits)}
    assert np.isfinite(table["all"]["psnr"]) and table["all"]["flicker_truth"] >= 0
