"""An open vision-language model (or text-only LLM) run locally through transformers, from disk.

Any checkpoint that `AutoModelForImageTextToText` and `AutoProcessor` load and whose processor
has a chat template works (Qwen2.5-VL, LLaVA-style, Idefics, ...). A text-only chat model
(`AutoModelForCausalLM` + its tokenizer's chat template, e.g. Qwen2.5-Instruct) works too, for
calls that carry only text (writing scenes and prompts); it refuses images. Nothing is downloaded:
`local_files_only=True`. Videos are passed as sampled frames with their times, like the
OpenAI-compatible backend, so every backend sees the same evidence for the same settings.
Decoding is greedy, so answers are repeatable; calls are serialised (one model, one device).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from imvideoedit.vlm.errors import BackendConfigError
from imvideoedit.vlm.images import fit_within, to_pil
from imvideoedit.vlm.messages import ImagePart, Message, TextPart, VideoPart, video_as_images


@dataclass(frozen=True)
class LocalVLMConfig:
    model_path: str
    device: str = "cpu"
    dtype: str = "auto"  # "auto", "bfloat16", "float16", "float32"
    max_new_tokens: int = 1024
    frames_per_video: int = 8
    image_max_side: int = 448


class LocalTransformersBackend:
    kind = "local"

    def __init__(
        self, config: LocalVLMConfig, *, model: Any | None = None, processor: Any | None = None
    ) -> None:
        """Loads from `config.model_path` unless `model` and `processor` are given."""
        self.config = config
        self.model = Path(config.model_path).name or config.model_path
        if model is None or processor is None:
            model, processor = _load(config)
        self._model = model
        self._processor = processor
        # A tokenizer (not a multimodal processor) means a text-only chat model.
        self._text_only = not hasattr(processor, "image_processor")
        self._lock = threading.Lock()

    def identity(self) -> dict[str, object]:
        fields = asdict(self.config)
        fields["model_path"] = str(Path(fields["model_path"]).resolve())
        return {"backend": self.kind, **fields}

    def complete(self, messages: Sequence[Message]) -> str:
        import torch

        if self._text_only:
            conversation = [self._text_message(message) for message in messages]
        else:
            conversation = [self._message(message) for message in messages]
        with self._lock, torch.inference_mode():
            inputs = self._processor.apply_chat_template(
                conversation,
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
            ).to(self._model.device)
            if "pixel_values" in inputs and self._model.dtype.is_floating_point:
                inputs["pixel_values"] = inputs["pixel_values"].to(self._model.dtype)
            output = self._model.generate(
                **inputs, max_new_tokens=self.config.max_new_tokens, do_sample=False
            )
        prompt_length = inputs["input_ids"].shape[1]
        return self._processor.batch_decode(output[:, prompt_length:], skip_special_tokens=True)[0]

    def _text_message(self, message: Message) -> dict[str, object]:
        if any(not isinstance(part, TextPart) for part in message.parts):
            raise BackendConfigError(
                f"the local model {self.model} is text-only; it cannot be shown images or videos"
            )
        return {"role": message.role, "content": "\n".join(part.text for part in message.parts)}

    def _message(self, message: Message) -> dict[str, object]:
        content: list[dict[str, object]] = []
        for part in message.parts:
            expanded = (
                video_as_images(part, self.config.frames_per_video) if isinstance(part, VideoPart) else [part]
            )
            for piece in expanded:
                if isinstance(piece, TextPart):
                    content.append({"type": "text", "text": piece.text})
                elif isinstance(piece, ImagePart):
                    image = fit_within(to_pil(piece.image), self.config.image_max_side)
                    content.append({"type": "image", "image": image})
        return {"role": message.role, "content": content}


def _load(config: LocalVLMConfig) -> tuple[Any, Any]:
    path = Path(config.model_path)
    if not path.is_dir():
        raise BackendConfigError(f"local VLM folder not found: {path}")
    if not (path / "config.json").is_file():
        raise BackendConfigError(f"not a transformers model folder (no config.json): {path}")

    import torch
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForImageTextToText,
        AutoProcessor,
        AutoTokenizer,
    )
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    dtypes = {"auto": "auto", "bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
    if config.dtype not in dtypes:
        raise BackendConfigError(f"unknown dtype {config.dtype!r}; choose one of {', '.join(dtypes)}")
    try:
        model_type = AutoConfig.from_pretrained(path, local_files_only=True).model_type
        if model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
            processor = AutoProcessor.from_pretrained(path, local_files_only=True)
            model = AutoModelForImageTextToText.from_pretrained(
                path, local_files_only=True, dtype=dtypes[config.dtype]
            )
        else:  # a text-only chat model
            processor = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                path, local_files_only=True, dtype=dtypes[config.dtype]
            )
    except (OSError, ValueError, KeyError) as error:
        raise BackendConfigError(
            f"cannot load a chat model from {path}: {' '.join(str(error).split())[:300]}"
        ) from None
    if getattr(processor, "chat_template", None) is None:
        raise BackendConfigError(
            f"the processor/tokenizer in {path} has no chat template; the local backend needs one"
        )
    return model.to(config.device).eval(), processor
