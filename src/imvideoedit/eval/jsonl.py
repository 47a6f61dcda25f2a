"""Reading and writing JSON Lines files of results (one object a line), atomically."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from imvideoedit.atomic_write import atomic_write_text
from imvideoedit.errors import UserError
from imvideoedit.json_lines import numbered_objects


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    atomic_write_text(path, text)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"results file not found: {path}")
    return [row for _, row in numbered_objects(path)]
