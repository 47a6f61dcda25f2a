"""Short version of the proving ground: the ordinary trainer and pipeline on a world base."""

from __future__ import annotations

import numpy as np
import torch

from imvideoedit.world.pairs import heldout_edits, write_training_pairs
from imvideoedit.world.proving_ground import (
    AdapterRecipe,
    edit_clips,
    edit_frames_apart,
    score,
    train_world_adapter,
)


def test_adapter_trains_on_single_frames_and_edits_whole_clips(small_world_base, tmp_path):
    torch.set_num_threads(1)
    pairs = write_training_pairs(tmp_path / "pairs", count=8, seed=0)
    adapter = train_world_adapter(
        small_world_base, pairs, tmp_path / "run", AdapterRecipe(steps=3, batch_size=4)
    )
    assert adapter.is_file()
    # Run again into the same folder (as after a kill): it resumes from the checkpoint instead
    # of refusing the folder, and a finished run gives back the same adapter.
    from safetensors.torch import load_file

    first = load_file(str(adapter))
    again = train_world_adapter(
        small_world_base, pairs, tmp_path / "run", AdapterRecipe(steps=3, batch_size=4)
    )
    assert again == adapter
    second = load_file(str(again))
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)

    from imvideoedit.pipeline import ImVideoEditPipeline

    pipe = ImVideoEditPipeline.from_pretrained(str(small_world_base), adapter=str(adapter))
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
