"""Reports in the paper's layouts, from the judge's and the metrics' result files.

Reads `OUT/judge/<method>.jsonl` and `OUT/metrics/<row>.jsonl` (as `judge.py` and
`metrics_runner.py` write them) and writes `OUT/report/`:

    report.md            every table below, with coverage and the judge's prompt version
    coverage.csv         scored items per method
    task_totals.csv      table 4.2's layout: task totals (merged columns) and AVG.
    dimensions.csv       table 5's layout: IA, TC, VF, AA and Total, averaged over tasks
    per_task.csv         appendix C.2's layout: every task x method x dimension
    metrics.csv          objective metrics and VBench dimensions, the source videos included
    task_totals.png      a bar chart of task totals per method

Comparison mode: several methods side by side, plus the paper's published numbers as rows
whose `Source` column says "published" (`published.py`). Measured rows say "measured".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imvideoedit.atomic_write import atomic_path, atomic_write_text
from imvideoedit.data.tasks import TASKS
from imvideoedit.errors import UserError
from imvideoedit.eval import published as paper
from imvideoedit.eval.aggregate import (
    AVERAGE,
    BREAKDOWN_TASK_ORDER,
    SCORE_COLUMNS,
    TASK_TOTAL_GROUPS,
    MethodScores,
    MetricSummary,
    summarise_judge,
    summarise_metrics,
)
from imvideoedit.eval.jsonl import read_jsonl
from imvideoedit.eval.result_cache import FileDigests
from imvideoedit.eval.spec import BenchmarkCase
from imvideoedit.eval.tables import Table
from imvideoedit.eval.vbench_dimensions import VBENCH_DIMENSIONS

REPORT_TABLES = ("coverage", "task_totals", "dimensions", "per_task", "metrics", "vbench_published")
MEASURED = "measured"
PUBLISHED = "published"
TASK_TITLES = {task.slug: task.title for task in TASKS}
OBJECTIVE_COLUMNS = (
    "warp_error",
    "flicker",
    "dynamic_degree_farneback",
    "motion_fidelity_epe",
    "structure_ssim",
)
METRIC_DECIMALS = {
    "warp_error": 4,
    "flicker": 4,
    "dynamic_degree_farneback": 3,
    "motion_fidelity_epe": 3,
    "structure_ssim": 3,
    **{name: 3 for name in VBENCH_DIMENSIONS},
}


@dataclass(frozen=True)
class ReportFiles:
    directory: Path
    markdown: Path
    tables: dict[str, Table]


def load_judge_records(
    out_dir: Path, method: str, cases: list[BenchmarkCase], digests: FileDigests | None = None
) -> list[dict[str, Any]]:
    """The method's records for the benchmark's cases; a case never judged counts as missing,
    and so does one judged against another source video or instruction than the spec's now."""
    path = out_dir / "judge" / f"{method}.jsonl"
    return _records_for_cases(read_jsonl(path), path, method, cases, digests or FileDigests(), "scores")


def load_metric_records(
    out_dir: Path, row: str, cases: list[BenchmarkCase], digests: FileDigests | None = None
) -> list[dict[str, Any]]:
    """A metrics row's records for the benchmark's cases, missing and stale ones marked as in
    `load_judge_records`."""
    path = out_dir / "metrics" / f"{row}.jsonl"
    return _records_for_cases(read_jsonl(path), path, row, cases, digests or FileDigests(), "metrics")


def _records_for_cases(
    records: list[dict[str, Any]],
    path: Path,
    method: str,
    cases: list[BenchmarkCase],
    digests: FileDigests,
    result_key: str,
) -> list[dict[str, Any]]:
    by_id = {row.get("case_id"): row for row in records}
    rows = []
    for case in cases:
        row = by_id.get(case.id)
        failure = f"not in {path.name}" if row is None else _stale(row, case, digests)
        if failure is not None:
            row = {
                **(row or {}),
                "case_id": case.id,
                "method": method,
                "status": "missing",
                result_key: None,
                "failure": failure,
            }
        rows.append({**row, "task": case.task})
    return rows


