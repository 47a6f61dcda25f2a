"""Reading JSON Lines inputs (one object a line) with errors that name the file and line.

Benchmark specs, edit jobs and result files are all read this way, so they refuse the same bad
input with the same one-line messages: text that is not UTF-8, a line that is not JSON, a line
that is not an object. Lines are split on "\\n" only: `str.splitlines()` would also split inside
a string holding U+2028, which JSON writers leave unescaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from imvideoedit.errors import UserError


def numbered_objects(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; callers name a line as "path:number"."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(value, dict):
            raise UserError(f"{where}: each line must be a JSON object")
        yield number, value
