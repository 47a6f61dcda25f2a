"""Structured answers: JSON found in free text, validated, repaired by asking again, or given up.

Models wrap JSON in code fences, put prose around it, leave keys out, answer out of range or
refuse. `structured_call` handles all of it the same way:

1. call the backend (retrying rate limits/timeouts/5xx with backoff, `retry.py`);
2. find the JSON object in the answer (`extract_json`) and hand it to the caller's `parse`,
   which returns the typed value or raises `AnswerInvalid` naming what is wrong;
3. on `AnswerInvalid`, show the model its answer and the problem and ask again, at most
   `max_repairs` times;
4. if no valid answer comes, return a result with `value=None` and the reason: the caller
   records the item as missing. Nothing here ever invents a value.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from imvideoedit.vlm.backend import ChatBackend
from imvideoedit.vlm.errors import BackendRequestRejected, RetryableBackendError
from imvideoedit.vlm.messages import Message
from imvideoedit.vlm.retry import RetryPolicy, call_with_retries

T = TypeVar("T")

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)

DEFAULT_REPAIR_REQUEST = (
    "Your previous answer could not be used: {reason}. "
    "Answer again with only the JSON object in the requested format, with every required key "
    "and every score an integer within its range."
)


class AnswerInvalid(ValueError):
    """The answer is not usable; the message says why (it is shown to the model on repair)."""


@dataclass
class StructuredResult(Generic[T]):
    value: T | None
    failure: str | None = None  # why there is no value
    model_calls: int = 0  # backend calls that returned an answer
    repairs: int = 0  # repair requests sent
    answers: list[str] = field(default_factory=list)  # every raw answer, in order

    @property
    def ok(self) -> bool:
        return self.value is not None


def extract_json(text: str) -> Any:
    """The first JSON object in `text`: the whole text, a fenced block, or one inside prose."""
    stripped = text.strip()
    if not stripped:
        raise AnswerInvalid("the answer is empty")
    candidates = [stripped, *(block.strip() for block in _FENCE.findall(stripped))]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", stripped):
        try:
            value, _ = decoder.raw_decode(stripped, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    preview = " ".join(stripped.split())[:160]
    raise AnswerInvalid(f"no JSON object found in the answer (it begins: {preview!r})")


def structured_call(
    backend: ChatBackend,
    messages: Sequence[Message],
    parse: Callable[[Any], T],
    *,
    max_repairs: int = 2,
    retry: RetryPolicy | None = None,
    repair_request: str = DEFAULT_REPAIR_REQUEST,
    sleep: Callable[[float], None] = time.sleep,
) -> StructuredResult[T]:
    """Ask until `parse` accepts the answer, at most 1 + `max_repairs` answers.

    `parse(obj)` gets the extracted JSON object and returns the value or raises `AnswerInvalid`.
    Backend failures that survive the retry policy end the call with `value=None`;
    `BackendConfigError` propagates (nothing can succeed).
    """
    retry = retry or RetryPolicy()
    conversation = list(messages)
    result: StructuredResult[T] = StructuredResult(value=None)
    for round_index in range(max_repairs + 1):
        try:
            answer = call_with_retries(partial(backend.complete, list(conversation)), retry, sleep=sleep)
        except RetryableBackendError as error:
            result.failure = f"{_kind(error)} after {retry.max_attempts} attempts: {error}"
            return result
        except BackendRequestRejected as error:
            result.failure = f"request rejected: {error}"
            return result
        result.model_calls += 1
        result.answers.append(answer)
        try:
            result.value = parse(extract_json(answer))
            result.failure = None
            return result
        except AnswerInvalid as error:
            result.failure = f"invalid answer: {error}"
            if round_index == max_repairs:
                break
            result.repairs += 1
            conversation += [
                Message.assistant(answer),
                Message.user(repair_request.replace("{reason}", str(error))),
            ]
    result.failure = f"{result.failure} (no valid answer after {result.repairs} repair requests)"
    return result


def _kind(error: RetryableBackendError) -> str:
    return {
        "RateLimited": "rate limited",
        "BackendTimeout": "timed out",
        "ServerError": "server error",
        "BackendUnavailable": "server unreachable",
    }.get(type(error).__name__, "failed")