def _stale(record: dict[str, Any], case: BenchmarkCase, digests: FileDigests) -> str | None:
    """Why a record no longer describes its case (another instruction or source video), or None."""
    if record.get("instruction") is not None and record["instruction"] != case.instruction:
        return "stale: judged with another instruction than the spec's; run it again"
    recorded = record.get("source_sha256")
    if recorded and case.source.is_file() and digests(case.source) != recorded:
        return "stale: measured against another source video than the spec's; run it again"
    return None


def judged_methods(out_dir: Path) -> list[str]:
    folder = out_dir / "judge"
    return sorted(path.stem for path in folder.glob("*.jsonl")) if folder.is_dir() else []


def build_report(
    cases: list[BenchmarkCase],
    out_dir: str | Path,
    *,
    methods: list[str] | None = None,
    published: list[str] | None = None,
) -> ReportFiles:
    """Write `out_dir/report/` for `methods` (default: every method judged or measured)."""
    out_dir = Path(out_dir)
    published = paper.resolve_published(published or [])
    judged = judged_methods(out_dir)
    digests = FileDigests()
    measured_rows = {
        name: load_metric_records(out_dir, name, cases, digests) for name in _metric_row_names(out_dir)
    }
    if methods is None:
        methods = sorted(set(judged) | (set(measured_rows) - {"source"}))
    unknown = [name for name in methods if name not in judged and name not in measured_rows]
    if unknown:
        raise UserError(
            f"no judge or metrics results for {', '.join(unknown)} under {out_dir} "
            f"(found: {', '.join(sorted(set(judged) | set(measured_rows) - {'source'})) or 'none'})"
        )
    if not methods and not published:
        raise UserError(
            f"nothing to report: no judge or metrics results under {out_dir} and no --published rows"
        )
    tasks = [task for task in BREAKDOWN_TASK_ORDER if any(case.task == task for case in cases)]

    scores: list[MethodScores] = []
    prompt_versions: dict[str, set[str]] = {}
    for method in methods:
        if method not in judged:
            continue
        records = load_judge_records(out_dir, method, cases, digests)
        scores.append(summarise_judge(method, records, tasks))
        prompt_versions[method] = {r["prompt_version"] for r in records if r.get("prompt_version")}

    tables: dict[str, Table] = {}
    if scores or published:
        tables["coverage"] = coverage_table(scores)
        tables["task_totals"] = task_totals_table(scores, published)
        tables["dimensions"] = dimensions_table(scores, published)
        tables["per_task"] = per_task_table(scores, published, tasks)
    metric_summaries = [
        summarise_metrics(name, measured_rows[name]) for name in ["source", *methods] if name in measured_rows
    ]
    if metric_summaries:
        tables["metrics"] = metrics_table(metric_summaries)
    if published:
        tables["vbench_published"] = vbench_published_table(published)

    report_dir = out_dir / "report"
    for name, table in tables.items():
        atomic_write_text(report_dir / f"{name}.csv", table.to_csv())
    chart = None
    if scores or published:
        chart = report_dir / "task_totals.png"
        write_task_chart(chart, scores, published, tasks)
    for name in REPORT_TABLES:  # an earlier report's tables that this one has not: they would contradict it
        if name not in tables:
            (report_dir / f"{name}.csv").unlink(missing_ok=True)
    if chart is None:
        (report_dir / "task_totals.png").unlink(missing_ok=True)
    markdown = report_dir / "report.md"
    atomic_write_text(markdown, _markdown(cases, tables, prompt_versions, out_dir, chart))
    return ReportFiles(report_dir, markdown, tables)


def coverage_table(scores: list[MethodScores]) -> Table:
    table = Table(
        "Judge coverage (missing items are excluded from every mean)",
        ["Method", "Items", "Scored", "Missing", "Coverage"],
        decimals={"Coverage": 1},
    )
    for method in scores:
        scored, items = method.coverage()
        table.add(
            [
                method.method,
                items,
                scored,
                items - scored,
                f"{100.0 * scored / items:.1f}%" if items else None,
            ]
        )
    return table


