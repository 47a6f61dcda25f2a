"""World training pairs pass the dataset checks; ground-truth metrics have the known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from imvideoedit.data.metadata import read_pair_table
from imvideoedit.world import render
from imvideoedit.world.edits import EDIT_KINDS
from imvideoedit.world.ground_truth_metrics import edit_metrics, psnr, trajectory_error
from imvideoedit.world.pairs import heldout_edits, write_training_pairs


def test_training_pairs_are_single_frames_in_the_dataset_format(tmp_path):
    folder = write_training_pairs(tmp_path / "pairs", count=12, seed=0)
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and len({row["id"] for row in rows}) == 12
    assert {row["task"] for row in rows} >= {"color_texture", "object_removal", "background_replacement"}
    for row in rows:
        assert (folder / row["source"]).is_file() and (folder / row["target"]).is_file()
        assert row["prompt"] and row["instruction"] and row["prompt"] != row["source_prompt"]
    again = write_training_pairs(tmp_path / "pairs", count=12, seed=0)  # idempotent
    assert (again / "metadata.jsonl").read_text() == (folder / "metadata.jsonl").read_text()


def test_heldout_set_is_fixed_and_covers_every_edit_kind():
    first, second = heldout_edits(30), heldout_edits(30)
    assert [e.instruction for e in first] == [e.instruction for e in second]
    assert {e.kind for e in heldout_edits(len(EDIT_KINDS))} == set(EDIT_KINDS)


def test_ground_truth_scores_perfectly_and_copy_does_not():
    for edit in heldout_edits(len(EDIT_KINDS)):
        truth = render(edit.target)
        perfect = edit_metrics(truth, edit)
        assert perfect["psnr"] > 100 and perfect["trajectory_error"] == 0.0
        assert psnr(render(edit.source), truth) < perfect["psnr"]


def test_trajectory_error_sees_a_frozen_object():
    edit = next(e for e in heldout_edits(40) if e.kind == "recolour")
    truth = render(edit.target)
    frozen = np.repeat(truth[:1], len(truth), axis=0)  # the right look, but no motion
    assert trajectory_error(frozen, edit) > trajectory_error(truth, edit) + 0.5


def test_keep_pairs_copy_their_source_and_caption_and_draw_the_same_sources(tmp_path):
    edits = read_pair_table(write_training_pairs(tmp_path / "edits", count=10))
    kept = read_pair_table(write_training_pairs(tmp_path / "kept", count=10, keep_share=0.3))
    keep_rows = [row for row in kept.rows if row.source == row.target]
    assert len(keep_rows) == 3  # the share, spread over the folder
    for row, edit in zip(kept.rows, edits.rows, strict=True):
        assert row.id == edit.id and row.source_prompt == edit.source_prompt
        source = np.asarray(Image.open(kept.root / row.source))
        assert np.array_equal(source, np.asarray(Image.open(edits.root / edit.source)))  # same scenes
        if row.source == row.target:
            assert row.prompt == edit.source_prompt != edit.prompt and row.task is None
        else:
            assert (row.target, row.prompt, row.task) == (edit.target, edit.prompt, edit.task)
    all_kept = read_pair_table(write_training_pairs(tmp_path / "all", count=4, keep_share=1.0))
    assert all(row.source == row.target for row in all_kept.rows)
    with pytest.raises(ValueError, match="keep_share"):
        write_training_pairs(tmp_path / "bad", count=2, keep_share=1.5)
