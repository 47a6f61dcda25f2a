"""Stage files: append-only JSON Lines of per-item records, the newest record for an id winning.

Every stage writes one record per finished item the moment it is finished: the line is written,
flushed and fsync'ed before the next item starts. A kill therefore loses only the items in
flight. A kill in the middle of a write can leave a torn last line (no newline); reading ignores
it and the next append cuts it off first, so the file never holds a broken line before a good
one. Reading is what makes stages resumable: the ids already present are the items to skip.

Records are plain dicts with at least `id` and `status`. A stage may append a second record for
an id (a retried failure, a reviewer changing their mind): readers keep the newest.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from imvideoedit.errors import UserError

# Statuses shared by the stages.
OK = "ok"  # the item's work is done (prompts written, images made)
ACCEPTED = "accepted"  # a judged item that passed (scenes)
REJECTED = "rejected"  # a judged item that did not pass, with a reason (scenes)
SCORED = "scored"  # the pair judge gave valid scores (filter)
FAILED = "failed"  # the model never gave a valid answer; `failure` says why


class RecordLog:
    """One stage file. `append` is thread-safe; each record is on disk when it returns."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._handle = None

    def read(self) -> dict[str, dict[str, Any]]:
        """The newest record for every id, in first-seen order."""
        return latest_by_id(read_records(self.path))

    def append(self, record: dict[str, Any]) -> None:
        if not record.get("id") or "status" not in record:
            raise ValueError(f"a stage record needs an id and a status, got keys {sorted(record)}")
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _cut_torn_tail(self.path)
                self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open across appends
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def __enter__(self) -> RecordLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every complete record of a stage file, in order; a missing file has none."""
    path = Path(path)
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if number == len(lines):
            # Text after the last newline: a write interrupted by a kill. Ignored even when it
            # parses, because the next append cuts it off and the item must then be redone.
            break
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(
                f"{path}:{number}: not valid JSON ({error.msg}); the stage file was edited or damaged"
            ) from None
        if not isinstance(record, dict) or not record.get("id"):
            raise UserError(f"{path}:{number}: expected a JSON object with an id")
        records.append(record)
    return records


def latest_by_id(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        latest[record["id"]] = record
    return latest


def read_stage(paths: Iterable[str | Path]) -> dict[str, dict[str, Any]]:
    """The newest record per id over several files (a stage written by several shards)."""
    records: list[dict[str, Any]] = []
    for path in paths:
        records.extend(read_records(path))
    return latest_by_id(records)


def _cut_torn_tail(path: Path) -> None:
    """Drop a last line that has no newline (a write interrupted by a kill)."""
    if not path.is_file():
        return
    with open(path, "rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # Walk back to the last newline; everything after it is the torn record.
        position = size - 1
        block = 4096
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            chunk = handle.read(position - start)
            index = chunk.rfind(b"\n")
            if index >= 0:
                handle.truncate(start + index + 1)
                return
            position = start
        handle.truncate(0)


def needs_work(record: dict[str, Any] | None, retry_failed: bool) -> bool:
    """Whether an item is to be (re)done: it has no record, or failed and failures are retried."""
    return record is None or (retry_failed and record.get("status") == FAILED)


def last_answer(answers: list[str], limit: int = 2000) -> str | None:
    """The last raw model answer, cut to `limit` characters: kept with a failure for diagnosis."""
    return answers[-1][:limit] if answers else None
