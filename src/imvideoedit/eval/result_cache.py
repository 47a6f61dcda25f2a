"""A folder of finished results, one JSON file per key, so that long evaluations resume.

The key is a hash of everything that determines the result (for the judge: backend settings,
model, prompt version, both videos' content hashes and the instruction). A run killed half-way
keeps every result that was finished; running it again computes only the rest. Files are
written atomically, so a kill never leaves a half-written entry; an unreadable entry is treated
as absent and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

from imvideoedit.atomic_write import atomic_write_text

log = logging.getLogger(__name__)


def cache_key(fields: dict[str, Any]) -> str:
    """A stable hash of JSON-serialisable `fields` (key order does not matter)."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResultCache:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            log.warning("ignoring unreadable cache entry %s", path)
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        atomic_write_text(self._path(key), json.dumps(value, ensure_ascii=False, sort_keys=True))


class FileDigests:
    """SHA-256 of files' contents, computed once per path per run (thread-safe)."""

    def __init__(self) -> None:
        self._known: dict[Path, str] = {}
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> str:
        path = Path(path).resolve()
        with self._lock:
            if path in self._known:
                return self._known[path]
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        value = digest.hexdigest()
        with self._lock:
            self._known[path] = value
        return value
