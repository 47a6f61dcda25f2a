"""Google Gemini through the official `google-genai` SDK, with videos sent as videos.

Gemini watches a video by sampling it at a frame rate; the default (1 fps) sees only a handful
of frames of a short clip, so every video part carries an explicit `VideoMetadata(fps=...)`
(`sample_fps`, recorded in `identity()`). A clip is sent as its original file when the part
knows it, otherwise encoded to MP4 from its frames; clips above `inline_limit_bytes` go through
the Files API (uploaded, waited for, deleted afterwards).

`google-genai` is optional (`pip install 'imvideoedit[gemini]'`); without it this backend
raises a `BackendConfigError` saying so. The SDK's own retries are switched off: backoff is
`retry.py`'s job, so that attempts are counted in one place.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imvideoedit.vlm.errors import (
    BackendConfigError,
    BackendRequestRejected,
    BackendTimeout,
    BackendUnavailable,
    RateLimited,
    ServerError,
    scrub,
)
from imvideoedit.vlm.images import encode_image
from imvideoedit.vlm.messages import ImagePart, Message, TextPart, VideoPart

_VIDEO_MIME = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".mpeg": "video/mpeg",
    ".mpg": "video/mpeg",
}


@dataclass(frozen=True)
class GeminiConfig:
    model: str
    sample_fps: float = 4.0  # frames per second Gemini samples from each video
    timeout_s: float = 300.0
    temperature: float | None = 0.0
    max_output_tokens: int | None = None
    inline_limit_bytes: int = 18 * 1024 * 1024  # larger videos are uploaded through the Files API
    upload_wait_s: float = 300.0  # how long an uploaded video may stay PROCESSING


def import_genai() -> tuple[Any, Any, Any]:
    """(`google.genai`, its `types`, its `errors`), or a clear error when it is not installed."""
    try:
        from google import genai
        from google.genai import errors, types
    except ImportError:
        raise BackendConfigError(
            "the gemini backend needs the google-genai package: pip install 'imvideoedit[gemini]'"
        ) from None
    return genai, types, errors


class GeminiBackend:
    kind = "gemini"

    def __init__(self, config: GeminiConfig, api_key: str | None = None, client: Any | None = None) -> None:
        """`client` replaces `genai.Client(api_key=...)`, for tests; the SDK is still needed."""
        if not config.model:
            raise BackendConfigError("the gemini backend needs a model name (--model)")
        if not config.sample_fps > 0:
            raise BackendConfigError(f"gemini sample fps must be positive, got {config.sample_fps}")
        genai, self._types, self._errors = import_genai()
        self.config = config
        self.model = config.model
        self._api_key = api_key
        if client is None:
            if not api_key:
                raise BackendConfigError("the gemini backend needs GEMINI_API_KEY in the environment")
            options = self._types.HttpOptions(
                timeout=int(config.timeout_s * 1000),
                retry_options=self._types.HttpRetryOptions(attempts=1),
            )
            client = genai.Client(api_key=api_key, http_options=options)
        self._client = client

    def __repr__(self) -> str:
        return f"GeminiBackend(model={self.model!r}, sample_fps={self.config.sample_fps})"

    def identity(self) -> dict[str, object]:
        fields = asdict(self.config)
        del fields["upload_wait_s"], fields["inline_limit_bytes"], fields["timeout_s"]  # transport details
        return {"backend": self.kind, **fields}

    def complete(self, messages: Sequence[Message]) -> str:
        uploaded: list[Any] = []
        try:
            system = "\n\n".join(m.text for m in messages if m.role == "system") or None
            contents = [
                self._types.Content(
                    role="model" if message.role == "assistant" else "user",
                    parts=[self._part(part, uploaded) for part in message.parts],
                )
                for message in messages
                if message.role != "system"
            ]
            config = self._types.GenerateContentConfig(
                system_instruction=system,
                temperature=self.config.temperature,
                max_output_tokens=self.config.max_output_tokens,
            )
            response = self._client.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except self._errors.APIError as error:
            raise self._api_error(error) from None
        except Exception as error:
            if "timeout" in type(error).__name__.lower() or isinstance(error, TimeoutError):
                raise BackendTimeout(f"no answer from Gemini within {self.config.timeout_s:g}s") from None
            if isinstance(error, (ConnectionError, OSError)):
                raise BackendUnavailable(f"cannot reach Gemini: {scrub(str(error), self._api_key)}") from None
            raise
        finally:
            for file in uploaded:
                with contextlib.suppress(Exception):  # a temporary upload; it expires anyway
                    self._client.files.delete(name=file.name)
        text = getattr(response, "text", None)
        if text:
            return str(text)
        feedback = getattr(response, "prompt_feedback", None)
        reason = getattr(feedback, "block_reason", None) if feedback is not None else None
        return f"(no text in the answer; block reason: {reason})" if reason else ""

    def _part(self, part: Any, uploaded: list[Any]) -> Any:
        types = self._types
        if isinstance(part, TextPart):
            return types.Part(text=part.text)
        if isinstance(part, ImagePart):
            return types.Part(
                inline_data=types.Blob(data=encode_image(part.image, fmt="PNG"), mime_type="image/png")
            )
        if isinstance(part, VideoPart):
            data, mime = video_bytes(part)
            metadata = types.VideoMetadata(fps=self.config.sample_fps)
            if len(data) <= self.config.inline_limit_bytes:
                return types.Part(inline_data=types.Blob(data=data, mime_type=mime), video_metadata=metadata)
            file = self._upload(data, mime)
            uploaded.append(file)
            return types.Part(
                file_data=types.FileData(file_uri=file.uri, mime_type=mime), video_metadata=metadata
            )
        raise TypeError(f"unsupported message part: {type(part).__name__}")

    def _upload(self, data: bytes, mime: str) -> Any:
        file = self._client.files.upload(
            file=io.BytesIO(data), config=self._types.UploadFileConfig(mime_type=mime)
        )
        deadline = time.monotonic() + self.config.upload_wait_s
        while str(getattr(file.state, "name", file.state)) == "PROCESSING":
            if time.monotonic() > deadline:
                raise BackendTimeout(f"uploaded video still processing after {self.config.upload_wait_s:g}s")
            time.sleep(2.0)
            file = self._client.files.get(name=file.name)
        if str(getattr(file.state, "name", file.state)) != "ACTIVE":
            raise BackendRequestRejected(f"Gemini could not process the uploaded video (state {file.state})")
        return file

    def _api_error(self, error: Any) -> Exception:
        code = int(getattr(error, "code", 0) or 0)
        message = scrub(" ".join(str(error).split())[:300], self._api_key)
        if code == 429:
            return RateLimited(f"Gemini: {message}")
        if code in (408, 504):
            return BackendTimeout(f"Gemini: {message}")
        if code >= 500:
            return ServerError(f"Gemini: {message}")
        if code in (401, 403):
            return BackendConfigError(f"Gemini refused the API key (HTTP {code}); check GEMINI_API_KEY")
        if code == 404:
            return BackendConfigError(f"Gemini: {message} (check --model {self.model!r})")
        return BackendRequestRejected(f"Gemini: {message}")


def video_bytes(part: VideoPart) -> tuple[bytes, str]:
    """The clip's original file when known (and of a type Gemini takes), else its frames as MP4."""
    if part.path is not None and part.path.suffix.lower() in _VIDEO_MIME and part.path.is_file():
        return part.path.read_bytes(), _VIDEO_MIME[part.path.suffix.lower()]
    return encode_mp4(part.frames, part.fps), "video/mp4"


def encode_mp4(frames: np.ndarray, fps: float) -> bytes:
    """(T, H, W, 3) uint8 frames as an H.264 MP4, through the project's video writer."""
    from imvideoedit.video.writer import write_video

    with tempfile.TemporaryDirectory(prefix="imvideoedit-gemini-") as folder:
        path = Path(folder) / "clip.mp4"
        write_video(path, np.ascontiguousarray(frames), fps)
        return path.read_bytes()
