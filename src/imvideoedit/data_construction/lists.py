"""The editable lists scenes are composed from: environments (or entities) and conditions.

The format is plain text, one entry a line; `# ...` lines are comments and `[name]` starts a
group. For conditions, groups are kinds ("time of day", "weather"): a scene never takes two
conditions of one kind. For environments, groups only label entries (indoor, animals, ...).
Defaults ship in `lists/` beside this module; a config names other files to use its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from imvideoedit.errors import UserError

DEFAULT_ENVIRONMENTS = "environments.txt"
DEFAULT_CONDITIONS = "conditions.txt"


@dataclass(frozen=True)
class ListEntry:
    text: str
    group: str  # the `[group]` it appeared under ("" before any heading)


def read_list(path: str | Path | None, default_name: str) -> tuple[list[ListEntry], str]:
    """Entries of the list at `path` (or the packaged default) and where they were read from."""
    if path is None:
        source = resources.files("imvideoedit.data_construction").joinpath("lists", default_name)
        text, where = source.read_text(encoding="utf-8"), f"packaged {default_name}"
    else:
        file = Path(path)
        if not file.is_file():
            raise UserError(f"list file not found: {file}")
        try:
            text, where = file.read_text(encoding="utf-8"), str(file)
        except UnicodeDecodeError:
            raise UserError(f"list file is not UTF-8 text: {file}") from None
    entries = parse_list(text, where)
    if not entries:
        raise UserError(f"list {where} has no entries")
    return entries, where


def parse_list(text: str, where: str) -> list[ListEntry]:
    entries: list[ListEntry] = []
    seen: set[str] = set()
    group = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if not line.endswith("]") or not line[1:-1].strip():
                raise UserError(f"{where}:{number}: a group heading looks like [name], got {line!r}")
            group = line[1:-1].strip()
            continue
        if line in seen:
            raise UserError(f"{where}:{number}: duplicate entry {line!r}")
        seen.add(line)
        entries.append(ListEntry(line, group))
    return entries
