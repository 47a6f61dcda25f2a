"""Keep pairs: rows whose target is the source image itself, prompted with the source's caption.

An adapter trained on edit pairs alone sees only edited captions, so it never learns to copy
what an edit leaves alone; in the procedural world it regenerates a frame loosely (17 dB against
the source) where one trained with half keep pairs copies at 22 dB and still edits
(docs/proving_ground.md, "the copy ceiling"). A keep pair also gives the source's caption a
meaning, "change nothing", which guidance can push away from at sampling time (a negative prompt
that describes the source; docs/editing.md).

`add_keep_pairs` writes a new metadata file beside the original: every readable row, then one
keep row per chosen source image (`source` = `target` = that image, `prompt` = the row's
`source_prompt`), so that keep rows make up `share` of the result. Rows without a
`source_prompt` cannot give a keep row (their source has no caption). Written to another folder
(`out`), the image paths are rewritten relative to it. The original file is never changed; train on the new one (`imvideoedit train CONFIG --data DATASET/metadata.keep.jsonl`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from imvideoedit.data.metadata import PairRow, read_pair_table, write_pair_table
from imvideoedit.errors import UserError

KEEP_INSTRUCTION = "keep the scene as it is"


@dataclass(frozen=True)
class KeepPairsResult:
    path: Path  # the metadata file written
    rows: int  # rows in it
    keep_rows: int  # keep rows in it (added ones and any the original already had)
    added: int
    share: float  # keep_rows / rows
    uncaptioned: int  # source images left out for want of a source_prompt
    unreadable: int  # rows of the original that could not be parsed, left out (`data check` lists them)


def keep_path(metadata_path: Path) -> Path:
    """Where keep pairs are written by default: `metadata.jsonl` -> `metadata.keep.jsonl`."""
    return metadata_path.with_name(f"{metadata_path.stem}.keep{metadata_path.suffix}")


def add_keep_pairs(dataset: str | Path, share: float = 0.5, out: str | Path | None = None) -> KeepPairsResult:
    """Write the dataset's rows plus keep rows making up `share` of them (see the module doc)."""
    if not 0.0 < share < 1.0:
        raise UserError(f"the keep share must lie strictly between 0 and 1, got {share}")
    table = read_pair_table(dataset)
    if table.layout != "imvideoedit":
        raise UserError(f"{table.metadata_path} has ViFeEdit's layout, which has no source_prompt column")
    out_path = Path(out) if out is not None else keep_path(table.metadata_path)
    if out_path.resolve() == table.metadata_path.resolve():
        raise UserError(f"refusing to overwrite the original metadata file {table.metadata_path}")
    if out_path.suffix.lower() not in (".jsonl", ".csv"):
        raise UserError(f"the output must be a .jsonl or .csv file, got {out_path.name}")

    rows = [row for row in table.rows if row.parse_error is None]
    existing = sum(1 for row in rows if row.source is not None and row.source == row.target)
    wanted = round(share / (1.0 - share) * (len(rows) - existing)) - existing  # keep / all == share

    captioned: dict[str, PairRow] = {}  # one keep row per source image, from its first row
    uncaptioned: set[str] = set()
    for row in rows:
        if row.source is None or row.source == row.target:
            continue
        if row.source_prompt:
            captioned.setdefault(row.source, row)
        else:
            uncaptioned.add(row.source)
    uncaptioned -= set(captioned)
    candidates = list(captioned.values())
    count = max(0, min(wanted, len(candidates)))
    chosen = [candidates[index * len(candidates) // count] for index in range(count)] if count else []

    taken = {row.id for row in rows}
    keep_rows = []
    for row in chosen:
        keep_id = _free_id(f"{row.id}.keep", taken)
        fields = {
            "id": keep_id,
            "source": row.source,
            "target": row.source,
            "prompt": row.source_prompt,
            "instruction": KEEP_INSTRUCTION,
            "source_prompt": row.source_prompt,
        }
        keep_rows.append(
            PairRow(
                line=0,
                fields=fields,
                id=keep_id,
                source=row.source,
                target=row.source,
                prompt=row.source_prompt or "",
                prompt_field="prompt",
            )
        )
    if out_path.suffix.lower() != table.metadata_path.suffix.lower():
        table.csv_header = None  # a CSV written from JSONL takes its columns from the rows
    written = rows + keep_rows
    if out_path.parent.resolve() != table.root.resolve():  # paths are read relative to the new file
        written = [_rebased(row, table.root, out_path.parent) for row in written]
    write_pair_table(table, written, out_path)
    total, keeps = len(rows) + len(keep_rows), existing + len(keep_rows)
    return KeepPairsResult(
        path=out_path,
        rows=total,
        keep_rows=keeps,
        added=len(keep_rows),
        share=keeps / total if total else 0.0,
        uncaptioned=len(uncaptioned),
        unreadable=len(table.rows) - len(rows),
    )


def _rebased(row: PairRow, root: Path, folder: Path) -> PairRow:
    """`row` with its relative image paths rewritten from `root` to `folder` (absolute ones kept)."""
    fields = dict(row.fields)
    for name in ("source", "target"):
        value = fields.get(name)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            fields[name] = os.path.relpath(root.resolve() / value, folder.resolve())
    return dataclasses.replace(row, fields=fields)


def _free_id(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}{number}"
    taken.add(candidate)
    return candidate
