"""From per-item judge records to the numbers in the paper's tables.

The paper averages per task first (appendix C.2: mean of each dimension and of the total over a
task's items), then across tasks (table 5: dimension means over tasks; table 4.2: task totals,
with Rigid/Non-rigid replacement and Object addition/removal merged as the mean of the two
tasks, and AVG the mean of the ten task totals). With 25 items per task this equals the mean
over items. Missing items are left out of every mean; a task with no scored item has no value,
and a method's cross-task means are then over the tasks that have one (`tasks_with_scores`
says how many, so incomplete rows can be marked).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from imvideoedit.eval.rubric import DIMENSION_SHORTS

TOTAL = "Total"
SCORE_COLUMNS: tuple[str, ...] = (*DIMENSION_SHORTS, TOTAL)

# Table 4.2's columns: label -> the tasks averaged into it (slugs of imvideoedit.data.tasks).
TASK_TOTAL_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Bg. Rep.", ("background_replacement",)),
    ("Cam. Trans.", ("camera_viewpoint",)),
    ("Color/Texture Trans.", ("color_texture",)),
    ("Style Trans.", ("style_transfer",)),
    ("Relight", ("relighting",)),
    ("Local Edit", ("local_attribute",)),
    ("Rigid/Non Rep.", ("rigid_replacement", "non_rigid_replacement")),
    ("Obj. Add./Rem.", ("object_addition", "object_removal")),
)
AVERAGE = "AVG."

# Appendix C.2's task order (tables 8 and 9).
BREAKDOWN_TASK_ORDER: tuple[str, ...] = (
    "background_replacement",
    "camera_viewpoint",
    "color_texture",
    "style_transfer",
    "relighting",
    "local_attribute",
    "non_rigid_replacement",
    "object_addition",
    "object_removal",
    "rigid_replacement",
)


@dataclass(frozen=True)
class TaskScores:
    items: int  # cases of this task in the benchmark
    scored: int  # of which have a valid score
    means: dict[str, float] | None  # SCORE_COLUMNS -> mean over scored items; None if none


@dataclass(frozen=True)
class MethodScores:
    method: str
    per_task: dict[str, TaskScores]  # the benchmark's tasks, in BREAKDOWN_TASK_ORDER

    @property
    def tasks_with_scores(self) -> int:
        return sum(cell.means is not None for cell in self.per_task.values())

    @property
    def complete(self) -> bool:
        return self.tasks_with_scores == len(self.per_task)

    def dimension_means(self) -> dict[str, float] | None:
        """Table 5: each column's mean over tasks (task means weighted equally)."""
        cells = [cell.means for cell in self.per_task.values() if cell.means is not None]
        if not cells:
            return None
        return {column: float(np.mean([cell[column] for cell in cells])) for column in SCORE_COLUMNS}

    def task_totals(self) -> dict[str, float | None]:
        """Table 4.2: merged task columns and AVG. (the mean of the task totals)."""
        row: dict[str, float | None] = {}
        for label, tasks in TASK_TOTAL_GROUPS:
            values = [
                self.per_task[t].means[TOTAL]
                for t in tasks
                if t in self.per_task and self.per_task[t].means is not None
            ]
            row[label] = float(np.mean(values)) if values else None
        means = self.dimension_means()
        row[AVERAGE] = means[TOTAL] if means else None
        return row

    def coverage(self) -> tuple[int, int]:
        """(scored items, items)."""
        return (sum(c.scored for c in self.per_task.values()), sum(c.items for c in self.per_task.values()))


def summarise_judge(method: str, records: Iterable[dict[str, Any]], tasks: Iterable[str]) -> MethodScores:
    """Per-task means of one method's judge records (dicts as written by `judge.py`)."""
    wanted = set(tasks)
    by_task: dict[str, list[dict[str, Any]]] = {task: [] for task in BREAKDOWN_TASK_ORDER if task in wanted}
    for record in records:
        if record["task"] in by_task:
            by_task[record["task"]].append(record)
    per_task: dict[str, TaskScores] = {}
    for task, rows in by_task.items():
        scored = [row for row in rows if row.get("status") == "scored" and row.get("scores")]
        means = None
        if scored:
            means = {
                short: float(np.mean([row["scores"][short] for row in scored])) for short in DIMENSION_SHORTS
            }
            means[TOTAL] = float(np.mean([sum(row["scores"][s] for s in DIMENSION_SHORTS) for row in scored]))
        per_task[task] = TaskScores(items=len(rows), scored=len(scored), means=means)
    return MethodScores(method, per_task)


@dataclass(frozen=True)
class MetricSummary:
    row: str  # method name or "source"
    items: int
    measured: int
    means: dict[str, float | None]  # metric -> mean over measured items (None: no value)
    unavailable: dict[str, str]  # metric -> why it was not computed


def summarise_metrics(row: str, records: list[dict[str, Any]]) -> MetricSummary:
    measured = [r for r in records if r.get("status") == "ok" and r.get("metrics")]
    names: list[str] = []
    for record in measured:
        names += [name for name in record["metrics"] if name not in names]
    means: dict[str, float | None] = {}
    for name in names:
        values = [r["metrics"][name] for r in measured if r["metrics"].get(name) is not None]
        means[name] = float(np.mean(values)) if values else None
    unavailable: dict[str, str] = {}
    for record in records:
        unavailable.update(record.get("unavailable") or {})
    return MetricSummary(row, len(records), len(measured), means, unavailable)
