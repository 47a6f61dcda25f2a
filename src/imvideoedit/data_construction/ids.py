"""Stable ids, seeds and shards: every item gets the same name, seed and shard on every run.

Ids are derived from content, never from a counter, so that re-running a stage (or running it
with a longer list) names the same item the same way and its finished record is found. Seeds
and shard numbers are derived from ids, so they do not depend on the order items are processed
in, on how many items there are, or on which machine runs them.
"""

from __future__ import annotations

import hashlib
import random
import re

_SAFE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8")).digest()


def scene_id(environment: str, conditions: tuple[str, ...] | list[str]) -> str:
    """'scene-' + 12 hex digits of the environment and its conditions (in order)."""
    return "scene-" + _digest("scene", environment, *conditions).hex()[:12]


def pair_id(scene: str, task: str) -> str:
    """The id of one (scene, task) item; also the file-name stem of its images."""
    item = f"{scene}-{task}"
    if not _SAFE.match(item):
        raise ValueError(f"unsafe item id {item!r}")
    return item


def item_seed(run_seed: int, item: str, purpose: str) -> int:
    """A 63-bit seed for one use (`purpose`: "source", "target", ...) of one item."""
    return int.from_bytes(_digest("seed", run_seed, purpose, item)[:8], "big") & (2**63 - 1)


def stable_rng(*parts: object) -> random.Random:
    """A random generator seeded from `parts` alone (not Python's per-process string hash)."""
    return random.Random(int.from_bytes(_digest("rng", *parts)[:8], "big"))


def shard_of(item: str, num_shards: int) -> int:
    """Which of `num_shards` shards owns `item`: a hash, so shards stay balanced and fixed."""
    return int.from_bytes(_digest("shard", item)[:8], "big") % num_shards
