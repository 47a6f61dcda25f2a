"""A complete tiny Wan base with random weights, written offline in diffusers layout.

`write_tiny_base(DIR)` produces the same folder structure as `Wan-AI/Wan2.1-T2V-1.3B-Diffusers`
(model_index.json, transformer/, vae/, text_encoder/ (UMT5), tokenizer/, scheduler/), so
`WanPipeline.from_pretrained(DIR)`, `ImVideoEditPipeline.from_pretrained(DIR, ...)` and every
command that takes `--base` work on it with no download. The tokenizer is a Unigram tokenizer
built in code (English prompt words plus single characters), so any prompt tokenises.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from imvideoedit.atomic_write import atomic_directory
from imvideoedit.errors import UserError, refuse_file_as_folder
from imvideoedit.wan_configs import NAMED_CONFIGS

_WORDS = [
    "a",
    "an",
    "the",
    "and",
    "or",
    "of",
    "in",
    "on",
    "at",
    "with",
    "into",
    "onto",
    "from",
    "to",
    "by",
    "for",
    "under",
    "over",
    "near",
    "behind",
    "front",
    "left",
    "right",
    "is",
    "are",
    "was",
    "be",
    "being",
    "wearing",
    "holding",
    "moving",
    "walking",
    "running",
    "jumping",
    "sitting",
    "standing",
    "turning",
    "skiing",
    "dog",
    "cat",
    "kitten",
    "wolf",
    "camel",
    "horse",
    "bird",
    "fish",
    "man",
    "woman",
    "person",
    "child",
    "people",
    "car",
    "jeep",
    "road",
    "street",
    "snow",
    "sand",
    "grass",
    "water",
    "ocean",
    "river",
    "lake",
    "mountain",
    "forest",
    "tree",
    "flower",
    "sky",
    "cloud",
    "sun",
    "sunset",
    "night",
    "day",
    "city",
    "room",
    "house",
    "table",
    "chair",
    "floor",
    "wall",
    "window",
    "door",
    "lamp",
    "light",
    "fire",
    "smoke",
    "rain",
    "red",
    "blue",
    "green",
    "yellow",
    "white",
    "black",
    "gray",
    "orange",
    "purple",
    "pink",
    "brown",
    "gold",
    "silver",
    "shiny",
    "dark",
    "bright",
    "warm",
    "cold",
    "small",
    "large",
    "big",
    "tall",
    "short",
    "old",
    "young",
    "hat",
    "helmet",
    "hair",
    "clothes",
    "shirt",
    "dress",
    "coat",
    "costume",
    "robot",
    "astronaut",
    "policeman",
    "cowboy",
    "punk",
    "style",
    "cyberpunk",
    "starry",
    "van",
    "gogh",
    "painting",
    "cartoon",
    "anime",
    "sketch",
    "watercolor",
    "oil",
    "photo",
    "realistic",
    "cinematic",
    "camera",
    "zoom",
    "pan",
    "close",
    "up",
    "wide",
    "shot",
    "background",
    "foreground",
    "object",
    "shape",
    "square",
    "circle",
    "triangle",
    "stripes",
    "texture",
    "replace",
    "add",
    "remove",
    "change",
    "turn",
    "make",
    "it",
    "his",
    "her",
    "its",
    "their",
    "head",
    "face",
]
_CHARS = [chr(c) for c in range(33, 127)]


def build_tokenizer(words: list[str] | tuple[str, ...] = tuple(_WORDS), max_length: int = 512):
    """A T5-style Unigram tokenizer over `words` and single characters (no download)."""
    from transformers import T5Tokenizer

    vocab: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    vocab += [("\u2581" + word, -5.0) for word in dict.fromkeys(words)]
    vocab += [(char, -10.0) for char in _CHARS]
    vocab += [("\u2581" + char, -9.0) for char in _CHARS]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=max_length)


def build_tiny_components(seed: int = 0) -> dict:
    """Random-weight transformer, VAE, UMT5 encoder, tokenizer and scheduler (all tiny, fp32)."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = build_tokenizer()
    transformer_config = NAMED_CONFIGS["tiny"]
    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(**transformer_config)
    torch.manual_seed(seed + 1)
    vae = AutoencoderKLWan(
        base_dim=8,
        z_dim=transformer_config["in_channels"],
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    torch.manual_seed(seed + 2)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=transformer_config["text_dim"],
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )
    )
    # Wan2.1's own scheduler choice (flow-matching UniPC, shift 3).
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000, flow_shift=3.0
    )
    return {
        "transformer": transformer.eval(),
        "vae": vae.eval(),
        "text_encoder": text_encoder.eval(),
        "tokenizer": tokenizer,
        "scheduler": scheduler,
    }


def write_tiny_base(directory: str | os.PathLike, seed: int = 0, overwrite: bool = False) -> Path:
    """Write the tiny base to `directory` (complete, or not at all)."""
    from diffusers import WanPipeline

    target = Path(directory)
    refuse_file_as_folder(target, kind="base folder")
    if not 0 <= seed < 2**63:
        raise UserError(f"seed must be in [0, 2**63), got {seed}")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise UserError(f"{target} exists and is not empty; choose another folder or pass --overwrite")
    pipeline = WanPipeline(**build_tiny_components(seed))
    # Written into a temporary sibling folder, then renamed: a killed run leaves no partial base.
    with atomic_directory(target, replace=True) as tmp:
        pipeline.save_pretrained(str(tmp), safe_serialization=True)
    return target
