"""Pick and build a backend from a few settings; API keys come from the environment only.

`OPENAI_API_KEY` (and `OPENAI_BASE_URL` / `OPENAI_MODEL` as fallbacks for `base_url`/`model`)
for the OpenAI-compatible backend, `GEMINI_API_KEY` for Gemini. Keys are never taken from
command-line arguments or config files, which end up in shell histories and logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from imvideoedit.vlm.backend import ChatBackend
from imvideoedit.vlm.errors import BackendConfigError
from imvideoedit.vlm.gemini import GeminiBackend, GeminiConfig
from imvideoedit.vlm.local_transformers import LocalTransformersBackend, LocalVLMConfig
from imvideoedit.vlm.openai_compat import DEFAULT_OPENAI_BASE_URL, OpenAICompatibleBackend, OpenAIConfig

BACKEND_KINDS = ("openai", "gemini", "local")


@dataclass(frozen=True)
class BackendChoice:
    kind: str  # one of BACKEND_KINDS
    model: str | None = None  # model name; for "local", the model folder
    base_url: str | None = None  # "openai" only
    timeout_s: float = 180.0
    temperature: float | None = 0.0
    max_tokens: int | None = None
    frames_per_video: int = 16  # "openai" and "local": frames sent per video
    image_max_side: int = 512
    sample_fps: float = 4.0  # "gemini": the video sampling rate
    json_mode: bool = False  # "openai": ask for response_format={"type": "json_object"}
    device: str = "cpu"  # "local"
    dtype: str = "auto"  # "local"


def build_backend(choice: BackendChoice, env: Mapping[str, str] | None = None) -> ChatBackend:
    env = os.environ if env is None else env
    if choice.kind == "openai":
        base_url = choice.base_url or env.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_BASE_URL
        model = choice.model or env.get("OPENAI_MODEL")
        if not model:
            raise BackendConfigError("the openai backend needs --model (or OPENAI_MODEL in the environment)")
        key = env.get("OPENAI_API_KEY") or None
        if key is None and not _is_local(base_url):
            raise BackendConfigError(f"OPENAI_API_KEY is not set; {base_url} needs it")
        config = OpenAIConfig(
            model=model,
            base_url=base_url,
            timeout_s=choice.timeout_s,
            temperature=choice.temperature,
            max_tokens=choice.max_tokens,
            frames_per_video=choice.frames_per_video,
            image_max_side=choice.image_max_side,
            json_mode=choice.json_mode,
        )
        return OpenAICompatibleBackend(config, api_key=key)
    if choice.kind == "gemini":
        if not choice.model:
            raise BackendConfigError("the gemini backend needs --model (e.g. gemini-2.5-pro)")
        key = env.get("GEMINI_API_KEY") or None
        if key is None:
            raise BackendConfigError("GEMINI_API_KEY is not set; the gemini backend needs it")
        config = GeminiConfig(
            model=choice.model,
            sample_fps=choice.sample_fps,
            timeout_s=choice.timeout_s,
            temperature=choice.temperature,
            max_output_tokens=choice.max_tokens,
        )
        return GeminiBackend(config, api_key=key)
    if choice.kind == "local":
        if not choice.model:
            raise BackendConfigError("the local backend needs --model PATH (a transformers VLM folder)")
        config = LocalVLMConfig(
            model_path=choice.model,
            device=choice.device,
            dtype=choice.dtype,
            max_new_tokens=choice.max_tokens or 1024,
            frames_per_video=choice.frames_per_video,
            image_max_side=choice.image_max_side,
        )
        return LocalTransformersBackend(config)
    raise BackendConfigError(f"unknown backend {choice.kind!r}; choose one of {', '.join(BACKEND_KINDS)}")


def _is_local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".local")