def task_totals_table(scores: list[MethodScores], published: list[str]) -> Table:
    labels = [label for label, _ in TASK_TOTAL_GROUPS] + [AVERAGE]
    table = Table(
        "Task totals (layout of the paper's table 4.2; 0-100)",
        ["Source", "Method", *labels, "Tasks"],
        decimals={**{label: 1 for label in labels}, AVERAGE: 2},
    )
    for method in scores:
        row = method.task_totals()
        table.add([MEASURED, method.method, *(row[label] for label in labels), _tasks(method)])
    printed = paper.task_totals()
    for name in published:
        table.add([PUBLISHED, name, *(printed[name][label] for label in labels), None])
    table.notes.append(
        "AVG. is the mean of the task totals. Rigid/Non Rep. and Obj. Add./Rem. are the mean of "
        "their two tasks."
    )
    _incomplete_note(table, scores)
    if published:
        table.notes.append(
            "Published rows: the paper's table 4.2, with its Rigid/Non Rep. and Obj. Add./Rem. "
            "values placed under the columns appendix C shows they belong to (they are swapped "
            "in the printed table)."
        )
    return table


def dimensions_table(scores: list[MethodScores], published: list[str]) -> Table:
    table = Table(
        "Dimensions averaged over tasks (layout of the paper's table 5)",
        ["Source", "Method", *SCORE_COLUMNS, "Tasks"],
        decimals={c: 2 for c in SCORE_COLUMNS},
    )
    for method in scores:
        means = method.dimension_means() or {}
        table.add([MEASURED, method.method, *(means.get(c) for c in SCORE_COLUMNS), _tasks(method)])
    for name in published:
        table.add([PUBLISHED, name, *paper.DIMENSION_MEANS[name], None])
    table.notes.append(
        "IA: Instruction Adherence /30, TC: Temporal Consistency /30, VF: Visual Fidelity /25, "
        "AA: Artifact Absence /15, Total /100."
    )
    _incomplete_note(table, scores)
    return table


def per_task_table(scores: list[MethodScores], published: list[str], tasks: list[str]) -> Table:
    table = Table(
        "Per-task breakdown (layout of the paper's appendix C.2, tables 8 and 9)",
        ["Task", "Source", "Method", *SCORE_COLUMNS, "Scored"],
        decimals={c: 1 for c in SCORE_COLUMNS},
    )
    for task in tasks:
        for method in scores:
            cell = method.per_task[task]
            means = cell.means or {}
            table.add(
                [
                    TASK_TITLES[task],
                    MEASURED,
                    method.method,
                    *(means.get(c) for c in SCORE_COLUMNS),
                    f"{cell.scored}/{cell.items}",
                ]
            )
        for name in published:
            table.add([TASK_TITLES[task], PUBLISHED, name, *paper.TASK_BREAKDOWN[task][name], None])
    return table


def metrics_table(summaries: list[MetricSummary]) -> Table:
    columns = [*OBJECTIVE_COLUMNS, *VBENCH_DIMENSIONS]
    table = Table(
        "Objective metrics (mean over clips; the source videos for reference)",
        ["Method", "Clips", *columns],
        decimals=METRIC_DECIMALS,
    )
    unavailable: dict[str, str] = {}
    for summary in summaries:
        unavailable.update(summary.unavailable)
        cells = [
            "unavailable" if name in summary.unavailable else summary.means.get(name) for name in columns
        ]
        table.add([summary.row, f"{summary.measured}/{summary.items}", *cells])
    table.notes += [
        "warp_error: flow-warped frame error (0-1, lower is better); flicker: grid-cell luma flicker (0-1, lower "
        "is better); dynamic_degree_farneback: VBench's dynamic-degree rule with OpenCV Farneback flow instead "
        "of RAFT (share of dynamic clips); motion_fidelity_epe: end-point error between the edit's and the "
        "source's flow (px at 256 px, lower is better); structure_ssim: SSIM against the source (1 = same).",
        *(f"{name}: unavailable ({reason})." for name, reason in sorted(unavailable.items())),
    ]
    if any(summary.measured < summary.items for summary in summaries):
        table.notes.append(
            "**Some rows measured fewer clips than the benchmark has (Clips); their means cover other "
            "clips and are not comparable with complete rows.**"
        )
    return table


