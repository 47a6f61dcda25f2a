"""The method at CPU scale, measured against exact ground truth.

One function per step, each using the project's ordinary machinery — no world-only copies:
    write_training_pairs  single-frame world pairs in the training dataset format  (pairs.py)
    train_world_adapter   the ordinary trainer (`imvideoedit.training.trainer.train`) on them
    edit_clips            `ImVideoEditPipeline` on held-out world videos (whole clips)
    edit_frame            one frame edited as its own 1-frame video
    edit_frames_apart     the per-frame baseline: every frame edited as its own 1-frame video
    score                 ground-truth metrics per edit kind, for any method's outputs

Guidance. With a scale above 1 the unconditional pass gets a negative prompt; `negative="source"`
makes it the source clip's own caption. Keep pairs teach the adapter that the source caption
means "change nothing", so guidance then pushes the sample away from a copy of the source along
the edit: uncond + g * (cond - uncond) = copy + g * (edit - copy). A conservative edit gets
stronger; one that is already complete overshoots (docs/proving_ground.md measures both).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from imvideoedit.world.base_model import WORLD_FLOW_SHIFT
from imvideoedit.world.edits import Edit
from imvideoedit.world.ground_truth_metrics import edit_metrics
from imvideoedit.world.render import render


@dataclass(frozen=True)
class AdapterRecipe:
    """How the world adapter is trained (the demo's and the ablation's settings)."""

    variant: str = "full"
    seed: int = 0
    steps: int = 600
    batch_size: int = 8
    learning_rate: float = 1e-3  # as good at 600 steps as 5e-4 at 1,200 (docs/proving_ground.md)
    flow_shift: float = WORLD_FLOW_SHIFT  # the shift the world base was trained with


# What the unconditional pass reads when guiding: the source clip's caption, or the empty prompt.
Negative = Literal["source", "empty"]
NEGATIVES: tuple[str, ...] = ("source", "empty")
EDIT_GUIDANCE = 1.5  # with negative="source"; chosen on a validation set (docs/proving_ground.md)


def check_negative(negative: str) -> None:
    """Refuse a negative-prompt policy other than NEGATIVES."""
    if negative not in NEGATIVES:
        raise ValueError(f"negative must be one of {NEGATIVES}, got {negative!r}")


def negative_caption(edit: Edit, negative: Negative) -> str:
    """The negative prompt of one edit under the policy `negative`."""
    check_negative(negative)
    return edit.source_caption if negative == "source" else ""


def train_world_adapter(
    base: str | os.PathLike,
    pairs: str | os.PathLike,
    output_dir: str | os.PathLike,
    recipe: AdapterRecipe = AdapterRecipe(),
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Train an adapter on world pairs with the ordinary trainer; returns the adapter file.

    Resumes from the newest checkpoint in `output_dir` (a killed demo or ablation job picks up
    where it stopped; a finished run only writes its adapter again)."""
    from imvideoedit.training.config import build_config
    from imvideoedit.training.trainer import train

    config = build_config(
        {
            "model": {"base": str(base), "weights_dtype": "float32", "gradient_checkpointing": False},
            "adapter": {"variant": recipe.variant},
            "data": {
                "path": str(pairs),
                "height": 32,
                "width": 32,
                "bucket_step": 16,
                "cache_dtype": "float32",
                "cache_dir": None if cache_dir is None else str(cache_dir),
            },
            "optim": {"learning_rate": recipe.learning_rate, "warmup_steps": 20},
            "train": {
                "output_dir": str(output_dir),
                "seed": recipe.seed,
                "global_batch_size": recipe.batch_size,
                "per_device_batch_size": recipe.batch_size,
                "max_steps": recipe.steps,
                "flow_shift": recipe.flow_shift,
                "mixed_precision": "no",
                "checkpoint_every": max(recipe.steps // 4, 1),
                "keep_checkpoints": 1,
                "log_every": 50,
                "logger": "none",
            },
            "validation": {"every_steps": 0},
        }
    )
    return train(config, resume=True).adapter_path


def edit_clips(
    pipe,
    edits: list[Edit],
    steps: int = 20,
    guidance: float = 1.0,
    seed: int = 0,
    negative: Negative = "source",
) -> list[np.ndarray]:
    """Edit each held-out source clip as a whole video; returns uint8 (T, H, W, 3) clips."""
    from imvideoedit.video.clip import ClipSpec

    outputs = []
    for index, edit in enumerate(edits):
        source = render(edit.source)
        spec = ClipSpec(model_fps=None, num_frames=len(source), height=source.shape[1], width=source.shape[2])
        result = pipe(
            video=source,
            prompt=edit.target_caption,
            negative_prompt=negative_caption(edit, negative),
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=torch.Generator().manual_seed(seed + index),
            clip_spec=spec,
            output_type="uint8",
        )
        outputs.append(np.asarray(result.frames[0]))
    return outputs


def edit_frame(
    pipe,
    frame: np.ndarray,
    prompt: str,
    steps: int = 20,
    guidance: float = 1.0,
    seed: int = 0,
    negative_prompt: str = "",
) -> np.ndarray:
    """One frame (H, W, 3) uint8 edited as an independent 1-frame video; returns (H, W, 3)."""
    from imvideoedit.video.clip import ClipSpec

    spec = ClipSpec(model_fps=None, num_frames=1, height=frame.shape[0], width=frame.shape[1])
    result = pipe(
        video=np.stack([frame, frame]),  # a still held for two frames; the plan keeps one
        prompt=prompt,
        negative_prompt=negative_prompt,
        num_inference_steps=steps,
        guidance_scale=guidance,
        generator=torch.Generator().manual_seed(seed),
        clip_spec=spec,
        output_type="uint8",
    )
    return np.asarray(result.frames[0][0])


def edit_frames_apart(
    pipe,
    edits: list[Edit],
    steps: int = 20,
    guidance: float = 1.0,
    seed: int = 0,
    negative: Negative = "source",
) -> list[np.ndarray]:
    """The per-frame baseline: every source frame edited as an independent 1-frame video."""
    return [
        np.stack(
            [
                edit_frame(
                    pipe,
                    frame,
                    edit.target_caption,
                    steps,
                    guidance,
                    seed + index * 1000 + t,
                    negative_caption(edit, negative),
                )
                for t, frame in enumerate(render(edit.source))
            ]
        )
        for index, edit in enumerate(edits)
    ]


def score(edits: list[Edit], outputs: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """Mean metrics per edit kind and overall: {kind: {metric: mean}}."""
    per_kind: dict[str, list[dict[str, float]]] = defaultdict(list)
    for edit, output in zip(edits, outputs, strict=True):
        metrics = edit_metrics(output, edit)
        per_kind[edit.kind].append(metrics)
        per_kind["all"].append(metrics)
    return {
        kind: {key: float(np.nanmean([m[key] for m in rows])) for key in rows[0]}
        for kind, rows in per_kind.items()
    }
