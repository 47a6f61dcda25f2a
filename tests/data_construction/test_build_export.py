"""Stage 6: the training-format export, reviewer precedence, stats and chart, crash safety."""

from __future__ import annotations

import json

import pytest
from build_support import SimulatedCrash
from PIL import Image
from scripted_models import fake_backend_answer

from imvideoedit.cli import main as cli_main
from imvideoedit.data.check import check_dataset
from imvideoedit.data.tasks import TASK_SLUGS
from imvideoedit.data_construction import export as export_module
from imvideoedit.data_construction.export import METADATA_KEYS, run_export
from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.pair_filter import judge_accepts, run_filter
from imvideoedit.data_construction.records import RecordLog, read_records, read_stage
from imvideoedit.errors import UserError
from imvideoedit.vlm import FakeBackend


@pytest.fixture
def filtered(pairs_config):
    config = pairs_config()
    run_filter(config, backend=FakeBackend(fake_backend_answer))
    records = {r["id"]: r for r in read_records(BuildLayout(config.output_dir).filter)}
    passed = sorted(item for item, r in records.items() if judge_accepts(r, 6))
    failed = sorted(item for item, r in records.items() if not judge_accepts(r, 6))
    assert passed and failed
    return config, passed, failed


def _metadata(config) -> list[dict]:
    return [json.loads(line) for line in (config.export_dir / "metadata.jsonl").read_text().splitlines()]


def test_build_export_writes_a_valid_training_dataset(filtered, capsys):
    config, passed, failed = filtered
    summary = run_export(config)
    rows = _metadata(config)
    assert [row["id"] for row in rows] == passed
    prompts = {r["id"]: r for r in read_records(BuildLayout(config.output_dir).prompts)}
    for row in rows:
        assert tuple(row) == METADATA_KEYS
        assert row["prompt"] == prompts[row["id"]]["edited_prompt"] and row["task"] in TASK_SLUGS
        assert (config.export_dir / row["source"]).is_file() and (config.export_dir / row["target"]).is_file()
    assert sorted(p.name for p in (config.export_dir / "images").iterdir()) == sorted(
        f"{item}_{side}.png" for item in passed for side in ("source", "target")
    )
    assert check_dataset(config.export_dir).report.ok
    assert cli_main(["data", "check", str(config.export_dir)]) == 0
    assert "0 bad" in capsys.readouterr().out

    stats = json.loads((config.export_dir / "stats.json").read_text())
    assert stats["stages"]["export"]["pairs"] == len(passed)
    assert stats["stages"]["filter"]["passed"] == len(passed)
    assert stats["stages"]["filter"]["acceptance_rate"] == round(len(passed) / (len(passed) + len(failed)), 4)
    assert sum(task["exported"] for task in stats["tasks"].values()) == len(passed)
    assert stats["stages"]["scenes"]["rejected"] > 0 and 0 < stats["stages"]["scenes"]["acceptance_rate"] < 1
    chart = Image.open(config.export_dir / "task_mix.png")
    assert chart.format == "PNG" and chart.size == (800, 500)
    assert any("Lighting & Relighting Reconstruction" in note for note in summary.notes)
    assert summary.statuses["pairs exported"] == len(passed)


def test_build_reviewer_decisions_take_precedence(filtered):
    config, passed, failed = filtered
    with RecordLog(BuildLayout(config.output_dir).review) as decisions:
        decisions.append({"id": failed[0], "status": "accepted"})  # the judge said no
        decisions.append({"id": passed[0], "status": "rejected"})  # the judge said yes
        decisions.append({"id": passed[1], "status": "rejected"})
        decisions.append({"id": passed[1], "status": "cleared"})  # withdrawn: the judge decides again
    run_export(config)
    exported = [row["id"] for row in _metadata(config)]
    assert failed[0] in exported and passed[0] not in exported and passed[1] in exported
    stats = json.loads((config.export_dir / "stats.json").read_text())
    assert stats["stages"]["review"] == {
        "reviewed": 2,
        "accepted": 1,
        "rejected": 1,
        "overrode_judge": 2,
        "acceptance_rate": 0.5,
    }

    with RecordLog(BuildLayout(config.output_dir).review) as decisions:
        decisions.append({"id": failed[0], "status": "rejected"})
    run_export(config)  # a pair no longer accepted leaves the folder, images included
    assert failed[0] not in [row["id"] for row in _metadata(config)]
    assert not (config.export_dir / "images" / f"{failed[0]}_source.png").exists()
    assert check_dataset(config.export_dir).report.ok


