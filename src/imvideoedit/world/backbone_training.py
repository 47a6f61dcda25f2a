"""Train the world's text-to-video base: rectified flow on rendered world videos.

The transformer and its small text encoder learn together from an endless stream of rendered
clips (and, a quarter of the steps, single frames, so the base also knows images as 1-frame
videos, as Wan does). An exponential moving average of the weights is what gets saved. The
run checkpoints its whole state every few minutes and resumes after a kill.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from imvideoedit.atomic_write import atomic_path
from imvideoedit.flow_matching import add_noise, shift_sigmas, velocity_target
from imvideoedit.text_encoding import embed_prompts
from imvideoedit.world.base_model import (
    WORLD_FLOW_SHIFT,
    WorldModelConfig,
    build_world_components,
    model_config_metadata,
    save_world_base,
)
from imvideoedit.world.training_batches import PrefetchedBatches, draw_batch, step_batch

LATENT_STD = 0.5  # PixelSpaceVAE's latents_std: pixels in [-1, 1] divided by 0.5


@dataclass(frozen=True)
class BackboneTrainingConfig:
    model: WorldModelConfig = field(default_factory=WorldModelConfig)
    size: int = 32
    frames: int = 9
    batch_size: int = 8
    image_step_every: int = 4  # every Nth step trains on single frames (images)
    # Clips per image step (0: batch_size). A single frame costs about a ninth of a 9-frame
    # clip, and a frame's look (shapes, colours, layout) is learned per frame, so larger image
    # batches buy that part of the prior cheaply (docs/proving_ground.md, runs gA/gB).
    image_batch_size: int = 0
    # The first N steps train on single frames only (Wan's own order: images first, then
    # images and videos together), so a frame's look is learned before motion.
    image_only_steps: int = 0
    max_steps: int = 6000
    max_minutes: float = 110.0  # stop (and save) after this much wall time
    learning_rate: float = 5e-4
    text_lr_scale: float = 1.0  # the text encoder learns from scratch: it may take a larger step
    warmup_steps: int = 300
    weight_decay: float = 0.01
    ema_decay: float = 0.999
    sigma_shift: float = WORLD_FLOW_SHIFT
    edited_fraction: float = 0.3  # share of clips that are edited scenes (zoom, light, style, outlines)
    max_shapes: int = 3  # objects per scene, 1..max_shapes (fewer: an easier world to learn first)
    text_dropout: float = 0.1  # empty prompt, so the base supports classifier-free guidance
    checkpoint_minutes: float = 5.0
    seed: int = 0
    # Each step's batch from its own stream seeded by (seed, step), so worker processes can draw
    # batches ahead (train_backbone's data_workers) without changing them. Off: one stream for
    # the whole run, as the packaged base and the runs in docs/proving_ground.md were drawn.
    per_step_data: bool = False


def to_latents(videos: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (b, T, H, W, 3) -> normalised pixel latents (b, 3, T, H, W) on `device` (the bytes
    travel, a quarter of the floats, and the arithmetic runs there)."""
    pixels = torch.from_numpy(videos).to(device).float().div(127.5).sub(1.0)
    return pixels.permute(0, 4, 1, 2, 3).contiguous() / LATENT_STD


def _lr_factor(step: int, config: BackboneTrainingConfig) -> float:
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _trained_modules(components: dict) -> torch.nn.ModuleDict:
    """What a run trains, under the names its state file uses ("modules" and "ema" entries)."""
    return torch.nn.ModuleDict(
        {"transformer": components["transformer"], "text_encoder": components["text_encoder"]}
    )


def base_from_state(state_path: str | os.PathLike, base_dir: str | os.PathLike, weights: str = "ema") -> Path:
    """Write a run's saved weights (`weights`: "ema", or "modules" for the raw ones) as a base,
    to look at a run in progress without stopping it."""
    state = torch.load(state_path, weights_only=False, map_location="cpu")
    config = WorldModelConfig(**state["config"]["model"])
    components = build_world_components(config)
    _trained_modules(components).load_state_dict(state[weights])
    metadata = {**model_config_metadata(config), "training_steps": str(state["step"])}
    return save_world_base(components, base_dir, metadata)


