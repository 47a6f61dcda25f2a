"""Reports from fixture scores against hand-computed totals, and the published numbers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from imvideoedit.errors import UserError
from imvideoedit.eval import published as paper
from imvideoedit.eval.aggregate import BREAKDOWN_TASK_ORDER, summarise_judge
from imvideoedit.eval.report import build_report
from imvideoedit.eval.spec import load_spec

CASES = [
    ("b1", "background_replacement"),
    ("b2", "background_replacement"),
    ("a1", "object_addition"),
    ("r1", "object_removal"),
]
SCORES = {  # (IA, TC, VF, AA) or None for a missing item
    "alpha": {"b1": (10, 20, 15, 10), "b2": (20, 30, 25, 15), "a1": (5, 10, 5, 5), "r1": None},
    "beta": {"b1": (30, 30, 25, 15), "b2": None, "a1": (0, 0, 0, 0), "r1": (12, 18, 14, 6)},
}


def write_fixture(root: Path) -> Path:
    spec = root / "spec.jsonl"
    spec.write_text(
        "".join(
            json.dumps({"id": i, "source": f"{i}.mp4", "instruction": "edit", "prompt": "p", "task": t})
            + "\n"
            for i, t in CASES
        )
    )
    for method, scores in SCORES.items():
        lines = []
        for case_id, task in CASES:
            value = scores[case_id]
            record = {
                "case_id": case_id,
                "method": method,
                "task": task,
                "prompt_version": "sha256:abc",
                "status": "scored" if value else "missing",
                "scores": dict(zip(("IA", "TC", "VF", "AA"), value, strict=True)) if value else None,
            }
            lines.append(json.dumps(record))
        (root / "out" / "judge").mkdir(parents=True, exist_ok=True)
        (root / "out" / "judge" / f"{method}.jsonl").write_text("\n".join(lines) + "\n")
    metrics = {"source": [0.01, 0.02], "alpha": [0.03, None]}
    for row, values in metrics.items():
        records = []
        for (case_id, task), value in zip(CASES[:2], values, strict=True):
            records.append(
                {
                    "case_id": case_id,
                    "method": row,
                    "task": task,
                    "status": "ok" if value is not None else "missing",
                    "metrics": {"warp_error": value, "structure_ssim": 1.0 if row == "source" else 0.5}
                    if value is not None
                    else None,
                    "unavailable": {"subject_consistency": "needs DINO"},
                }
            )
        (root / "out" / "metrics").mkdir(parents=True, exist_ok=True)
        (root / "out" / "metrics" / f"{row}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return spec


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_summaries_match_hand_computed_means(tmp_path):
    spec = write_fixture(tmp_path)
    cases = load_spec(spec, check_sources=False)
    records = [json.loads(line) for line in (tmp_path / "out/judge/alpha.jsonl").read_text().splitlines()]
    alpha = summarise_judge("alpha", records, {c.task for c in cases})
    assert list(alpha.per_task) == ["background_replacement", "object_addition", "object_removal"]
    assert alpha.per_task["background_replacement"].means == {
        "IA": 15,
        "TC": 25,
        "VF": 20,
        "AA": 12.5,
        "Total": 72.5,
    }
    assert alpha.per_task["object_removal"].means is None and alpha.per_task["object_removal"].items == 1
    assert alpha.dimension_means() == {"IA": 10, "TC": 17.5, "VF": 12.5, "AA": 8.75, "Total": 48.75}
    assert alpha.task_totals()["Bg. Rep."] == 72.5 and alpha.task_totals()["Obj. Add./Rem."] == 25
    assert alpha.task_totals()["AVG."] == 48.75 and alpha.task_totals()["Relight"] is None
    assert alpha.coverage() == (3, 4) and not alpha.complete


def test_report_tables_csv_markdown_and_chart(tmp_path):
    spec = write_fixture(tmp_path)
    files = build_report(
        load_spec(spec, check_sources=False), tmp_path / "out", published=["ImVideoEdit (1.3B)"]
    )
    report = tmp_path / "out" / "report"
    totals = {row["Method"]: row for row in csv_rows(report / "task_totals.csv")}
    assert float(totals["beta"]["Bg. Rep."]) == 100.0
    assert float(totals["beta"]["Obj. Add./Rem."]) == 25.0  # mean of 0 (addition) and 50 (removal)
    assert float(totals["beta"]["AVG."]) == 50.0
    assert totals["beta"]["Relight"] == ""
    assert float(totals["alpha"]["AVG."]) == 48.75 and totals["alpha"]["Tasks"] == "2/3"  # removal unscored
    assert totals["beta"]["Tasks"] == "3/3"
    assert totals["beta"]["Source"] == "measured" and totals["ImVideoEdit (1.3B)"]["Source"] == "published"
    assert float(totals["ImVideoEdit (1.3B)"]["Obj. Add./Rem."]) == 67.5  # (53.5 + 81.5) / 2, appendix C
    assert float(totals["ImVideoEdit (1.3B)"]["Rigid/Non Rep."]) == 62.4
    dims = {row["Method"]: row for row in csv_rows(report / "dimensions.csv")}
    assert [float(dims["beta"][c]) for c in ("IA", "TC", "VF", "AA", "Total")] == [14, 16, 13, 7, 50]
    assert float(dims["ImVideoEdit (1.3B)"]["Total"]) == 65.24
    per_task = csv_rows(report / "per_task.csv")
    removal = [r for r in per_task if r["Task"] == "Object Removal"]
    assert [(r["Method"], r["Total"], r["Scored"]) for r in removal] == [
        ("alpha", "", "0/1"),
        ("beta", "50.0", "1/1"),
        ("ImVideoEdit (1.3B)", "81.5", ""),
    ]
    coverage = {r["Method"]: r for r in csv_rows(report / "coverage.csv")}
    assert coverage["alpha"]["Scored"] == "3" and coverage["alpha"]["Coverage"] == "75.0%"
    metrics = {r["Method"]: r for r in csv_rows(report / "metrics.csv")}
    assert float(metrics["source"]["warp_error"]) == pytest.approx(0.015)
    assert metrics["alpha"]["Clips"] == "1/4" and float(metrics["alpha"]["structure_ssim"]) == 0.5
    assert metrics["alpha"]["subject_consistency"] == "unavailable"
    markdown = files.markdown.read_text()
    assert "| measured | beta | 100.0 |" in markdown and "not comparable" in markdown
    assert "| published | ImVideoEdit (1.3B) | 16.21 | 21.93 | 16.32 | 10.78 | 65.24 | — |" in markdown
    assert "sha256:abc" in markdown and "subject_consistency: unavailable (needs DINO)" in markdown
    with Image.open(report / "task_totals.png") as chart:
        assert chart.format == "PNG" and chart.size[0] > 400


def test_report_selects_methods_and_refuses_nothing_to_report(tmp_path):
    spec = write_fixture(tmp_path)
    cases = load_spec(spec, check_sources=False)
    files = build_report(cases, tmp_path / "out", methods=["beta"])
    assert [r["Method"] for r in csv_rows(files.directory / "task_totals.csv")] == ["beta"]
    with pytest.raises(UserError, match="nothing to report"):
        build_report(cases, tmp_path / "empty")
    with pytest.raises(UserError, match="unknown published method"):
        paper.resolve_published(["sora"])
    assert paper.resolve_published(["all"]) == list(paper.PUBLISHED_METHODS)
    assert paper.resolve_published(["kiwi-edit", "Kiwi-Edit (5B)"]) == ["Kiwi-Edit (5B)"]


def test_published_tables_agree_with_the_appendix():
    """The printed table 4.2 swaps two columns; every other cell equals appendix C's value."""
    appendix = paper.TASK_BREAKDOWN
    assert set(appendix) == set(BREAKDOWN_TASK_ORDER)
    single = {
        "Bg. Rep.": "background_replacement",
        "Cam. Trans.": "camera_viewpoint",
        "Color/Texture Trans.": "color_texture",
        "Style Trans.": "style_transfer",
        "Relight": "relighting",
        "Local Edit": "local_attribute",
    }
    printed = paper.task_totals_printed()
    placed = paper.task_totals()
    for method in paper.PUBLISHED_METHODS:
        for label, task in single.items():
            assert placed[method][label] == appendix[task][method][4]
        rigid = (appendix["rigid_replacement"][method][4] + appendix["non_rigid_replacement"][method][4]) / 2
        objects = (appendix["object_addition"][method][4] + appendix["object_removal"][method][4]) / 2
        assert printed[method][7] == pytest.approx(rigid, abs=0.051)  # printed under "Obj. Add./Rem."
        assert printed[method][6] == pytest.approx(objects, abs=0.051)  # printed under "Rigid/Non Rep."
        assert placed[method]["Rigid/Non Rep."] == pytest.approx(rigid, abs=0.051)
        assert placed[method]["AVG."] == paper.DIMENSION_MEANS[method][4]
        for task in appendix:  # appendix totals are the sums of their dimensions, up to rounding
            assert sum(appendix[task][method][:4]) == pytest.approx(appendix[task][method][4], abs=0.21)
    ours = [appendix[t]["ImVideoEdit (1.3B)"] for t in appendix]
    for index, value in enumerate(paper.DIMENSION_MEANS["ImVideoEdit (1.3B)"]):
        assert sum(row[index] for row in ours) / 10 == pytest.approx(value, abs=0.02)
    assert paper.ABLATION_DIMENSION_MEANS["ImVideoEdit (1.3B)"] == paper.DIMENSION_MEANS["ImVideoEdit (1.3B)"]


