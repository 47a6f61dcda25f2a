"""The benchmark: a JSONL of cases, and per method a folder of edited videos named by case id.

A case line:

    {"id": "bg_001", "source": "videos/bg_001.mp4", "instruction": "Replace the background
     with a snowy forest", "prompt": "A red fox walks through a snowy forest ...",
     "task": "background_replacement"}

`source` is relative to the spec file's folder (or absolute); `task` is one of the ten
categories of appendix B, by slug or title (`imvideoedit.data.tasks`); an optional `meta`
object is carried along untouched. A method's outputs are `DIR/<id>.<ext>` for any common
video extension, so any method (ours or a peer's) is scored the same way; a case without an
output is scored as missing for that method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imvideoedit.data.tasks import TASK_SLUGS, canonical_task
from imvideoedit.errors import UserError
from imvideoedit.json_lines import numbered_objects

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_REQUIRED = ("id", "source", "instruction", "prompt", "task")
_ALLOWED = frozenset(_REQUIRED) | {"meta"}


@dataclass(frozen=True)
class BenchmarkCase:
    id: str
    source: Path
    instruction: str
    prompt: str  # the edited scene described in full (what a text-to-video model is given)
    task: str  # slug from imvideoedit.data.tasks
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodOutputs:
    """A method's name (as it appears in reports) and the folder holding its edited videos."""

    name: str
    directory: Path | None

    def edited_video(self, case_id: str) -> Path | None:
        """The method's output for `case_id`, None when there is none."""
        if self.directory is None:
            return None
        found = [self.directory / f"{case_id}{ext}" for ext in VIDEO_EXTENSIONS]
        found = [path for path in found if path.is_file()]
        if len(found) > 1:
            names = ", ".join(path.name for path in found)
            raise UserError(f"method {self.name!r} has several outputs for case {case_id!r}: {names}")
        return found[0] if found else None


def load_spec(path: str | Path, *, check_sources: bool = True) -> list[BenchmarkCase]:
    """Every case of the JSONL at `path`, validated; a `UserError` names the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"benchmark spec not found: {path}")
    cases: list[BenchmarkCase] = []
    seen: set[str] = set()
    for number, record in numbered_objects(path):
        where = f"{path}:{number}"
        case = _case(record, where, path.parent)
        if case.id in seen:
            raise UserError(f"{where}: duplicate case id {case.id!r}")
        seen.add(case.id)
        if check_sources:
            _check_source(case.source, where)
        cases.append(case)
    if not cases:
        raise UserError(f"benchmark spec has no cases: {path}")
    return cases


def _check_source(path: Path, where: str) -> None:
    """The source exists and opens as a video (its index only, nothing is decoded): a spec that
    names a text file would otherwise charge every method a missing item."""
    from imvideoedit.video.reader import probe_video

    if not path.is_file():
        raise UserError(f"{where}: source video not found: {path}")
    try:
        probe_video(path)
    except UserError as error:
        raise UserError(f"{where}: source is not a readable video ({error})") from None


def _case(record: dict[str, Any], where: str, base: Path) -> BenchmarkCase:
    unknown = sorted(set(record) - _ALLOWED)
    if unknown:
        raise UserError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(_ALLOWED))})"
        )
    for key in _REQUIRED:
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"{where}: {key!r} must be a non-empty string")
    case_id = record["id"].strip()
    if not _SAFE_NAME.match(case_id):
        raise UserError(
            f"{where}: case id {case_id!r} must be usable as a file name (letters, digits, '.', '_', '-')"
        )
    task = canonical_task(record["task"])
    if task is None:
        raise UserError(f"{where}: unknown task {record['task']!r}; expected one of {', '.join(TASK_SLUGS)}")
    meta = record.get("meta", {})
    if not isinstance(meta, dict):
        raise UserError(f"{where}: 'meta' must be a JSON object")
    source = Path(record["source"]).expanduser()
    return BenchmarkCase(
        id=case_id,
        source=source if source.is_absolute() else base / source,
        instruction=record["instruction"].strip(),
        prompt=record["prompt"].strip(),
        task=task,
        meta=meta,
    )


def parse_method(text: str, *, need_directory: bool = True) -> MethodOutputs:
    """`NAME=DIR` (or just `NAME` when the folder is not needed, as for reports)."""
    name, sep, directory = text.partition("=")
    name = name.strip()
    if not _SAFE_NAME.match(name):
        raise UserError(f"method name {name!r} must be letters, digits, '.', '_' or '-' (got from {text!r})")
    if not sep:
        if need_directory:
            raise UserError(f"--method expects NAME=DIR, got {text!r}")
        return MethodOutputs(name, None)
    folder = Path(directory).expanduser()
    if need_directory and not folder.is_dir():
        raise UserError(f"method {name!r}: folder not found: {folder}")
    return MethodOutputs(name, folder)


def parse_methods(texts: list[str] | None, *, need_directory: bool = True) -> list[MethodOutputs]:
    methods = [parse_method(text, need_directory=need_directory) for text in texts or []]
    names = [method.name for method in methods]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UserError(f"method named more than once: {', '.join(duplicates)}")
    if "source" in names:
        raise UserError("'source' is reserved for the source videos' own metrics; pick another method name")
    return methods
