"""Stage 6, export: the accepted pairs as a training dataset folder.

A pair is accepted when a reviewer accepted it, or, with no reviewer decision, when the judge's
three scores all reach `filter.threshold`. The folder is the format `imvideoedit.data` reads
and `imvideoedit data check` validates:

    <export dir>/metadata.jsonl       one row per pair: id, source, target, prompt (the edited
                                      prompt), instruction, task, source_prompt
    <export dir>/images/<id>_source.png, <id>_target.png
    <export dir>/stats.json           counts and acceptance rates per stage and per task
    <export dir>/task_mix.png         the task mix as a bar chart

Images are copied (each atomically; a copy already there with the same size and time is kept), then the
metadata file is written atomically, so a kill at any point leaves the previous metadata
intact and a re-run completes the copy. Images of pairs no longer accepted are removed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from imvideoedit.atomic_write import atomic_path, atomic_write_text
from imvideoedit.data_construction.config import BuildConfig
from imvideoedit.data_construction.item_runner import StageSummary
from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.pair_filter import judge_accepts
from imvideoedit.data_construction.records import OK, latest_by_id, read_records, read_stage
from imvideoedit.data_construction.report import collect_stats, format_stats, write_task_chart
from imvideoedit.data_construction.review import human_decisions
from imvideoedit.errors import UserError

METADATA_KEYS = ("id", "source", "target", "prompt", "instruction", "task", "source_prompt")


def accepted_ids(
    pairs: dict[str, dict[str, Any]], judged: dict[str, bool | None], human: dict[str, bool]
) -> list[str]:
    """Pairs to export, by id: the reviewer's decision first, else the judge's verdict."""
    return sorted(item for item in pairs if human.get(item, judged.get(item)) is True)


def run_export(config: BuildConfig) -> StageSummary:
    layout = BuildLayout(config.output_dir)
    out = config.export_dir
    build_images = layout.images_dir.resolve()
    if (
        out.resolve() == layout.root.resolve()
        or out.resolve() == build_images
        or build_images in out.resolve().parents
    ):
        raise UserError(
            f"export.output_dir {out} would overwrite the build's own files; choose another folder"
        )
    scenes = latest_by_id(read_records(layout.scenes))
    prompts = latest_by_id(read_records(layout.prompts))
    pairs = {
        item: record
        for item, record in read_stage(layout.all_images()).items()
        if record.get("status") == OK
        and prompts.get(item, {}).get("status") == OK
        and (layout.root / record["source"]).is_file()
        and (layout.root / record["target"]).is_file()
    }
    filter_records = latest_by_id(read_records(layout.filter))
    judged = {item: judge_accepts(filter_records.get(item), config.filter.threshold) for item in pairs}
    human = {item: verdict for item, verdict in human_decisions(layout).items() if item in pairs}
    chosen = accepted_ids(pairs, judged, human)

    summary = StageSummary("export", planned=len(pairs))
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    wanted: set[str] = set()
    for item in chosen:
        texts = prompts[item]
        names = {}
        for side in ("source", "target"):
            name = f"{item}_{side}.png"
            copied = _copy_if_changed(layout.root / pairs[item][side], images_dir / name)
            summary.statuses["images copied" if copied else "images kept"] += 1
            names[side] = f"images/{name}"
            wanted.add(name)
        rows.append(
            {
                "id": item,
                "source": names["source"],
                "target": names["target"],
                "prompt": texts["edited_prompt"],
                "instruction": texts["instruction"],
                "task": texts["task"],
                "source_prompt": texts["source_prompt"],
            }
        )
    atomic_write_text(
        out / "metadata.jsonl", "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    )
    for stale in images_dir.glob("*.png"):
        if stale.name not in wanted:
            stale.unlink()
            summary.statuses["stale images removed"] += 1

    stats = collect_stats(scenes, prompts, pairs, judged, human, chosen, config.filter.threshold)
    atomic_write_text(out / "stats.json", json.dumps(stats, indent=2) + "\n")
    write_task_chart(stats, out / "task_mix.png")
    summary.statuses["pairs exported"] = len(rows)
    summary.notes.append(f"wrote {out / 'metadata.jsonl'} ({len(rows)} pairs), stats.json and task_mix.png")
    summary.notes.extend(format_stats(stats).splitlines())
    if config.export.check:
        _check(out)
    return summary


def _copy_if_changed(source: Path, destination: Path) -> bool:
    """Copy `source` to `destination` atomically, unless the copy there has its size and mtime."""
    stat = source.stat()
    if destination.is_file():
        existing = destination.stat()
        if existing.st_size == stat.st_size and existing.st_mtime_ns == stat.st_mtime_ns:
            return False
    with atomic_path(destination) as tmp:
        shutil.copyfile(source, tmp)
        os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return True


def _check(out: Path) -> None:
    """Validate the written folder as `imvideoedit data check` does; refuse a bad export."""
    from imvideoedit.data.check import check_dataset

    report = check_dataset(out).report
    if not report.ok:
        raise UserError(
            f"the exported dataset {out} fails validation: "
            + "; ".join(str(problem) for problem in report.problems[:5])
        )
