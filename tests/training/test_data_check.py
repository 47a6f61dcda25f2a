"""`imvideoedit data check`: every bad-input kind is caught and named, without a traceback."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imvideoedit.cli import main
from imvideoedit.data.metadata import read_pair_table
from imvideoedit.data.tasks import TASK_SLUGS, TASKS, canonical_task
from imvideoedit.data.validation import accept_pairs, validate_pairs
from imvideoedit.errors import UserError


def summary_counts(text: str) -> dict[str, int]:
    """'label ....   3' lines of the summary table -> {label: 3}."""
    counts = {}
    for line in text.splitlines():
        match = re.match(r"^(\S.*?)\s{2,}(\d+)$", line)
        if match:
            counts[match.group(1).strip()] = int(match.group(2))
    return counts


def run_check(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["data", "check", *map(str, args)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


@pytest.fixture
def bad_dataset(tmp_path, kit) -> Path:
    """One good pair and one row per bad-input kind, plus images needing normalisation."""
    folder = tmp_path / "bad"
    folder.mkdir()
    good = kit.make_image(0)
    good.save(folder / "good_s.png")
    kit.edit_image(good).save(folder / "good_t.png")

    (folder / "not_an_image.png").write_text("hello, I am text")
    full = folder / "full.png"
    kit.make_image(1, (64, 64)).save(full)
    (folder / "truncated.png").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    kit.make_image(2, (64, 32)).save(folder / "wide.png")

    # Images that are normalised, not rejected.
    Image.fromarray(np.full((32, 32), 128, dtype=np.uint8), mode="L").save(folder / "gray.png")
    Image.new("RGBA", (32, 32), (255, 0, 0, 100)).save(folder / "alpha.png")
    Image.fromarray(np.full((32, 32), 40000, dtype=np.uint16)).save(folder / "sixteen.png")
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(folder / "cmyk.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    Image.new("RGB", (32, 32), (10, 200, 10)).save(folder / "rotated.jpg", exif=exif)
    Image.new("P", (32, 32), 3).save(folder / "palette.png")

    long_prompt = " ".join(["a red square on a blue floor"] * 120)  # ~840 tokens with any tokenizer
    rows = [
        {
            "id": "good",
            "source": "good_s.png",
            "target": "good_t.png",
            "prompt": "a red square",
            "task": "Object Addition",
        },
        {"id": "missing", "source": "nowhere.png", "target": "good_t.png", "prompt": "x"},
        {"id": "unreadable", "source": "not_an_image.png", "target": "good_t.png", "prompt": "x"},
        {"id": "truncated", "source": "truncated.png", "target": "full.png", "prompt": "x"},
        {"id": "mismatch", "source": "good_s.png", "target": "wide.png", "prompt": "x"},
        {"id": "empty", "source": "good_s.png", "target": "good_t.png", "prompt": "   "},
        {"id": "long", "source": "good_s.png", "target": "good_t.png", "prompt": long_prompt},
        {"id": "good", "source": "good_s.png", "target": "good_t.png", "prompt": "a duplicate"},
        {
            "id": "task",
            "source": "good_s.png",
            "target": "good_t.png",
            "prompt": "x",
            "task": "teleportation",
        },
        {"id": "nofield", "target": "good_t.png", "prompt": "x"},
        {"id": "gray", "source": "gray.png", "target": "alpha.png", "instruction": "make it red"},
        {"id": "deep", "source": "sixteen.png", "target": "cmyk.jpg", "prompt": "a cyan square"},
        {"id": "rot", "source": "rotated.jpg", "target": "palette.png", "prompt": "a green square"},
    ]
    lines = [json.dumps(row) for row in rows]
    lines.insert(3, "{not json")
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_every_bad_kind_is_counted_and_listed(bad_dataset, capsys):
    code, out, _ = run_check(capsys, bad_dataset)
    assert code == 1
    counts = summary_counts(out)
    assert counts["malformed metadata rows"] == 1
    assert counts["rows without a source or target"] == 1
    assert counts["missing files"] == 1
    assert counts["unreadable images"] == 1
    assert counts["truncated images"] == 1
    assert counts["source/target size mismatch"] == 1
    assert counts["empty prompts"] == 1
    assert counts["duplicate ids"] == 1
    assert counts["unknown task names"] == 1
    # Without --base, the length is an estimate: a warning, not a rejection.
    assert counts["prompts over 512 tokens"] == 0
    assert counts["warning: prompts that may exceed 512 tokens (estimate)"] == 1
    assert counts["warning: rows with an instruction but no full prompt"] == 1
    for label in ("grayscale", "alpha", "16-bit", "CMYK", "EXIF-rotated", "palette"):
        assert any(label in key and value >= 1 for key, value in counts.items()), label
    # Each bad row is listed with its line and a reason a person can act on.
    assert "line 2 (missing): source: file not found" in out
    assert "(unreadable): source: not an image file" in out
    assert "(truncated): source: image file is truncated" in out
    assert "source is 32x32 but target is 64x32" in out
    assert "duplicate id 'good' (first used on line 1)" in out
    assert "unknown task 'teleportation'" in out
    assert "line 4 (line-4): malformed row: not valid JSON" in out
    assert "rows     14 read, 5 good, 9 bad" in out  # the long prompt only warned about


def test_tokenizer_count_with_base_rejects_long_prompt(bad_dataset, tiny_base, capsys):
    code, out, _ = run_check(capsys, bad_dataset, "--base", tiny_base)
    assert code == 1
    counts = summary_counts(out)
    assert counts["prompts over 512 tokens"] == 1
    assert counts["warning: prompts that may exceed 512 tokens (estimate)"] == 0
    assert re.search(r"\(long\): prompt has \d+ tokens, over the text encoder's 512", out)
    assert "counted with the base's tokenizer" in out


def test_fix_writes_the_good_rows_atomically_and_they_pass(bad_dataset, capsys):
    code, out, _ = run_check(capsys, bad_dataset, "--fix")
    assert code == 0
    cleaned = bad_dataset / "metadata.clean.jsonl"
    assert f"wrote 5 good row(s) to {cleaned}" in out
    rows = [json.loads(line) for line in cleaned.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["good", "long", "gray", "deep", "rot"]
    assert rows[0]["task"] == "object_addition"  # canonicalised
    assert not list(bad_dataset.glob(".metadata.clean.jsonl.*"))  # no temporary left behind
    code, out, _ = run_check(capsys, cleaned)
    assert code == 0 and "5 good, 0 bad" in out


def test_normalised_images_decode_as_upright_rgb(bad_dataset):
    from imvideoedit.data.images import load_rgb

    rotated = load_rgb(bad_dataset / "rotated.jpg")
    assert rotated.image.mode == "RGB" and "exif_rotated" in rotated.normalised
    sixteen = load_rgb(bad_dataset / "sixteen.png")
    assert {"16bit", "grayscale"} <= sixteen.normalised
    assert abs(int(np.asarray(sixteen.image)[0, 0, 0]) - round(40000 / 65535 * 255)) <= 1
    alpha = load_rgb(bad_dataset / "alpha.png")
    red = np.asarray(alpha.image)[0, 0]
    assert red[0] == 255 and 150 < red[1] < 160  # composited over white
    cmyk = load_rgb(bad_dataset / "cmyk.jpg")
    assert "cmyk" in cmyk.normalised and cmyk.image.mode == "RGB"


def test_trainer_validation_refuses_with_list_or_skips(bad_dataset):
    report = validate_pairs(read_pair_table(bad_dataset))
    with pytest.raises(UserError) as error:
        accept_pairs(report, skip_bad=False)
    message = str(error.value)
    assert "9 bad row(s)" in message and "--skip-bad" in message and "line 2 (missing)" in message
    kept = accept_pairs(report, skip_bad=True)
    assert [pair.row.id for pair in kept] == ["good", "long", "gray", "deep", "rot"]


def test_vifeedit_csv_layout(tmp_path, kit, capsys):
    folder = tmp_path / "vife"
    folder.mkdir()
    source = kit.make_image(5)
    source.save(folder / "src.png")
    kit.edit_image(source).save(folder / "edited.png")
    with open(folder / "metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video", "prompt", "vife_edit_video"])
        writer.writerow(["edited.png", "a mirrored pattern, colours swapped", "src.png"])
        writer.writerow(["edited.png", "too", "many", "columns"])
    table = read_pair_table(folder)
    assert table.layout == "vifeedit"
    assert (table.rows[0].source, table.rows[0].target) == ("src.png", "edited.png")
    code, out, _ = run_check(capsys, folder, "--fix")
    assert "malformed row: has 4 columns, the header has 3" in out
    cleaned = (folder / "metadata.clean.csv").read_text().splitlines()
    assert cleaned == [
        "video,prompt,vife_edit_video",
        'edited.png,"a mirrored pattern, colours swapped",src.png',
    ]


def test_video_file_as_image_uses_first_frame(tmp_path, kit):
    video = kit.shared_pairs / ".." / "videos" / "kitten.mp4"
    if not video.is_file():
        pytest.skip(f"shared test media not found at {video.resolve()}")
    from imvideoedit.data.images import load_rgb

    frame = load_rgb(video)
    assert frame.size == (512, 512) and frame.normalised == {"video_frame"}


def test_missing_dataset_is_one_line_error(tmp_path, capsys):
    code, _, err = run_check(capsys, tmp_path / "nope")
    assert code == 2 and err.count("\n") == 1 and "dataset not found" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_check(capsys, tmp_path / "empty")
    assert code == 2 and "no metadata file" in err and "metadata.jsonl" in err


def test_tasks_are_the_papers_ten_and_aliases_resolve():
    assert len(TASKS) == 10 and len(set(TASK_SLUGS)) == 10
    assert canonical_task("Color/Texture Transformation") == "color_texture"
    assert canonical_task("lighting & relighting reconstruction") == "relighting"
    assert canonical_task("NON-RIGID object replacement") == "non_rigid_replacement"
    assert canonical_task("teleportation") is None


def test_empty_dataset_and_a_fix_with_nothing_good_are_errors(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "metadata.jsonl").write_text("")
    code, _, err = run_check(capsys, tmp_path / "empty")
    assert code == 2 and "lists no pairs" in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metadata.jsonl").write_text(
        '{"source": "a.png", "target": "b.png", "prompt": "x"}\n'
    )
    code, _, err = run_check(capsys, tmp_path / "bad", "--fix")
    assert code == 2 and "every row" in err
    assert not (tmp_path / "bad" / "metadata.clean.jsonl").exists()


def test_an_image_over_the_decompression_limit_is_a_bad_row(tmp_path, monkeypatch):
    from imvideoedit.data.images import ImageProblem, load_rgb

    Image.new("RGB", (64, 64)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4,096 pixels: over twice the limit
    with pytest.raises(ImageProblem, match="image too large") as error:
        load_rgb(tmp_path / "big.png")
    assert error.value.kind == "unreadable"
