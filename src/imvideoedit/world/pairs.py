"""World image pairs for adapter training, and the fixed held-out video set for evaluation.

Training pairs are single frames: a rendered frame of a random scene, the same frame of the
edited scene, and the edited scene's caption (the whole scene after the edit, as the paper
prescribes). They are written in the training dataset format, so the ordinary trainer reads
them. The held-out set is a fixed list of (source video, instruction, caption, ground truth)
covering every edit kind equally.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from imvideoedit.atomic_write import atomic_path, atomic_write_text
from imvideoedit.data.keep_pairs import KEEP_INSTRUCTION
from imvideoedit.world.edits import EDIT_KINDS, Edit, apply_edit
from imvideoedit.world.render import render
from imvideoedit.world.scene import sample_scene

HELDOUT_SEED = 20261126  # fixed: the held-out set must not change between runs
VALIDATION_SEED = 777  # a second fixed set, for choosing settings without looking at the held-out one

# The share of keep pairs in the demo's and the ablation's training pairs. Trained on edit pairs
# alone, the world adapter never learns to copy what an edit keeps (it reproduces a frame at
# 17 dB, and copies at 28 dB when it trains on keep pairs alone); with half keep pairs it copies
# at 22 dB and still edits (docs/proving_ground.md, "the copy ceiling").
KEEP_SHARE = 0.5


def write_training_pairs(
    directory: str | os.PathLike,
    count: int,
    seed: int = 0,
    size: int = 32,
    frames: int = 9,
    keep_share: float = 0.0,
) -> Path:
    """Write `count` single-frame pairs (PNG) and metadata.jsonl; existing pairs are kept.

    A `keep_share` of them, spread evenly, are keep pairs: the source frame is its own target
    and the prompt is its own caption (the edit "change nothing"). The same scenes and frames
    are drawn whatever the share, so pair folders that differ only in it hold the same sources."""
    if not 0.0 <= keep_share <= 1.0:
        raise ValueError(f"keep_share must lie in [0, 1], not {keep_share}")
    directory = Path(directory)
    (directory / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kinds = tuple(EDIT_KINDS)
    rows = []
    for index in range(count):
        edit = _sample(rng, kinds[index % len(kinds)], size, frames)
        frame = int(rng.integers(0, frames))
        pair_id = f"world-{seed}-{index:06d}"
        source, target = f"images/{pair_id}_source.png", f"images/{pair_id}_target.png"
        keep = int((index + 1) * keep_share) > int(index * keep_share)  # every (1 / share)-th pair
        images = ((source, edit.source),) if keep else ((source, edit.source), (target, edit.target))
        for name, scene in images:
            if not (directory / name).exists():
                with atomic_path(directory / name) as tmp:
                    Image.fromarray(render(scene)[frame]).save(tmp, format="PNG")
        row = {
            "id": pair_id,
            "source": source,
            "target": source if keep else target,
            "prompt": edit.source_caption if keep else edit.target_caption,
            "source_prompt": edit.source_caption,
            "instruction": KEEP_INSTRUCTION if keep else edit.instruction,
        }
        rows.append(row if keep else {**row, "task": edit.task})
    atomic_write_text(directory / "metadata.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    return directory


def heldout_edits(count: int = 100, size: int = 32, frames: int = 9, seed: int = HELDOUT_SEED) -> list[Edit]:
    """A fixed set of `count` edits, the edit kinds taking turns (so every kind is covered)."""
    rng = np.random.default_rng(seed)
    kinds = tuple(EDIT_KINDS)
    return [_sample(rng, kinds[index % len(kinds)], size, frames) for index in range(count)]


def _sample(rng: np.random.Generator, kind: str, size: int, frames: int) -> Edit:
    for _ in range(1000):
        edit = apply_edit(sample_scene(rng, size=size, frames=frames), kind, rng)
        if edit is not None:
            return edit
    raise RuntimeError(f"could not sample an applicable {kind!r} edit")
