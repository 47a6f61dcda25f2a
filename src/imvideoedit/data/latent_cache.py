"""A content-keyed store of VAE latents and prompt embeddings, as safetensors shards.

Entries:
    pair/<key>/source, pair/<key>/target   latents (C, 1, h, w) of one pair, in its bucket's size
    text/<key>/text                        a prompt's UMT5 embedding (n_tokens, text_dim), the zero
                                           padding up to 512 tokens stripped (restored at batch time)

A key is a hash of everything its tensors depend on (`pair_key`, `text_key`): the bytes of both
images, the prompt, the bucket and resize settings, the storage dtype and a fingerprint of the
base's VAE/text encoder/tokenizer. Change any of them and the key changes, so the entry is
encoded again; nothing is ever looked up by file name or row number.

Entries are written in shards of a few dozen: each shard is written to a temporary file and
renamed (atomic), so an interrupted preprocessing run loses at most the shard in progress and the
next run encodes only what is missing. Shards are read through memory maps, so training loads
one batch at a time and holds no VAE or text encoder.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from imvideoedit.atomic_write import atomic_path
from imvideoedit.errors import UserError

CACHE_FORMAT = "imvideoedit.latent_cache/1"


def _hash(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def pair_key(
    source_digest: str, target_digest: str, bucket: tuple[int, int], resize: dict, encoders: str, dtype: str
) -> str:
    return _hash(
        {
            "format": CACHE_FORMAT,
            "source": source_digest,
            "target": target_digest,
            "bucket": list(bucket),
            "resize": resize,
            "encoders": encoders,
            "dtype": dtype,
        }
    )


def text_key(prompt: str, max_tokens: int, encoders: str, dtype: str) -> str:
    return _hash(
        {
            "format": CACHE_FORMAT,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "encoders": encoders,
            "dtype": dtype,
        }
    )


class LatentCache:
    """The shards in one folder, indexed by entry key when opened (headers only are read)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._index: dict[str, Path] = {}  # entry ("pair/<key>" or "text/<key>") -> shard
        self._handles: dict[Path, object] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-read the shard headers (after another process has written shards)."""
        self._handles.clear()
        self._index.clear()
        for shard in sorted(self.directory.glob("shard-*.safetensors")):
            try:
                with safe_open(shard, framework="pt") as handle:
                    names = list(handle.keys())
            except Exception as error:  # noqa: BLE001 - safetensors' own error types for a bad header
                raise UserError(
                    f"corrupt latent cache shard {shard} ({error}): delete it, and its entries are encoded again"
                ) from None
            for name in names:
                self._index[name.rsplit("/", 1)[0]] = shard

    def __contains__(self, entry: str) -> bool:
        return entry in self._index

    def __len__(self) -> int:
        return len(self._index)

    def get(self, entry: str, name: str) -> torch.Tensor:
        shard = self._index[entry]
        handle = self._handles.get(shard)
        if handle is None:
            handle = self._handles[shard] = safe_open(shard, framework="pt")
        return handle.get_tensor(f"{entry}/{name}")


class ShardWriter:
    """Collects entries and writes them as a new shard every `entries_per_shard` entries."""

    def __init__(self, cache: LatentCache, entries_per_shard: int = 64, tag: str = "0") -> None:
        self.cache = cache
        self.entries_per_shard = entries_per_shard
        self.tag = tag  # distinguishes shards written by different processes
        self._tensors: dict[str, torch.Tensor] = {}
        self._entries = 0
        self.written = 0

    def add(self, entry: str, tensors: dict[str, torch.Tensor]) -> None:
        for name, tensor in tensors.items():
            self._tensors[f"{entry}/{name}"] = tensor.detach().to("cpu").contiguous()
        self._entries += 1
        if self._entries >= self.entries_per_shard:
            self.flush()

    def flush(self) -> None:
        if not self._tensors:
            return
        shard = self.cache.directory / f"shard-{self.tag}-{uuid.uuid4().hex[:12]}.safetensors"
        with atomic_path(shard) as tmp:
            save_file(self._tensors, str(tmp), metadata={"format": CACHE_FORMAT})
        self.written += self._entries
        self._tensors, self._entries = {}, 0
