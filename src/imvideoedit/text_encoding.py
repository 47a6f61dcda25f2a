"""Prompt embeddings with Wan's recipe (UMT5, padded to a fixed length with zeros).

The same function serves training (cached embeddings) and editing, so the adapter sees text
embedded exactly as at inference. The recipe follows diffusers' WanPipeline: tokens beyond each
prompt's length are replaced by zeros, not by the encoder's padding outputs.
"""

from __future__ import annotations

import re

import torch

MAX_SEQUENCE_LENGTH = 512  # Wan2.1's UMT5 context length


def clean_prompt(text: str) -> str:
    """Collapse whitespace (diffusers also fixes mojibake with ftfy when it is installed)."""
    return re.sub(r"\s+", " ", text).strip()


def count_tokens(tokenizer, prompt: str) -> int:
    """Number of tokens the text encoder would see for `prompt`, special tokens included."""
    return len(tokenizer(clean_prompt(prompt), add_special_tokens=True)["input_ids"])


@torch.no_grad()
def encode_prompts(
    tokenizer,
    text_encoder,
    prompts: list[str],
    max_sequence_length: int = MAX_SEQUENCE_LENGTH,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """prompts (n strings) -> embeddings (n, max_sequence_length, text_dim), zero past each prompt."""
    encoder_device = next(text_encoder.parameters()).device
    tokens = tokenizer(
        [clean_prompt(p) for p in prompts],
        padding="max_length",
        max_length=max_sequence_length,
        truncation=True,
        add_special_tokens=True,
        return_attention_mask=True,
        return_tensors="pt",
    )
    ids, mask = tokens.input_ids.to(encoder_device), tokens.attention_mask.to(encoder_device)
    lengths = mask.gt(0).sum(dim=1)  # (n,)
    hidden = text_encoder(ids, mask).last_hidden_state  # (n, L, text_dim)
    keep = torch.arange(max_sequence_length, device=encoder_device)[None, :] < lengths[:, None]  # (n, L)
    hidden = hidden * keep[..., None].to(hidden.dtype)  # zero past each prompt's length
    return hidden.to(device=device or encoder_device, dtype=dtype or hidden.dtype)
