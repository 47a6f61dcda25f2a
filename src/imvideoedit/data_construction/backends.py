"""The chat models of the build ([judge], [writer]) made from their config sections.

Backends themselves live in `imvideoedit.vlm`; this module only maps a config section onto a
`BackendChoice` and a `RetryPolicy`. API keys come from the environment (OPENAI_API_KEY,
GEMINI_API_KEY), never from the config file.
"""

from __future__ import annotations

from imvideoedit.data_construction.config import BackendConfig
from imvideoedit.errors import UserError
from imvideoedit.vlm import BackendChoice, ChatBackend, RetryPolicy, build_backend


def build_chat_backend(section: BackendConfig, name: str) -> ChatBackend:
    """The backend [name] describes; a UserError naming the section when it cannot be built."""
    if not section.model:
        raise UserError(f'[{name}] model is not set: name the model (for kind = "local", its folder)')
    choice = BackendChoice(
        kind=section.kind,
        model=section.model,
        base_url=section.base_url,
        timeout_s=section.timeout_s,
        temperature=section.temperature,
        max_tokens=section.max_tokens,
        image_max_side=section.image_max_side,
        device=section.device,
        dtype=section.dtype,
    )
    return build_backend(choice)


def retry_policy(section: BackendConfig) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=section.max_attempts,
        base_delay_s=section.base_delay_s,
        max_delay_s=section.max_delay_s,
    )
