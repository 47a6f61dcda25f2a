"""Stage 6, export: the accepted pairs as a training dataset folder.

A pair is accepted when a reviewer accepted it, or, with no reviewer decision, when the judge's
three scores all reach `filter.threshold`. The folder is the format `imvideoedit.data` reads
and `imvideoedit data check` validates:

    <export dir>/metadata.jsonl       one row per pair: id, source, target, prompt (the edited
                                      prompt), instruction, task, source_prompt
    <export dir>/images/<id>_source.png, <id>_target.png
    <export dir>/stats.json           counts and acceptance rates per stage and per task
    <export dir>/task_mix.png         the task mix as a bar chart

The accepted pairs are validated where they lie in the build, as `imvideoedit data check` would
validate the exported folder, before anything is written: a bad pair stops the export and
leaves an earlier export as it was. Images are then copied (each atomically; a copy already
there with the same size and time is kept), and the metadata file is written atomically, so a
kill at any point leaves the previous metadata intact and a re-run completes the copy. Images of
pairs no longer accepted are removed. The folder is marked as an export's own (`MARKER`), and
an existing folder without that mark is refused rather than written into: removing stale
images there could delete files an export never wrote.
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
from imvideoedit.errors import UserError, refuse_file_as_folder

METADATA_KEYS = ("id", "source", "target", "prompt", "instruction", "task", "source_prompt")
MARKER = ".imvideoedit-export"  # present in every folder an export wrote


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

    _claim(out)
    rows = [
        {
            "id": item,
            "source": f"images/{item}_source.png",
            "target": f"images/{item}_target.png",
            "prompt": prompts[item]["edited_prompt"],
            "instruction": prompts[item]["instruction"],
            "task": prompts[item]["task"],
            "source_prompt": prompts[item]["source_prompt"],
        }
        for item in chosen
    ]
    if config.export.check:
        _check(rows, {item: pairs[item] for item in chosen}, layout.root)

    summary = StageSummary("export", planned=len(pairs))
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / MARKER, json.dumps({"build": str(layout.root.resolve())}) + "\n")
    wanted: set[str] = set()
    for item in chosen:
        for side in ("source", "target"):
            name = f"{item}_{side}.png"
            copied = _copy_if_changed(layout.root / pairs[item][side], images_dir / name)
            summary.statuses["images copied" if copied else "images kept"] += 1
            wanted.add(name)
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
    return summary


def _claim(out: Path) -> None:
    """Refuse an existing, non-empty folder that no export wrote (see the module doc)."""
    refuse_file_as_folder(out, "export.output_dir")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file() and not _export_shaped(out):
        raise UserError(
            f"export.output_dir {out} already holds files that no export wrote; choose a new or empty folder"
        )


def _export_shaped(out: Path) -> bool:
    """An export written before exports were marked: nothing but what an export writes."""
    for path in out.iterdir():
        if path.name == "images" and path.is_dir():
            if not all(
                image.is_file() and image.name.endswith(("_source.png", "_target.png"))
                for image in path.iterdir()
            ):
                return False
        elif path.name not in ("metadata.jsonl", "stats.json", "task_mix.png"):
            return False
    return True


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


def _check(rows: list[dict[str, Any]], pairs: dict[str, dict[str, Any]], root: Path) -> None:
    """Validate the rows about to be exported, reading each image where it lies in the build.

    The export copies these files byte for byte, so this is what `imvideoedit data check` would
    find in the exported folder; done first, a bad pair leaves the export folder untouched.
    """
    import tempfile

    from imvideoedit.data.check import check_dataset

    located = [
        {
            **row,
            "source": str((root / pairs[row["id"]]["source"]).resolve()),
            "target": str((root / pairs[row["id"]]["target"]).resolve()),
        }
        for row in rows
    ]
    if not located:
        return
    with tempfile.TemporaryDirectory() as folder:
        metadata = Path(folder) / "metadata.jsonl"
        metadata.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in located))
        report = check_dataset(metadata).report
    if not report.ok:
        raise UserError(
            "the export would fail validation, nothing was written: "
            + "; ".join(str(problem) for problem in report.problems[:5])
        )