def test_report_leaves_out_stale_results_and_files_and_refuses_unknown_methods(tmp_path):
    spec = write_fixture(tmp_path)
    (tmp_path / "b1.mp4").write_bytes(b"the source now")  # b1's results were made from another source
    records = [
        json.loads(line) for line in (tmp_path / "out" / "judge" / "beta.jsonl").read_text().splitlines()
    ]
    for record in records:
        record["source_sha256"] = "0" * 64 if record["case_id"] == "b1" else None
        if record["case_id"] == "a1":
            record["instruction"] = "an older instruction"
    (tmp_path / "out" / "judge" / "beta.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    build_report(load_spec(spec, check_sources=False), tmp_path / "out", published=["all"])
    coverage = {row["Method"]: row for row in csv_rows(tmp_path / "out" / "report" / "coverage.csv")}
    assert coverage["beta"]["Scored"] == "1"  # b1 (stale source) and a1 (stale instruction) left out
    assert (tmp_path / "out" / "report" / "vbench_published.csv").is_file()

    build_report(load_spec(spec, check_sources=False), tmp_path / "out", methods=["alpha"])
    assert not (tmp_path / "out" / "report" / "vbench_published.csv").exists()  # not this report's
    with pytest.raises(UserError, match="no judge or metrics results for nosuch"):
        build_report(load_spec(spec, check_sources=False), tmp_path / "out", methods=["nosuch"])
