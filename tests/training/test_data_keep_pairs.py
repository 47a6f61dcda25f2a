"""`imvideoedit data keep-pairs`: keep rows (source as its own target, source caption) added to a
dataset in a new metadata file, which `data check` and the trainer's reader accept."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from imvideoedit.cli import main
from imvideoedit.data.keep_pairs import KEEP_INSTRUCTION, add_keep_pairs
from imvideoedit.data.metadata import read_pair_table
from imvideoedit.errors import UserError
from imvideoedit.world.pairs import write_training_pairs


@pytest.fixture
def pairs(tmp_path) -> Path:
    """Eight world edit pairs: real PNGs, every row with a source_prompt."""
    return write_training_pairs(tmp_path / "pairs", count=8, seed=0)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_half_keep_pairs_one_per_source_and_the_original_untouched(pairs, capsys):
    original = (pairs / "metadata.jsonl").read_text()
    code = main(["data", "keep-pairs", str(pairs)])
    out = capsys.readouterr().out
    assert code == 0 and "8 of them keep pairs (8 added; share 0.50)" in out
    assert (pairs / "metadata.jsonl").read_text() == original
    rows = _rows(pairs / "metadata.keep.jsonl")
    assert rows[:8] == _rows(pairs / "metadata.jsonl")  # every original row first, as it was
    edits = {row["source"]: row for row in rows[:8]}
    for keep in rows[8:]:
        assert keep["target"] == keep["source"] and keep["source"] in edits
        assert keep["prompt"] == keep["source_prompt"] == edits[keep["source"]]["source_prompt"]
        assert keep["instruction"] == KEEP_INSTRUCTION and "task" not in keep
    assert len({row["id"] for row in rows}) == len(rows)

    assert main(["data", "check", str(pairs / "metadata.keep.jsonl")]) == 0  # every row is good
    assert "Traceback" not in capsys.readouterr().err


def test_a_smaller_share_spreads_the_keep_rows_and_a_csv_keeps_its_format(pairs, tmp_path):
    result = add_keep_pairs(pairs, share=0.2)  # 8 edits -> 2 keep rows: 2 / 10
    assert (result.added, result.keep_rows, result.rows) == (2, 2, 10) and result.share == pytest.approx(0.2)
    sources = [row["source"] for row in _rows(result.path)[8:]]
    assert len(set(sources)) == 2

    out = add_keep_pairs(pairs, share=0.5, out=tmp_path / "keep.csv").path
    with out.open(newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 16 and sum(row["source"] == row["target"] for row in written) == 8
    assert len(read_pair_table(out).rows) == 16


def test_sources_without_a_caption_are_counted_not_invented(pairs, capsys):
    rows = _rows(pairs / "metadata.jsonl")
    for row in rows[:6]:
        del row["source_prompt"]
    (pairs / "metadata.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["data", "keep-pairs", str(pairs)]) == 0
    out = capsys.readouterr().out
    assert (
        "2 added" in out and "warning: only 0.20" in out and "6 source image(s) have no source_prompt" in out
    )


def test_existing_keep_rows_count_toward_the_share(pairs):
    first = add_keep_pairs(pairs, share=0.5)
    again = add_keep_pairs(first.path, share=0.5, out=pairs / "again.jsonl")
    assert again.added == 0 and again.keep_rows == 8 and again.rows == 16


@pytest.mark.parametrize("share", ["0", "1", "1.5", "-0.1"])
def test_a_share_outside_zero_to_one_is_a_one_line_error(pairs, capsys, share):
    assert main(["data", "keep-pairs", str(pairs), "--share", share]) == 2
    err = capsys.readouterr().err
    assert "keep share" in err and "Traceback" not in err
    assert not (pairs / "metadata.keep.jsonl").exists()


def test_refuses_to_overwrite_the_original_or_read_vifeedit_layout(pairs, tmp_path):
    with pytest.raises(UserError, match="overwrite"):
        add_keep_pairs(pairs, out=pairs / "metadata.jsonl")
    vife = tmp_path / "vife.csv"
    vife.write_text("video,prompt,vife_edit_video\na.png,a cat,b.png\n")
    with pytest.raises(UserError, match="ViFeEdit"):
        add_keep_pairs(vife)


def test_unreadable_rows_are_left_out_and_counted(pairs, capsys):
    text = (pairs / "metadata.jsonl").read_text()
    (pairs / "metadata.jsonl").write_text(text + "{not json\n")
    assert main(["data", "keep-pairs", str(pairs)]) == 0
    out = capsys.readouterr().out
    assert "16 rows, 8 of them keep pairs" in out and "left out 1 row(s)" in out
    assert len(_rows(pairs / "metadata.keep.jsonl")) == 16  # every written line parses


def test_keep_file_written_to_another_folder_points_at_the_same_images(pairs, tmp_path):
    from imvideoedit.data.validation import validate_pairs

    result = add_keep_pairs(pairs, out=tmp_path / "elsewhere" / "keep.jsonl")
    rows = _rows(result.path)
    assert all(not Path(row["source"]).is_absolute() and row["source"].startswith("..") for row in rows)
    report = validate_pairs(read_pair_table(result.path))
    assert not report.problems and len(report.good) == result.rows  # every image found from there
