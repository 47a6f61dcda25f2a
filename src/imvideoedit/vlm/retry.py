"""Exponential backoff for retryable model-call failures (rate limits, timeouts, 5xx).

The delay before attempt k+1 is `base_delay_s * 2**(k-1)`, capped at `max_delay_s`, spread by
+-`jitter` so that parallel workers do not retry in lockstep; a server's Retry-After wins when
it is given (still capped). After `max_attempts` the last error is raised again for the caller
to record: never a silent default.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from imvideoedit.vlm.errors import RetryableBackendError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # calls in all, the first one included
    base_delay_s: float = 2.0
    max_delay_s: float = 60.0
    jitter: float = 0.25  # the delay is scaled by a factor in [1 - jitter, 1 + jitter]

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or not 0 <= self.jitter < 1:
            raise ValueError("RetryPolicy delays must be >= 0 and jitter in [0, 1)")

    def delay_s(self, attempt: int, error: RetryableBackendError, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if error.retry_after_s is not None:
            return min(max(error.retry_after_s, 0.0), self.max_delay_s)
        delay = min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s)
        return delay * (1.0 + self.jitter * rng.uniform(-1.0, 1.0))


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """`fn()`, retried on `RetryableBackendError` per `policy`; other errors pass through."""
    rng = rng or random.Random()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return fn()
        except RetryableBackendError as error:
            if attempt == policy.max_attempts:
                raise
            delay = policy.delay_s(attempt, error, rng)
            log.warning(
                "model call failed (%s: %s); retry %d/%d in %.1fs",
                type(error).__name__,
                error,
                attempt,
                policy.max_attempts - 1,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises
