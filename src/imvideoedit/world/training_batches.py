"""The world base's training batches: rendered clips and their prompts, one batch per step.

Rendering is numpy work on one CPU core, and a GPU step outpaces it several times over. So a
run on a GPU draws its batches in worker processes, ahead of the step that needs them. For that,
each step's batch can come from its own random stream, seeded by (seed, step): the batches then
do not depend on how many workers draw them or in which order they finish, and a resumed run
draws exactly what it would have drawn. The workers also tokenize the prompts: for this small
model, tokenizing a batch took the training process longer than the GPU's forward pass.
"""

from __future__ import annotations

import functools
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from imvideoedit.world.edits import sample_edit
from imvideoedit.world.render import object_mask, render
from imvideoedit.world.scene import FULL_WORLD, MAX_SHAPES, WorldSpec, caption, sample_scene

if TYPE_CHECKING:
    from imvideoedit.world.backbone_training import BackboneTrainingConfig


Tokens = tuple[np.ndarray, np.ndarray]  # token ids and attention mask, each (b, L)


class Batch(NamedTuple):
    """One training step's data."""

    videos: np.ndarray  # uint8 (b, F, H, W, 3); F = 1 on image steps
    prompts: list[str]  # some emptied, for guidance
    object_masks: np.ndarray | None = None  # bool (b, F, H, W), drawn for `object_loss_weight`
    tokens: Tokens | None = None  # the prompts tokenized, as data workers deliver them


def sample_clip(
    rng: np.random.Generator,
    size: int,
    frames: int,
    edited_fraction: float = 0.3,
    max_shapes: int = MAX_SHAPES,
    one_frame: bool = False,
    with_mask: bool = False,
    world: WorldSpec = FULL_WORLD,
) -> tuple[np.ndarray, str, np.ndarray | None]:
    """A rendered clip (T, H, W, 3), its caption and, `with_mask`, its shapes' pixels (T, H, W);
    some are edited scenes, so that every look an edit can produce (zoom, light, style,
    outlines) is in the base's world. `one_frame`: a random frame of the clip alone
    (1, H, W, 3), the others not rendered."""
    scene = sample_scene(rng, size=size, frames=frames, max_shapes=max_shapes, world=world)
    if rng.random() < edited_fraction:
        scene = sample_edit(scene, rng).target
    times = [int(rng.integers(0, frames))] if one_frame else None
    mask = object_mask(scene, times) if with_mask else None
    return render(scene, times), caption(scene), mask


def draw_batch(rng: np.random.Generator, config: BackboneTrainingConfig, step: int) -> Batch:
    """The training batch of `step`: uint8 clips (b, F, H, W, 3), with F = 1 on image steps, and
    their prompts (some emptied, for guidance); with an `object_loss_weight`, the shapes' pixels.
    Drawing the masks takes nothing from `rng`, so they do not change the clips."""
    image_step = (
        step < config.image_only_steps or step % config.image_step_every == config.image_step_every - 1
    )
    batch = (config.image_batch_size or config.batch_size) if image_step else config.batch_size
    # Per-step streams render only an image step's chosen frame; the one shared stream keeps the
    # order it always had (whole clips, then the picks), so that its runs resume unchanged.
    one_frame = image_step and config.per_step_data
    with_mask = config.object_loss_weight != 1.0
    clips = [
        sample_clip(
            rng,
            config.size,
            config.frames,
            config.edited_fraction,
            config.max_shapes,
            one_frame,
            with_mask,
            config.world,
        )
        for _ in range(batch)
    ]
    videos = np.stack([clip for clip, _, _ in clips])  # (b, T or 1, H, W, 3)
    masks = np.stack([mask for _, _, mask in clips]) if with_mask else None  # (b, T or 1, H, W)
    if image_step and not one_frame:  # one frame of each clip
        pick = rng.integers(0, config.frames, size=batch)
        videos = videos[np.arange(batch), pick][:, None]
        masks = masks[np.arange(batch), pick][:, None] if with_mask else None
    prompts = [text if rng.random() >= config.text_dropout else "" for _, text, _ in clips]
    return Batch(videos, prompts, masks)


def step_batch(config: BackboneTrainingConfig, step: int) -> Batch:
    """The batch of `step` drawn from that step's own stream (`per_step_data` runs)."""
    return draw_batch(np.random.default_rng([config.seed, step]), config, step)


@functools.cache
def _world_tokenizer():
    from imvideoedit.world.base_model import build_world_tokenizer

    return build_world_tokenizer()


def tokenized_step_batch(config: BackboneTrainingConfig, step: int) -> Batch:
    """`step_batch` with its prompts tokenized as the world base's text encoder reads them."""
    from imvideoedit.text_encoding import tokenize_prompts

    batch = step_batch(config, step)
    ids, mask = tokenize_prompts(_world_tokenizer(), batch.prompts)  # (b, L) each
    return batch._replace(tokens=(ids.numpy(), mask.numpy()))  # arrays: plain bytes between processes


class PrefetchedBatches:
    """`tokenized_step_batch` for steps ahead, drawn by `workers` processes while the model trains.

    Spawned (not forked) processes, so a parent that has already started CUDA is safe.
    `get(step)` returns exactly `tokenized_step_batch(config, step)`.
    """

    def __init__(self, config: BackboneTrainingConfig, workers: int, ahead: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"PrefetchedBatches needs at least one worker, got {workers}")
        self._config = config
        self._ahead = ahead or 2 * workers
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        self._pending: dict[int, Future] = {}

    def get(self, step: int) -> Batch:
        for wanted in range(step, min(step + self._ahead, self._config.max_steps)):
            if wanted not in self._pending:
                self._pending[wanted] = self._pool.submit(tokenized_step_batch, self._config, wanted)
        future = self._pending.pop(step, None) or self._pool.submit(tokenized_step_batch, self._config, step)
        return future.result()  # steps are asked for in order, so nothing else is ever left behind

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PrefetchedBatches:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
