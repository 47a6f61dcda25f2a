"""What can go wrong when calling a model, sorted by what the caller should do about it.

- `RetryableBackendError` (rate limits, timeouts, server errors, unreachable server): wait and
  try again, a bounded number of times.
- `BackendRequestRejected`: the server refused this one request (too large, filtered); the item
  is given up, the run goes on.
- `BackendConfigError` (a `UserError`): bad key, unknown model, missing package. Every request
  would fail the same way, so the run stops with a one-line message.

Messages never contain API keys: backends scrub them before raising.
"""

from __future__ import annotations

from imvideoedit.errors import UserError


class BackendError(Exception):
    """A model call that did not produce an answer."""


class RetryableBackendError(BackendError):
    """A failure that may go away if the same request is sent again later."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s  # the server's Retry-After, when it gave one


class RateLimited(RetryableBackendError):
    """HTTP 429 or the provider's quota error."""


class BackendTimeout(RetryableBackendError):
    """No (complete) answer within the timeout."""


class ServerError(RetryableBackendError):
    """HTTP 5xx, or a 200 whose body is not what the protocol promises."""


class BackendUnavailable(RetryableBackendError):
    """The server could not be reached (connection refused, DNS failure)."""


class BackendRequestRejected(BackendError):
    """The server refused this request (HTTP 400/413/422, a safety block): do not resend it."""


class BackendConfigError(BackendError, UserError):
    """The backend cannot work at all as configured (key, model name, missing package)."""


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every non-empty secret replaced by '***'."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
