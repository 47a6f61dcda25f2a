"""Run one stage's pending items on a few threads, recording each as soon as it is finished.

Model calls are I/O bound, so a stage asks `workers` of them at once. Each finished item's
record is appended to the stage file by the thread that made it, before that thread takes the
next item: a kill loses only the items being asked at that moment. An exception that is not a
per-item failure (a bad API key, a bug, a simulated crash) stops the stage: items already
running are let finish and recorded, nothing new starts, and the exception is raised again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from imvideoedit.data_construction.records import RecordLog

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class StageSummary:
    """What one run of a stage did."""

    stage: str
    planned: int = 0  # items this stage has in all (for this shard)
    already_done: int = 0  # skipped: a record existed
    statuses: Counter = field(default_factory=Counter)  # status -> items finished in this run
    notes: list[str] = field(default_factory=list)

    @property
    def done_now(self) -> int:
        return sum(self.statuses.values())

    def format(self) -> str:
        counts = (
            ", ".join(f"{status} {count}" for status, count in sorted(self.statuses.items())) or "nothing new"
        )
        line = f"{self.stage}: {self.planned} item(s), {self.already_done} already done, this run: {counts}"
        return "\n".join([line, *(f"  {note}" for note in self.notes)])


def run_items(
    summary: StageSummary,
    items: Sequence[T],
    work: Callable[[T], dict[str, Any]],
    record_log: RecordLog,
    workers: int = 1,
    log_every_s: float = 30.0,
) -> StageSummary:
    """`work(item)` -> record, for every item, `workers` at a time; each record appended at once."""
    lock = threading.Lock()
    started = time.monotonic()
    last_log = [started]

    def finish(item: T) -> None:
        record = work(item)
        record_log.append(record)
        with lock:
            summary.statuses[record["status"]] += 1
            now = time.monotonic()
            if now - last_log[0] >= log_every_s:
                last_log[0] = now
                log.info(
                    "%s: %d/%d done in %.0fs", summary.stage, summary.done_now, len(items), now - started
                )

    if workers <= 1:
        for item in items:
            finish(item)
        return summary

    pending = iter(items)
    exhausted = False
    running: set[Future] = set()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=summary.stage) as pool:
        failure: BaseException | None = None
        while True:
            # At most `workers` items are in flight: those are all a kill can lose.
            while failure is None and not exhausted and len(running) < workers:
                try:
                    running.add(pool.submit(finish, next(pending)))
                except StopIteration:
                    exhausted = True
            if not running:
                break
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                error = future.exception()
                if error is not None and failure is None:
                    failure = error
        if failure is not None:
            raise failure
    return summary
