"""At which noise level does the world base decide an object's kind? Start from a noised render
whose caption names another kind, and see which one comes back.

Sampling starts from a render noised part of the way (SDEdit: the last `strength` share of the
scheduler's steps), with each object's kind word changed to another kind. Where the noise is
light the frame decides and the render's kind comes back; where it is heavy the caption
decides. A base that follows kind words turns to the caption's kind from some level on; a base
that has not learned them draws neither kind once the frame no longer shows it. This tells a
base that cannot draw shapes from one that draws them but does not take them from the words,
and shows the noise levels where the words have to do the work.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from imvideoedit.text_encoding import text_length
from imvideoedit.vae_latents import decode_latents, encode_pixels
from imvideoedit.world.render import render
from imvideoedit.world.scene import SHAPE_KINDS, Scene, caption
from imvideoedit.world.temporal_prior import measure


@dataclass(frozen=True)
class KindDecision:
    strength: float  # the share of the sampling steps run (1: from pure noise)
    sigma: float  # the noise level sampling starts from
    present: float  # share of objects present in every frame
    render_kind: float  # share present and read as the render's kind in every frame
    caption_kind: float  # share present and read as the caption's (other) kind in every frame


def with_other_kinds(scene: Scene, offset: int, kinds: tuple[str, ...] = SHAPE_KINDS) -> Scene:
    """`scene` with every object's kind moved `offset` places along `kinds` (the world's; an
    offset from 1 to len(kinds) - 1 gives each object another kind)."""
    shapes = tuple(replace(s, kind=kinds[(kinds.index(s.kind) + offset) % len(kinds)]) for s in scene.shapes)
    return replace(scene, shapes=shapes)


def sample_from_renders(
    pipe,
    scenes: list[Scene],
    told: list[Scene],
    strength: float,
    steps: int = 30,
    seed: int = 0,
    batch: int = 8,
) -> tuple[list[np.ndarray], float]:
    """The base's unguided samples (T, H, W, 3) uint8 for the captions of `told`, started from
    the renders of `scenes` noised to where the last `strength` share of `steps` begins (rounded
    down to whole steps, at least one); and that noise level. `batch` scenes at a time."""
    videos: list[np.ndarray] = []
    sigma = float("nan")
    for start in range(0, len(scenes), batch):
        chunk, sigma = _sample_chunk(
            pipe, scenes[start : start + batch], told[start : start + batch], strength, steps, seed + start
        )
        videos += chunk
    return videos, sigma


@torch.no_grad()
def _sample_chunk(
    pipe, scenes: list[Scene], told: list[Scene], strength: float, steps: int, seed: int
) -> tuple[list[np.ndarray], float]:
    transformer, scheduler = pipe.transformer, pipe.scheduler
    device = transformer.device
    scheduler.set_timesteps(steps, device=device)
    start = steps - max(1, int(steps * strength))
    scheduler.set_begin_index(start)
    timesteps = scheduler.timesteps[start:]
    renders = np.stack([render(scene) for scene in scenes])  # (b, T, H, W, 3) uint8
    pixels = torch.from_numpy(renders).permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)  # (b, 3, T, H, W)
    clean = encode_pixels(pipe.vae, pixels).to(device=device, dtype=torch.float32)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed)).to(device)
    latents = scheduler.scale_noise(clean, timesteps[:1].expand(len(scenes)), noise)
    prompts, _ = pipe.encode_prompt(
        [caption(scene) for scene in told],
        do_classifier_free_guidance=False,
        max_sequence_length=text_length(pipe.tokenizer),
        device=device,
    )
    for t in timesteps:
        velocity = transformer(
            hidden_states=latents,
            timestep=t.expand(len(scenes)),
            encoder_hidden_states=prompts,
            return_dict=False,
        )[0]
        latents = scheduler.step(velocity, t, latents, return_dict=False)[0]
    videos = (decode_latents(pipe.vae, latents).float() + 1.0) * 127.5  # (b, 3, T, H, W)
    videos = videos.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 4, 1).cpu().numpy()
    sigma = float(scheduler.sigmas[start])
    return list(videos), sigma


def kind_decision(
    pipe,
    scenes: list[Scene],
    strengths: tuple[float, ...],
    steps: int = 30,
    seed: int = 0,
    kinds: tuple[str, ...] = SHAPE_KINDS,
) -> list[KindDecision]:
    """For each strength: the share of objects drawn as the render's kind and as the caption's
    (each object's kind word changed to another of `kinds`, the world's: at least two)."""
    if len(kinds) < 2:
        raise ValueError(f"the kind decision needs a world of two kinds or more, got {list(kinds)}")
    told = [
        with_other_kinds(scene, 1 + index % (len(kinds) - 1), kinds) for index, scene in enumerate(scenes)
    ]
    results = []
    for strength in strengths:
        videos, sigma = sample_from_renders(pipe, scenes, told, strength, steps, seed)
        present, render_kind, _, _ = measure(videos, scenes)
        _, caption_kind, _, _ = measure(videos, told)
        results.append(KindDecision(strength, sigma, present, render_kind, caption_kind))
    return results
