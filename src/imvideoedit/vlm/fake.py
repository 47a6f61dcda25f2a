"""A scripted backend for tests and dry runs: it replays answers and remembers what it was asked.

Each script entry is a string (returned), an exception (raised: e.g. `RateLimited(...)` to test
backoff) or a callable `f(messages) -> str` (to answer by content). A callable script answers
every call; a list is consumed in order and running out is a test bug, reported loudly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from imvideoedit.vlm.messages import Message

ScriptEntry = str | BaseException | Callable[[Sequence[Message]], str]


class FakeBackend:
    kind = "fake"

    def __init__(
        self, script: Iterable[ScriptEntry] | Callable[[Sequence[Message]], str], model: str = "fake-vlm"
    ):
        self.model = model
        self._responder = script if callable(script) else None
        self._script = [] if callable(script) else list(script)
        self._lock = threading.Lock()
        self.calls: list[list[Message]] = []

    def identity(self) -> dict[str, object]:
        return {"backend": self.kind, "model": self.model}

    def complete(self, messages: Sequence[Message]) -> str:
        with self._lock:
            self.calls.append(list(messages))
            if self._responder is not None:
                entry: ScriptEntry = self._responder
            elif self._script:
                entry = self._script.pop(0)
            else:
                raise AssertionError(
                    f"FakeBackend ran out of scripted answers after {len(self.calls) - 1} calls"
                )
        if isinstance(entry, BaseException):
            raise entry
        if callable(entry):
            return entry(messages)
        return entry