def test_build_export_resumes_after_a_crash_mid_copy(filtered, monkeypatch):
    config, passed, _ = filtered
    real_copy = export_module.shutil.copyfile
    copies = []

    def crash_on_third(source, destination):
        copies.append(source)
        if len(copies) == 3:
            raise SimulatedCrash("killed while copying")
        return real_copy(source, destination)

    monkeypatch.setattr(export_module.shutil, "copyfile", crash_on_third)
    with pytest.raises(SimulatedCrash):
        run_export(config)
    assert not (config.export_dir / "metadata.jsonl").exists(), "no metadata before every image is there"
    assert len(list((config.export_dir / "images").glob("*.png"))) == 2
    monkeypatch.setattr(export_module.shutil, "copyfile", real_copy)
    summary = run_export(config)
    assert summary.statuses["images kept"] == 2 and summary.statuses["images copied"] == 2 * len(passed) - 2
    assert [row["id"] for row in _metadata(config)] == passed
    assert not [p for p in config.export_dir.rglob("*") if ".tmp" in p.name]
    assert check_dataset(config.export_dir).report.ok
    assert run_export(config).statuses["images copied"] == 0  # idempotent


def test_build_export_threshold_applies_to_stored_scores(filtered):
    config, passed, failed = filtered
    config.filter.threshold = 0
    run_export(config)
    assert len(_metadata(config)) == len(passed) + len(failed)


def test_build_export_refuses_to_write_into_the_build(filtered):
    config, _, _ = filtered
    config.export.output_dir = str(config.output_dir)
    with pytest.raises(UserError, match="would overwrite the build's own files"):
        run_export(config)


def test_build_export_never_writes_into_a_folder_it_did_not_make(filtered, tmp_path):
    config, _, _ = filtered
    foreign = tmp_path / "mine"
    (foreign / "images").mkdir(parents=True)
    (foreign / "images" / "keep-me.png").write_bytes(b"mine")
    (foreign / "metadata.jsonl").write_text('{"id": "x"}\n')
    config.export.output_dir = str(foreign)
    with pytest.raises(UserError, match="holds files that no export wrote"):
        run_export(config)
    assert (foreign / "images" / "keep-me.png").read_bytes() == b"mine"
    assert (foreign / "metadata.jsonl").read_text() == '{"id": "x"}\n'

    config.export.output_dir = None  # an export from before exports were marked is still its own
    run_export(config)
    (config.export_dir / export_module.MARKER).unlink()
    run_export(config)
    assert (config.export_dir / export_module.MARKER).is_file()


def test_build_export_validates_before_writing_and_keeps_the_earlier_export(filtered):
    config, passed, _ = filtered
    run_export(config)
    before = {p.name: p.read_bytes() for p in config.export_dir.rglob("*") if p.is_file()}
    record = read_stage(BuildLayout(config.output_dir).all_images())[passed[0]]
    target = BuildLayout(config.output_dir).root / record["target"]
    target.write_bytes(target.read_bytes()[:100])  # the build's image is now truncated
    with pytest.raises(UserError, match="would fail validation, nothing was written.*truncated"):
        run_export(config)
    assert {p.name: p.read_bytes() for p in config.export_dir.rglob("*") if p.is_file()} == before


def test_build_export_names_a_hand_edited_malformed_score(filtered):
    config, passed, _ = filtered
    with RecordLog(BuildLayout(config.output_dir).filter) as log:
        log.append({"id": passed[0], "status": "scored", "scores": {"instruction": "high"}})
    with pytest.raises(UserError, match=f"filter record '{passed[0]}' has malformed scores"):
        run_export(config)
