"""Preprocessing: validated pairs -> latents and prompt embeddings in the latent cache.

`plan_pairs` decides, without loading any model, each pair's bucket and cache keys (hashing the
image files). `encode_missing` then loads the VAE and/or the text encoder only if something is
missing, encodes just that, and frees them again. Several processes split the missing work by
rank and write their own shards; after a barrier every process sees all of them.

Each image is a single-frame video: pixels (3, 1, H, W) -> latents (C, 1, H/8, W/8).
"""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from imvideoedit.data.buckets import (
    Bucket,
    choose_bucket,
    image_to_video_tensor,
    make_buckets,
    resize_and_crop,
)
from imvideoedit.data.images import ImageProblem, file_digest, load_rgb
from imvideoedit.data.latent_cache import LatentCache, ShardWriter, pair_key, text_key
from imvideoedit.data.validation import CheckedPair
from imvideoedit.errors import UserError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class ResizeSettings:
    """How images become bucket-sized pixels; part of every pair's cache key."""

    height: int
    width: int
    bucket_step: int
    max_aspect: float

    def buckets(self) -> list[Bucket]:
        return make_buckets(self.height, self.width, self.bucket_step, self.max_aspect)

    def as_key(self) -> dict:
        return {
            "area": [self.height, self.width],
            "step": self.bucket_step,
            "max_aspect": self.max_aspect,
            "resample": "bicubic",
        }


@dataclass(frozen=True)
class PlannedPair:
    """One training example as the trainer sees it: where its tensors live in the cache."""

    id: str
    pair_entry: str  # "pair/<key>": source and target latents
    text_entry: str  # "text/<key>": the prompt embedding
    bucket: Bucket
    prompt: str
    source_path: str
    target_path: str


def text_entry_for(prompt: str, max_tokens: int, encoders: str, dtype: str) -> str:
    return f"text/{text_key(prompt, max_tokens, encoders, dtype)}"


def plan_pairs(
    pairs: list[CheckedPair],
    settings: ResizeSettings,
    encoders: str,
    dtype: str,
    max_tokens: int,
    workers: int = 4,
) -> list[PlannedPair]:
    """Bucket and cache keys of every pair (image files are hashed, not decoded)."""
    buckets = settings.buckets()
    resize = settings.as_key()

    def plan(pair: CheckedPair) -> PlannedPair:
        bucket = choose_bucket(*pair.source_size, buckets)
        key = pair_key(
            file_digest(pair.source_path),
            file_digest(pair.target_path),
            (bucket.height, bucket.width),
            resize,
            encoders,
            dtype,
        )
        return PlannedPair(
            id=pair.row.id,
            pair_entry=f"pair/{key}",
            text_entry=text_entry_for(pair.row.prompt, max_tokens, encoders, dtype),
            bucket=bucket,
            prompt=pair.row.prompt,
            source_path=str(pair.source_path),
            target_path=str(pair.target_path),
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(plan, pairs))


def encode_missing(
    planned: list[PlannedPair],
    cache: LatentCache,
    base: str,
    device: torch.device | str,
    dtype: str,
    max_tokens: int,
    encoders: str,
    text_encoder_dtype: torch.dtype = torch.float32,
    extra_prompts: tuple[str, ...] = (),
    rank: int = 0,
    world_size: int = 1,
    entries_per_shard: int = 64,
    show_progress: bool = True,
) -> int:
    """Encode what the cache lacks (this rank's share); returns the number of entries written."""
    missing_pairs = [p for p in _unique(planned, "pair_entry") if p.pair_entry not in cache][rank::world_size]
    prompts = {p.text_entry: p.prompt for p in planned}
    for prompt in extra_prompts:
        prompts[text_entry_for(prompt, max_tokens, encoders, dtype)] = prompt
    missing_texts = [(entry, prompt) for entry, prompt in prompts.items() if entry not in cache][
        rank::world_size
    ]
    if not missing_pairs and not missing_texts:
        return 0

    storage_dtype = DTYPES[dtype]
    writer = ShardWriter(cache, entries_per_shard, tag=f"r{rank}")
    if missing_pairs:
        _encode_pairs(missing_pairs, writer, base, device, storage_dtype, show_progress)
    if missing_texts:
        _encode_texts(
            missing_texts, writer, base, device, storage_dtype, text_encoder_dtype, max_tokens, show_progress
        )
    writer.flush()
    return writer.written


def load_pair_pixels(pair: PlannedPair) -> torch.Tensor:
    """Source and target, resized and cropped alike -> (2, 3, 1, H, W) in [-1, 1]."""
    frames = []
    for path in (pair.source_path, pair.target_path):
        try:
            image = load_rgb(path).image
        except ImageProblem as problem:
            raise UserError(f"pair {pair.id}: {problem} (did the file change after validation?)") from None
        frames.append(image_to_video_tensor(resize_and_crop(image, pair.bucket)))
    return torch.stack(frames)


def _encode_pairs(pairs, writer, base, device, storage_dtype, show_progress) -> None:
    from imvideoedit.data.encoders import load_vae
    from imvideoedit.vae_latents import encode_pixels

    vae = load_vae(base, device, torch.float32)  # the Wan VAE is small; fp32 keeps latents exact
    for pair in tqdm(pairs, desc="encoding images", unit="pair", disable=not show_progress):
        latents = encode_pixels(vae, load_pair_pixels(pair))  # (2, C, 1, h, w)
        writer.add(
            pair.pair_entry, {"source": latents[0].to(storage_dtype), "target": latents[1].to(storage_dtype)}
        )
    del vae
    _free_memory()


def _encode_texts(
    texts, writer, base, device, storage_dtype, encoder_dtype, max_tokens, show_progress
) -> None:
    from imvideoedit.data.encoders import load_text_encoder, load_tokenizer
    from imvideoedit.text_encoding import count_tokens, encode_prompts

    tokenizer = load_tokenizer(base)
    text_encoder = load_text_encoder(base, device, encoder_dtype)
    batch = 8
    with tqdm(total=len(texts), desc="encoding prompts", unit="prompt", disable=not show_progress) as bar:
        for start in range(0, len(texts), batch):
            chunk = texts[start : start + batch]
            embeddings = encode_prompts(tokenizer, text_encoder, [prompt for _, prompt in chunk], max_tokens)
            for (entry, prompt), embedding in zip(chunk, embeddings, strict=True):
                length = min(count_tokens(tokenizer, prompt), max_tokens)
                writer.add(entry, {"text": embedding[:length].to(storage_dtype)})  # (n_tokens, text_dim)
            bar.update(len(chunk))
    del text_encoder
    _free_memory()


def _unique(planned: list[PlannedPair], attribute: str) -> list[PlannedPair]:
    seen: dict[str, PlannedPair] = {}
    for pair in planned:
        seen.setdefault(getattr(pair, attribute), pair)
    return list(seen.values())


def _free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
