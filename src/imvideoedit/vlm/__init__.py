"""Chat backends for language and vision-language models, and structured (JSON) answers on top.

A backend turns a list of chat `Message`s (text, images as PIL or numpy arrays, whole videos)
into the model's text answer; it knows nothing of what is being asked. `structured_call` adds
what every caller needs on top: find the JSON in the answer, validate it, ask for a repair when
it is wrong, back off on rate limits and timeouts, and give up with a reason instead of a guess.

Backends: any OpenAI-compatible chat endpoint (`OpenAICompatibleBackend`), Google Gemini
(`GeminiBackend`, needs the optional `google-genai` package), a local transformers VLM
(`LocalTransformersBackend`), and `FakeBackend` for tests. `build_backend` picks one from a
`BackendChoice` and reads API keys from the environment only.
"""

from __future__ import annotations

from imvideoedit.vlm.backend import ChatBackend
from imvideoedit.vlm.errors import (
    BackendConfigError,
    BackendError,
    BackendRequestRejected,
    BackendTimeout,
    BackendUnavailable,
    RateLimited,
    RetryableBackendError,
    ServerError,
)
from imvideoedit.vlm.factory import BackendChoice, build_backend
from imvideoedit.vlm.fake import FakeBackend
from imvideoedit.vlm.messages import ImagePart, Message, Part, TextPart, VideoPart
from imvideoedit.vlm.retry import RetryPolicy, call_with_retries
from imvideoedit.vlm.structured import AnswerInvalid, StructuredResult, extract_json, structured_call

__all__ = [
    "AnswerInvalid",
    "BackendChoice",
    "BackendConfigError",
    "BackendError",
    "BackendRequestRejected",
    "BackendTimeout",
    "BackendUnavailable",
    "ChatBackend",
    "FakeBackend",
    "ImagePart",
    "Message",
    "Part",
    "RateLimited",
    "RetryPolicy",
    "RetryableBackendError",
    "ServerError",
    "StructuredResult",
    "TextPart",
    "VideoPart",
    "build_backend",
    "call_with_retries",
    "extract_json",
    "structured_call",
]