def vbench_published_table(published: list[str]) -> Table:
    columns = list(paper.VBENCH_COLUMNS)
    table = Table(
        "VBench as published (the paper's table 4.3, VBench's own models)",
        ["Source", "Method", *columns],
        decimals={c: 3 for c in columns},
    )
    for name in published:
        table.add([PUBLISHED, name, *paper.VBENCH[name]])
    table.notes.append(
        "Published with VBench's models (RAFT, AMT-S, MUSIQ, ...); not computed the same way as "
        "the objective metrics above."
    )
    return table


def write_task_chart(path: Path, scores: list[MethodScores], published: list[str], tasks: list[str]) -> None:
    """Grouped bars: one group per task, one bar per method (published rows hatched)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    series: list[tuple[str, list[float], bool]] = []
    for method in scores:
        values = [method.per_task[t].means["Total"] if method.per_task[t].means else np.nan for t in tasks]
        series.append((method.method, values, False))
    for name in published:
        series.append((f"{name} (published)", [paper.TASK_BREAKDOWN[t][name][4] for t in tasks], True))
    width = 0.8 / max(len(series), 1)
    positions = np.arange(len(tasks))
    figure, axis = plt.subplots(figsize=(max(8.0, 1.1 * len(tasks) + 2), 4.8))
    for index, (label, values, is_published) in enumerate(series):
        axis.bar(
            positions + (index - (len(series) - 1) / 2) * width,
            values,
            width,
            label=label,
            hatch="//" if is_published else None,
            edgecolor="black",
            linewidth=0.3,
        )
    axis.set_xticks(positions)
    axis.set_xticklabels([TASK_TITLES[t] for t in tasks], rotation=30, ha="right", fontsize=8)
    axis.set_ylabel("judge total (0-100)")
    axis.set_ylim(0, 100)
    axis.set_title("Task totals per method")
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120)
    plt.close(figure)


def _metric_row_names(out_dir: Path) -> list[str]:
    folder = out_dir / "metrics"
    return sorted(path.stem for path in folder.glob("*.jsonl")) if folder.is_dir() else []


def _tasks(method: MethodScores) -> str:
    return f"{method.tasks_with_scores}/{len(method.per_task)}"


def _incomplete_note(table: Table, scores: list[MethodScores]) -> None:
    table.notes.append(
        "Tasks: benchmark tasks with at least one scored item; a measured row's means cover those tasks only."
    )
    if any(not method.complete for method in scores):
        table.notes.append(
            "**Some methods have tasks without any scored item; their means are not comparable with "
            "complete rows.**"
        )


def _markdown(
    cases: list[BenchmarkCase],
    tables: dict[str, Table],
    prompt_versions: dict[str, set[str]],
    out_dir: Path,
    chart: Path | None,
) -> str:
    lines = [
        "# Evaluation report",
        "",
        f"Benchmark: {len(cases)} cases in {len({c.task for c in cases})} tasks. Results: `{out_dir}`.",
        "",
    ]
    run_file = out_dir / "judge" / "run.json"
    if run_file.is_file():
        run = json.loads(run_file.read_text(encoding="utf-8"))
        judge = run.get("judge", {})
        lines += [
            f"Judge: backend `{judge.get('backend')}`, model `{judge.get('model') or judge.get('model_path')}`, "
            f"prompt `{run.get('prompt_origin')}`.",
            "",
        ]
    versions = sorted({v for vs in prompt_versions.values() for v in vs})
    if versions:
        lines += [f"Judge prompt version(s): {', '.join(f'`{v}`' for v in versions)}.", ""]
        if len(versions) > 1:
            lines += [
                "**Warning:** the scores come from more than one prompt version and are not comparable.",
                "",
            ]
    for table in tables.values():
        lines += [table.to_markdown()]
    if chart is not None:
        lines += [f"![task totals]({chart.name})", ""]
    return "\n".join(lines)
