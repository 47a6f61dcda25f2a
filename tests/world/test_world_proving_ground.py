"""Short version of the proving ground: the ordinary trainer and pipeline on a world base."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imvideoedit.world.pairs import heldout_edits, write_training_pairs
from imvideoedit.world.proving_ground import (
    AdapterRecipe,
    edit_clips,
    edit_frames_apart,
    negative_caption,
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


class _RecordingPipe:
    """Stands in for the pipeline: records what each call asks for, returns the source."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, video, **kwargs):
        from types import SimpleNamespace

        self.calls.append(kwargs)
        frames = video[: kwargs["clip_spec"].num_frames]
        return SimpleNamespace(frames=[frames])


def test_guided_edits_read_the_source_caption_as_the_negative_prompt():
    edits = heldout_edits(3)
    pipe = _RecordingPipe()
    edit_clips(pipe, edits, steps=2, guidance=1.5)  # negative="source" by default
    assert [c["negative_prompt"] for c in pipe.calls] == [e.source_caption for e in edits]
    assert all(
        c["guidance_scale"] == 1.5 and c["prompt"] == e.target_caption
        for c, e in zip(pipe.calls, edits, strict=True)
    )
    assert all(e.source_caption != e.target_caption for e in edits)  # the two passes differ

    pipe = _RecordingPipe()
    edit_clips(pipe, edits, steps=2, guidance=1.5, negative="empty")
    assert [c["negative_prompt"] for c in pipe.calls] == ["", "", ""]

    pipe = _RecordingPipe()
    edit_frames_apart(pipe, edits[:1], steps=2, guidance=1.5)  # the per-frame baseline: the same policy
    assert [c["negative_prompt"] for c in pipe.calls] == [edits[0].source_caption] * edits[0].source.frames

    with pytest.raises(ValueError, match="negative"):
        negative_caption(edits[0], "target")


def test_the_trainer_reads_a_keep_pairs_file(small_world_base, tmp_path, capfd):
    """`data keep-pairs` output (a metadata file, not a folder) is a training dataset as it is."""
    from imvideoedit.data.keep_pairs import add_keep_pairs

    torch.set_num_threads(1)
    pairs = write_training_pairs(tmp_path / "pairs", count=4, seed=0)
    keep = add_keep_pairs(pairs, share=0.5).path
    adapter = train_world_adapter(
        small_world_base, keep, tmp_path / "run", AdapterRecipe(steps=2, batch_size=4)
    )
    assert adapter.is_file()
    captured = capfd.readouterr()
    assert "training 8 pairs" in captured.out + captured.err  # 4 edit pairs + 4 keep pairs
