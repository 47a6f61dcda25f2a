"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, SGLang, LM Studio, ...).

One POST to `{base_url}/chat/completions` per call, through the standard library, so that no
SDK retries behind our back and the only moving parts are ours. Images travel inline as
base64 data URLs; a video is sent as evenly sampled frames with their times (`video_as_images`).

The API key goes into the Authorization header and nowhere else: not into `identity()`, not
into `repr`, and it is scrubbed from every error message.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from imvideoedit.vlm.errors import (
    BackendConfigError,
    BackendRequestRejected,
    BackendTimeout,
    BackendUnavailable,
    RateLimited,
    ServerError,
    scrub,
)
from imvideoedit.vlm.images import data_url
from imvideoedit.vlm.messages import ImagePart, Message, TextPart, VideoPart, video_as_images

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class OpenAIConfig:
    model: str
    base_url: str = DEFAULT_OPENAI_BASE_URL
    timeout_s: float = 180.0
    temperature: float | None = 0.0  # None: let the server choose (some reasoning models insist)
    max_tokens: int | None = None  # None: not sent
    frames_per_video: int = 16  # frames sampled from each video
    image_max_side: int = 512  # frames scaled down to this longer side before sending
    image_format: str = "JPEG"
    json_mode: bool = False  # ask for response_format={"type": "json_object"} (not every server has it)


class OpenAICompatibleBackend:
    kind = "openai"

    def __init__(self, config: OpenAIConfig, api_key: str | None = None) -> None:
        if not config.model:
            raise BackendConfigError("the openai backend needs a model name (--model)")
        self.config = config
        self.model = config.model
        self._api_key = api_key or None
        self._url = config.base_url.rstrip("/") + "/chat/completions"

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"OpenAICompatibleBackend(model={self.model!r}, base_url={self.config.base_url!r}, key={key})"

    def identity(self) -> dict[str, object]:
        fields = asdict(self.config)
        del fields["timeout_s"]  # a transport detail: it does not change the answer
        return {"backend": self.kind, **fields}

    def complete(self, messages: Sequence[Message]) -> str:
        body = self.request_body(messages)
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(self._url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise self._http_error(error) from None
        except TimeoutError:
            raise BackendTimeout(
                f"no answer within {self.config.timeout_s:g}s from {self.config.base_url}"
            ) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise BackendTimeout(
                    f"no answer within {self.config.timeout_s:g}s from {self.config.base_url}"
                ) from None
            reason = scrub(str(error.reason), self._api_key)
            raise BackendUnavailable(f"cannot reach {self.config.base_url}: {reason}") from None
        except http.client.HTTPException as error:
            raise ServerError(
                f"broken response from {self.config.base_url}: {type(error).__name__}"
            ) from None
        except OSError as error:
            reason = scrub(str(error), self._api_key)
            raise BackendUnavailable(f"connection to {self.config.base_url} failed: {reason}") from None
        return self._answer_text(raw)

    def request_body(self, messages: Sequence[Message]) -> dict[str, object]:
        """The JSON body for `messages` (public so that tests and dry runs can inspect it)."""
        body: dict[str, object] = {
            "model": self.model,
            "messages": [self._message(message) for message in messages],
        }
        if self.config.temperature is not None:
            body["temperature"] = self.config.temperature
        if self.config.max_tokens is not None:
            body["max_tokens"] = self.config.max_tokens
        if self.config.json_mode:
            body["response_format"] = {"type": "json_object"}
        return body

    def _message(self, message: Message) -> dict[str, object]:
        if message.role != "user":
            if any(not isinstance(part, TextPart) for part in message.parts):
                raise ValueError(f"{message.role} messages can only carry text")
            return {"role": message.role, "content": message.text}
        content: list[dict[str, object]] = []
        for part in message.parts:
            expanded = (
                video_as_images(part, self.config.frames_per_video) if isinstance(part, VideoPart) else [part]
            )
            for piece in expanded:
                if isinstance(piece, TextPart):
                    content.append({"type": "text", "text": piece.text})
                elif isinstance(piece, ImagePart):
                    url = data_url(
                        piece.image, max_side=self.config.image_max_side, fmt=self.config.image_format
                    )
                    content.append({"type": "image_url", "image_url": {"url": url}})
        return {"role": "user", "content": content}

    def _answer_text(self, raw: bytes) -> str:
        try:
            payload = json.loads(raw)
            message = payload["choices"][0]["message"]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError):
            preview = scrub(raw[:200].decode("utf-8", "replace"), self._api_key)
            raise ServerError(f"unexpected response body from {self.config.base_url}: {preview!r}") from None
        content = message.get("content")
        if isinstance(content, list):  # some servers return content parts
            content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        if content:
            return str(content)
        refusal = message.get("refusal")
        return str(refusal) if refusal else ""

    def _http_error(self, error: urllib.error.HTTPError) -> Exception:
        try:
            detail = error.read()[:300].decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - the body is only decoration for the message
            detail = ""
        detail = scrub(" ".join(detail.split()), self._api_key)
        where = f"HTTP {error.code} from {self.config.base_url}"
        message = f"{where}: {detail}" if detail else where
        if error.code == 429:
            return RateLimited(message, retry_after_s=_retry_after(error.headers.get("Retry-After")))
        if error.code in (408, 504):
            return BackendTimeout(message)
        if error.code >= 500:
            return ServerError(message, retry_after_s=_retry_after(error.headers.get("Retry-After")))
        if error.code in (401, 403):
            return BackendConfigError(f"{where}: the API key was refused (check OPENAI_API_KEY)")
        if error.code == 404:
            return BackendConfigError(f"{message} (check --base-url and --model {self.model!r})")
        return BackendRequestRejected(message)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date; fall back to our own backoff
