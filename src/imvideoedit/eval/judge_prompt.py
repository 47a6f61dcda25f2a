"""The judge's instructions: the built-in text or a user's file, its version hash, its messages.

A prompt is a template with three placeholders:

    {instruction}     the editing instruction (required, exactly once)
    {source_video}    where the original video is shown (optional, at most once)
    {edited_video}    where the edited video is shown (optional, at most once)

The videos are placed where their placeholders stand, so a prompt copied from a paper, with its
own "Original Video: ... Edited Video: ..." layout, is replayed as written; missing video
placeholders put the videos after the text. Other braces (the JSON example) are left alone.

`version` is a hash of the template's exact text: every score records it, and cached scores are
only reused for the same version, so changing one character of the prompt re-scores.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from imvideoedit.errors import UserError
from imvideoedit.vlm.messages import Message, Part, TextPart, VideoPart

INSTRUCTION = "{instruction}"
SOURCE_VIDEO = "{source_video}"
EDITED_VIDEO = "{edited_video}"
BUILT_IN = "built-in"


@dataclass(frozen=True)
class JudgePrompt:
    template: str
    origin: str  # BUILT_IN or the file it was read from

    @property
    def version(self) -> str:
        digest = hashlib.sha256(self.template.encode("utf-8")).hexdigest()
        return f"sha256:{digest[:16]}"

    def messages(self, instruction: str, source: VideoPart, edited: VideoPart) -> list[Message]:
        """One user message: the template's text with the instruction and both videos in place."""
        pending: dict[str, VideoPart] = {
            SOURCE_VIDEO: replace(source, label=source.label or "original video"),
            EDITED_VIDEO: replace(edited, label=edited.label or "edited video"),
        }
        parts: list[Part] = []

        def add_text(piece: str) -> None:
            if piece.strip():
                parts.append(TextPart(piece.strip().replace(INSTRUCTION, instruction)))

        text = self.template
        while True:
            positions = [(text.find(token), token) for token in pending if token in text]
            if not positions:
                break
            index, token = min(positions)
            add_text(text[:index])
            parts.append(pending.pop(token))
            text = text[index + len(token) :]
        add_text(text)
        for token, video in pending.items():  # placeholders the template did not have
            label = (
                "Original video (before editing):"
                if token == SOURCE_VIDEO
                else "Edited video (after editing):"
            )
            parts += [TextPart(label), video]
        return [Message("user", tuple(parts))]


def default_prompt() -> JudgePrompt:
    text = resources.files("imvideoedit.eval").joinpath("judge_prompt.md").read_text(encoding="utf-8")
    return JudgePrompt(text, BUILT_IN)


def load_prompt(path: str | Path | None) -> JudgePrompt:
    """The prompt in `path` (UTF-8 text), or the built-in one when `path` is None."""
    if path is None:
        return default_prompt()
    path = Path(path)
    if not path.is_file():
        raise UserError(f"judge prompt file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"judge prompt file is not UTF-8 text: {path}") from None
    count = text.count(INSTRUCTION)
    if count != 1:
        raise UserError(f"judge prompt {path} must contain {INSTRUCTION} exactly once (found {count})")
    for token in (SOURCE_VIDEO, EDITED_VIDEO):
        if text.count(token) > 1:
            raise UserError(f"judge prompt {path} contains {token} more than once")
    return JudgePrompt(text, str(path))
