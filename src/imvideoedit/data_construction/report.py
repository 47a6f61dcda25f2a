"""What the build produced: counts and acceptance rates per stage and per task, and a chart.

Computed from the stage files alone (`collect_stats`), so it can be printed at any point of a
build, and written beside the export as `stats.json` and `task_mix.png`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from imvideoedit.atomic_write import atomic_path
from imvideoedit.data.tasks import TASK_SLUGS, TASKS
from imvideoedit.data_construction.records import ACCEPTED, FAILED, OK, REJECTED


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def collect_stats(
    scenes: dict[str, dict[str, Any]],
    prompts: dict[str, dict[str, Any]],
    pairs: dict[str, dict[str, Any]],
    judged: dict[str, bool | None],
    human: dict[str, bool],
    exported: list[str],
    threshold: int,
) -> dict[str, Any]:
    """Stage and task counts. `pairs`: finished image pairs; `judged`: id -> judge verdict
    (None: no valid scores); `human`: id -> reviewer verdict; `exported`: exported ids."""
    scene_status = Counter(record["status"] for record in scenes.values())
    prompt_status = Counter(record["status"] for record in prompts.values())
    prompts_ok = [item for item, record in prompts.items() if record["status"] == OK]
    scored = [item for item, verdict in judged.items() if verdict is not None]
    passed = [item for item in scored if judged[item]]
    reviewed = list(human)
    overrides = [item for item in reviewed if judged.get(item) is not None and judged[item] != human[item]]
    judged_scenes = scene_status[ACCEPTED] + scene_status[REJECTED] + scene_status[FAILED]
    stages = {
        "scenes": {
            "judged": judged_scenes,
            "accepted": scene_status[ACCEPTED],
            "rejected": scene_status[REJECTED],
            "failed": scene_status[FAILED],
            "acceptance_rate": _rate(scene_status[ACCEPTED], judged_scenes),
        },
        "prompts": {
            "items": len(prompts),
            "written": prompt_status[OK],
            "failed": prompt_status[FAILED],
            "acceptance_rate": _rate(prompt_status[OK], len(prompts)),
        },
        "images": {
            "items": len(prompts_ok),
            "pairs": len(pairs),
            "acceptance_rate": _rate(len(pairs), len(prompts_ok)),
        },
        "filter": {
            "pairs": len(pairs),
            "scored": len(scored),
            "passed": len(passed),
            "failed": sum(1 for verdict in judged.values() if verdict is None),
            "threshold": threshold,
            "acceptance_rate": _rate(len(passed), len(scored)),
        },
        "review": {
            "reviewed": len(reviewed),
            "accepted": sum(human.values()),
            "rejected": len(reviewed) - sum(human.values()),
            "overrode_judge": len(overrides),
            "acceptance_rate": _rate(sum(human.values()), len(reviewed)),
        },
        "export": {
            "pairs": len(exported),
            "acceptance_rate": _rate(len(exported), len(pairs)),
        },
    }
    task_of = {item: record.get("task") for item, record in prompts.items()}
    per_task = {}
    for task in TASKS:
        slug = task.slug
        per_task[slug] = {
            "title": task.title,
            "prompts": sum(1 for item in prompts_ok if task_of[item] == slug),
            "pairs": sum(1 for item in pairs if task_of.get(item) == slug),
            "judge_passed": sum(1 for item in passed if task_of.get(item) == slug),
            "exported": sum(1 for item in exported if task_of.get(item) == slug),
        }
    return {"stages": stages, "tasks": per_task}


def format_stats(stats: dict[str, Any]) -> str:
    """The two tables the export prints: per stage, then per task."""
    lines = [f"{'stage':<10}{'in':>8}{'kept':>8}{'rate':>9}", "-" * 35]
    s = stats["stages"]
    rows = [
        ("scenes", s["scenes"]["judged"], s["scenes"]["accepted"], s["scenes"]["acceptance_rate"]),
        ("prompts", s["prompts"]["items"], s["prompts"]["written"], s["prompts"]["acceptance_rate"]),
        ("images", s["images"]["items"], s["images"]["pairs"], s["images"]["acceptance_rate"]),
        ("filter", s["filter"]["scored"], s["filter"]["passed"], s["filter"]["acceptance_rate"]),
        ("review", s["review"]["reviewed"], s["review"]["accepted"], s["review"]["acceptance_rate"]),
        ("export", s["images"]["pairs"], s["export"]["pairs"], s["export"]["acceptance_rate"]),
    ]
    for name, total, kept, rate in rows:
        lines.append(f"{name:<10}{total:>8}{kept:>8}{_percent(rate):>9}")
    lines += ["", f"{'task':<40}{'pairs':>8}{'passed':>8}{'exported':>10}", "-" * 66]
    for slug in TASK_SLUGS:
        t = stats["tasks"][slug]
        lines.append(f"{t['title']:<40}{t['pairs']:>8}{t['judge_passed']:>8}{t['exported']:>10}")
    return "\n".join(lines)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def write_task_chart(stats: dict[str, Any], path: Path) -> None:
    """A horizontal bar chart of pairs made and pairs exported per task, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    titles = [stats["tasks"][slug]["title"] for slug in TASK_SLUGS][::-1]
    made = [stats["tasks"][slug]["pairs"] for slug in TASK_SLUGS][::-1]
    exported = [stats["tasks"][slug]["exported"] for slug in TASK_SLUGS][::-1]
    figure = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    axes = figure.subplots()
    positions = range(len(titles))
    axes.barh(positions, made, color="#c9d6e8", label="pairs made")
    bars = axes.barh(positions, exported, color="#2f6db5", height=0.5, label="exported")
    axes.bar_label(bars, padding=3, fontsize=8)
    axes.set_yticks(list(positions), titles, fontsize=9)
    axes.set_xlabel("pairs")
    total = sum(exported)
    axes.set_title(f"Task mix of the exported dataset ({total} pairs)")
    axes.legend(loc="lower right")
    axes.set_xlim(0, max([*made, 1]) * 1.15)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
