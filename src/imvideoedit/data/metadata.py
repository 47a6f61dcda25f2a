"""The pair-folder format: a metadata file listing (source, target, prompt) rows.

A dataset is a folder holding images and one metadata file, found in this order:
`metadata.jsonl`, `metadata.csv`, `pairs.jsonl`, `pairs.csv` (or name the file itself).
Columns (JSONL keys or CSV header):

    source         source image, relative to the folder          required
    target         edited image, relative to the folder          required
    prompt         the edited scene described in full            required unless `instruction`
    instruction    the edit as an instruction                    used as the prompt when no `prompt`
    task           one of the ten categories in `imvideoedit.data.tasks`     optional
    source_prompt  the source scene described in full           optional
    id             a unique name for the pair                    optional (default: the target path)

ViFeEdit's layout is read unchanged: a CSV or JSONL with `video, prompt, vife_edit_video` is
target = `video`, prompt = `prompt`, source = `vife_edit_video`.

Reading never fails on a bad row: a malformed line becomes a row with `parse_error` set, so a
data check can report every problem at once. Only an unusable file as a whole (missing, no
header, not JSONL/CSV) raises `UserError`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imvideoedit.atomic_write import atomic_write_text
from imvideoedit.errors import UserError

METADATA_NAMES: tuple[str, ...] = ("metadata.jsonl", "metadata.csv", "pairs.jsonl", "pairs.csv")
VIFEEDIT_COLUMNS = ("video", "prompt", "vife_edit_video")


@dataclass
class PairRow:
    """One metadata row as read, with the fields the project uses pulled out."""

    line: int  # 1-based line in the metadata file (CSV: the header is line 1)
    fields: dict[str, Any]  # the row exactly as read, written back by `write_pair_table`
    id: str
    source: str | None
    target: str | None
    prompt: str  # the training prompt: `prompt`, else `instruction`, else ""
    prompt_field: str  # which column `prompt` came from ("prompt", "instruction" or "")
    instruction: str | None = None
    source_prompt: str | None = None
    task: str | None = None  # as written; canonicalised by validation
    parse_error: str | None = None


@dataclass
class PairTable:
    metadata_path: Path
    root: Path  # the folder image paths are relative to
    layout: str  # "imvideoedit" or "vifeedit"
    rows: list[PairRow] = field(default_factory=list)
    csv_header: list[str] | None = None  # CSV column order, kept for writing back


def find_metadata(path: str | Path) -> Path:
    """A metadata file given directly, or the first of METADATA_NAMES inside a folder."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.exists():
        raise UserError(f"dataset not found: {path}")
    for name in METADATA_NAMES:
        if (path / name).is_file():
            return path / name
    raise UserError(f"no metadata file in {path}: expected one of {', '.join(METADATA_NAMES)}")


def read_pair_table(path: str | Path) -> PairTable:
    """Read every row of a dataset's metadata file (folder or file path)."""
    metadata_path = find_metadata(path)
    suffix = metadata_path.suffix.lower()
    try:
        text = metadata_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"metadata file is not UTF-8 text: {metadata_path} ({error.reason})") from None
    if suffix == ".jsonl":
        raw_rows, header = _read_jsonl(text), None
    elif suffix == ".csv":
        raw_rows, header = _read_csv(text, metadata_path)
    else:
        raise UserError(f"metadata file must be .jsonl or .csv, got {metadata_path.name}")

    columns = set(header or [])
    for _, fields, _ in raw_rows:
        columns.update(fields)
    layout = "vifeedit" if "vife_edit_video" in columns and "source" not in columns else "imvideoedit"
    table = PairTable(metadata_path, metadata_path.parent, layout, csv_header=header)
    table.rows = [_make_row(line, fields, error, layout) for line, fields, error in raw_rows]
    return table


def _read_jsonl(text: str) -> list[tuple[int, dict[str, Any], str | None]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            rows.append((number, {}, f"not valid JSON ({error.msg} at column {error.colno})"))
            continue
        if not isinstance(value, dict):
            rows.append((number, {}, f"expected a JSON object, got {type(value).__name__}"))
            continue
        rows.append((number, value, None))
    return rows


def _read_csv(text: str, path: Path) -> tuple[list[tuple[int, dict[str, Any], str | None]], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise UserError(f"metadata CSV is empty (no header row): {path}") from None
    rows = []
    for values in reader:
        number = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            error = f"has {len(values)} columns, the header has {len(header)}"
            rows.append((number, dict(zip(header, values, strict=False)), error))
            continue
        rows.append((number, dict(zip(header, values, strict=True)), None))
    return rows, header


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip()


def _make_row(line: int, fields: dict[str, Any], error: str | None, layout: str) -> PairRow:
    if layout == "vifeedit":
        source, target = _text(fields.get("vife_edit_video")), _text(fields.get("video"))
    else:
        source, target = _text(fields.get("source")), _text(fields.get("target"))
    prompt, prompt_field = "", ""
    for name in ("prompt", "instruction"):
        value = _text(fields.get(name))
        if value:
            prompt, prompt_field = value, name
            break
    row_id = _text(fields.get("id")) or target or f"line-{line}"
    return PairRow(
        line=line,
        fields=fields,
        id=row_id,
        source=source or None,
        target=target or None,
        prompt=prompt,
        prompt_field=prompt_field,
        instruction=_text(fields.get("instruction")),
        source_prompt=_text(fields.get("source_prompt")),
        task=_text(fields.get("task")) or None,
        parse_error=error,
    )


def write_pair_table(table: PairTable, rows: list[PairRow], path: Path) -> None:
    """Write `rows` (their `fields`) in the table's own format, atomically."""
    if path.suffix.lower() == ".jsonl":
        text = "".join(json.dumps(row.fields, ensure_ascii=False) + "\n" for row in rows)
    else:
        header = list(table.csv_header or [])
        for row in rows:
            header += [name for name in row.fields if name not in header]
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({name: row.fields.get(name, "") for name in header})
        text = buffer.getvalue()
    atomic_write_text(path, text)


def cleaned_path(metadata_path: Path) -> Path:
    """Where `data check --fix` writes: `metadata.jsonl` -> `metadata.clean.jsonl`."""
    return metadata_path.with_name(f"{metadata_path.stem}.clean{metadata_path.suffix}")
