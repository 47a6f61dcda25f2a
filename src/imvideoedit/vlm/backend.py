"""The one interface every model backend implements: messages in, text out.

`identity()` names everything that changes the answer for the same messages (provider, model,
endpoint, sampling settings, how videos are turned into frames), so results can be cached and
recorded against it. It never contains credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from imvideoedit.vlm.messages import Message


@runtime_checkable
class ChatBackend(Protocol):
    kind: str  # "openai", "gemini", "local", "fake"
    model: str

    def complete(self, messages: Sequence[Message]) -> str:
        """The model's answer to `messages` as text (possibly empty or not what was asked).

        Raises a `RetryableBackendError` for rate limits, timeouts and server failures,
        `BackendRequestRejected` when this request is refused, `BackendConfigError` when no
        request can succeed.
        """
        ...

    def identity(self) -> dict[str, object]:
        """JSON-serialisable settings that determine the answer; no secrets."""
        ...