def train_backbone(
    config: BackboneTrainingConfig,
    run_dir: str | os.PathLike,
    base_dir: str | os.PathLike,
    command: str = "",
    log=print,
    stop_at: int | None = None,
    device: str = "cpu",
    data_workers: int = 0,
) -> Path | None:
    """Train (or resume) and write the base to `base_dir`; returns it.

    `stop_at` ends this process at that step with the state saved and no base written (as a
    kill would, but cleanly); the next call resumes from there. `device` ("cpu", "cuda") is where
    the model trains; random numbers are always drawn on the CPU, so a run's data and noise do
    not depend on the device. `data_workers` processes draw the batches ahead of the steps
    (`per_step_data` runs only, where that cannot change them): a GPU run needs them, since
    rendering on one core is slower than its steps.
    """
    if data_workers and not config.per_step_data:
        raise ValueError("data_workers needs per_step_data=True (one shared stream cannot be drawn ahead)")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / "state.pt"
    torch.manual_seed(config.seed)
    components = build_world_components(config.model, seed=config.seed)
    transformer, text_encoder, tokenizer = (
        components["transformer"],
        components["text_encoder"],
        components["tokenizer"],
    )
    modules = _trained_modules(components).to(device).train()
    ema = copy.deepcopy(modules).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(
        [
            {"params": list(transformer.parameters()), "scale": 1.0},
            {"params": list(text_encoder.parameters()), "scale": config.text_lr_scale},
        ],
        lr=config.learning_rate,
        betas=(0.9, 0.99),
        weight_decay=config.weight_decay,
    )
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    step, elapsed_before = 0, 0.0
    if state_path.exists():
        state = torch.load(state_path, weights_only=False, map_location=device)
        modules.load_state_dict(state["modules"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["numpy_rng"]
        generator.set_state(state["torch_rng"])
        step, elapsed_before = state["step"], state["elapsed"]
        log(f"resumed at step {step} ({elapsed_before / 60:.1f} min done)")

    def save_state() -> None:
        with atomic_path(state_path) as tmp:
            torch.save(
                {
                    "modules": modules.state_dict(),
                    "ema": ema.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "numpy_rng": rng.bit_generator.state,
                    "torch_rng": generator.get_state(),
                    "step": step,
                    "elapsed": elapsed_before + time.time() - start,
                    "config": asdict(config),
                },
                tmp,
            )

    def next_batch() -> tuple[np.ndarray, list[str]]:
        if prefetched is not None:
            return prefetched.get(step)
        return step_batch(config, step) if config.per_step_data else draw_batch(rng, config, step)

    start = last_save = last_log = time.time()
    losses: list[torch.Tensor] = []
    last = config.max_steps if stop_at is None else min(stop_at, config.max_steps)
    prefetched = PrefetchedBatches(config, data_workers) if data_workers else None
    try:
        while step < last and elapsed_before + time.time() - start < config.max_minutes * 60:
            videos, prompts = next_batch()
            batch = len(videos)

            x0 = to_latents(videos, device)  # (b, 3, F, H, W)
            noise = torch.randn(x0.shape, generator=generator).to(device)  # drawn on the CPU
            sigma = shift_sigmas(torch.rand(batch, generator=generator), config.sigma_shift).to(device)
            text = embed_prompts(tokenizer, text_encoder, prompts, device=device)  # (b, L, text_dim)
            prediction = transformer(
                hidden_states=add_noise(x0, noise, sigma),
                timestep=sigma * 1000,
                encoder_hidden_states=text,
                return_dict=False,
            )[0]
            loss = torch.nn.functional.mse_loss(prediction, velocity_target(x0, noise))

            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate * group["scale"] * _lr_factor(step, config)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(modules.parameters(), 1.0)
            optimizer.step()
            with torch.no_grad():
                for averaged, current in zip(ema.parameters(), modules.parameters(), strict=True):
                    averaged.lerp_(current, 1.0 - config.ema_decay)
            step += 1
            losses.append(loss.detach())  # read every 50 steps: no per-step wait on a GPU
            if step % 50 == 0:
                mean_loss = torch.stack(losses).mean().item()  # waits for the GPU: the rate is real
                losses.clear()
                now = time.time()
                minutes = (elapsed_before + now - start) / 60
                rate = 50 / max(now - last_log, 1e-9)
                last_log = now
                log(
                    f"step {step}  loss {mean_loss:.4f}  lr {optimizer.param_groups[0]['lr']:.2e}  {minutes:.1f} min  {rate:.1f} steps/s"
                )
            if time.time() - last_save > config.checkpoint_minutes * 60:
                save_state()
                last_save = time.time()
    finally:
        if prefetched is not None:
            prefetched.close()
    save_state()
    if step < config.max_steps and stop_at is not None and step >= stop_at:
        return None

    components["transformer"] = ema["transformer"].cpu()
    components["text_encoder"] = ema["text_encoder"].cpu()
    metadata = {
        **model_config_metadata(config.model),
        "training_config": json.dumps(asdict(config), sort_keys=True),
        "training_steps": str(step),
        "training_minutes": f"{(elapsed_before + time.time() - start) / 60:.1f}",
        "command": command or " ".join(sys.argv),
    }
    return save_world_base(components, base_dir, metadata)
