"""A small `AutoencoderKLWan` for the world, so a world base can learn in latent space as Wan does.

A pixel-space base (the packaged one: patch 4x4 on 32 px frames) must draw each object's
outline inside its tokens with one linear projection, and spends a token per pixel patch of
every frame. Through this VAE the base works on latents 4x smaller in space and (with
`temporal`, Wan's causal 4x) in time (9 frames of 32x32 become 9, or 3, latent frames of 8x8),
and a convolutional decoder draws the outlines. The VAE is trained once, on its
own (`train_world_vae`), and is frozen while a base trains on its latents
(`BackboneTrainingConfig.vae`).

Training is plain reconstruction (L1 + MSE) with a small KL term, on rendered world clips and
single frames (images are 1-frame videos, as for Wan's VAE), resumable after a kill. The saved
folder is a diffusers `AutoencoderKLWan` whose `latents_mean` / `latents_std` are measured on
fresh clips, so `vae_latents.encode_pixels` gives unit-scale latents as for Wan2.1.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from imvideoedit.atomic_write import atomic_directory
from imvideoedit.config_files import check_ranges
from imvideoedit.errors import UserError
from imvideoedit.world.lr_schedule import warmup_cosine
from imvideoedit.world.run_progress import progress, restore_progress, save_state
from imvideoedit.world.scene import FULL_WORLD, MAX_SHAPES, WorldSpec
from imvideoedit.world.training_batches import sample_clip

SPATIAL_FACTOR = 4  # 32 px frames -> 8x8 latents (two downsamplings)


@dataclass(frozen=True)
class WorldVAEConfig:
    """Sizes of the world VAE (an `AutoencoderKLWan` with two down-samplings)."""

    base_dim: int = 16
    z_dim: int = 8
    # True: 4x in time as Wan's causal VAE (1 + (T-1)/4 latent frames, a third of the tokens).
    # Off by default: at equal training its reconstructions keep fewer kinds in motion
    # (docs/proving_ground.md, "In a small VAE's latents").
    temporal: bool = False
    num_res_blocks: int = 1


@dataclass(frozen=True)
class VAETrainingConfig:
    vae: WorldVAEConfig = field(default_factory=WorldVAEConfig)
    size: int = 32
    frames: int = 9
    clips_per_step: int = 6  # even steps: whole clips (motion)
    images_per_step: int = 16  # odd steps: single frames (images encode as 1-frame videos)
    max_steps: int = 4000
    max_minutes: float = 30.0
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    kl_weight: float = 1e-4  # keeps the latents near unit scale; reconstruction comes first
    # The reconstruction error on the shapes' pixels weighs this many times the rest's (1: plain
    # means). The shapes are a small share of the pixels but all of what the bar reads.
    object_weight: float = 1.0
    edited_fraction: float = 0.3  # edited looks (zoom, light, style, outlines) must reconstruct too
    checkpoint_minutes: float = 5.0
    seed: int = 0
    stats_clips: int = 64  # fresh clips the saved latents_mean / latents_std are measured on

    def __post_init__(self) -> None:
        check_ranges(
            self,
            positive=("size", "frames", "max_steps", "max_minutes", "learning_rate", "checkpoint_minutes")
            + ("stats_clips", "clips_per_step", "images_per_step"),  # steps alternate: clips, images
            non_negative=("warmup_steps", "kl_weight", "seed"),
            fractions=("edited_fraction",),
        )
        check_ranges(self.vae, positive=("base_dim", "z_dim", "num_res_blocks"))
        if self.size % SPATIAL_FACTOR:
            raise ValueError(f"size must be a multiple of {SPATIAL_FACTOR}, got {self.size}")
        if self.vae.temporal and (self.frames - 1) % 4:
            raise ValueError(f"a temporal VAE needs 4k+1 frames, got {self.frames}")
        if self.object_weight <= 0:
            raise ValueError(f"object_weight must be positive, got {self.object_weight}")


def build_world_vae(config: WorldVAEConfig, seed: int = 0):
    """A freshly initialised `AutoencoderKLWan` of `config`'s sizes (latent statistics 0 / 1 until
    measured)."""
    from diffusers import AutoencoderKLWan

    torch.manual_seed(seed)
    return AutoencoderKLWan(
        base_dim=config.base_dim,
        z_dim=config.z_dim,
        dim_mult=[1, 2, 4],
        num_res_blocks=config.num_res_blocks,
        attn_scales=[],
        temperal_downsample=[config.temporal, config.temporal],
        latents_mean=[0.0] * config.z_dim,
        latents_std=[1.0] * config.z_dim,
        scale_factor_spatial=SPATIAL_FACTOR,
        scale_factor_temporal=4 if config.temporal else 1,
    )


def to_pixels(videos: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (b, T, H, W, 3) -> float pixels in [-1, 1], (b, 3, T, H, W), on `device` (the bytes
    travel, a quarter of the floats, and the arithmetic runs there)."""
    pixels = torch.from_numpy(videos).to(device).float().div(127.5).sub(1.0)
    return pixels.permute(0, 4, 1, 2, 3).contiguous()


def draw_vae_batch(
    rng: np.random.Generator, config: VAETrainingConfig, step: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Step `step`'s uint8 batch (b, T, H, W, 3), clips on even steps and single frames on odd
    ones, and with an `object_weight` the shapes' pixels (b, T, H, W) (drawn without touching
    `rng`, so the clips are the same either way)."""
    one_frame = step % 2 == 1
    count = config.images_per_step if one_frame else config.clips_per_step
    with_mask = config.object_weight != 1.0
    drawn = [
        sample_clip(
            rng, config.size, config.frames, config.edited_fraction, one_frame=one_frame, with_mask=with_mask
        )
        for _ in range(count)
    ]
    masks = np.stack([mask for _, _, mask in drawn]) if with_mask else None
    return np.stack([clip for clip, _, _ in drawn]), masks


def vae_loss(
    vae,
    pixels: torch.Tensor,
    generator: torch.Generator,
    kl_weight: float,
    object_masks: np.ndarray | None = None,
    object_weight: float = 1.0,
) -> torch.Tensor:
    """L1 + MSE reconstruction of `pixels` (b, 3, T, H, W) from a posterior sample, plus
    `kl_weight` times the KL to a unit Gaussian (per latent element). With `object_masks`
    (bool (b, T, H, W)) each pixel's error counts `object_weight` times where a shape covers it,
    divided by the weights' sum so that both terms keep their plain means' scale."""
    posterior = vae.encode(pixels).latent_dist
    noise = torch.randn(posterior.mean.shape, generator=generator).to(pixels.device)  # the run's CPU stream
    latents = posterior.mean + posterior.std * noise  # (b, z, F, h, w)
    reconstruction = vae.decode(latents).sample  # (b, 3, T, H, W)
    error = reconstruction - pixels
    kl = 0.5 * (posterior.mean.square() + posterior.var - 1.0 - posterior.logvar).mean()
    if object_masks is None or object_weight == 1.0:
        return error.abs().mean() + error.square().mean() + kl_weight * kl
    masks = torch.from_numpy(object_masks).to(pixels.device, torch.float32)[:, None]  # (b, 1, T, H, W)
    weights = 1.0 + (object_weight - 1.0) * masks
    total = weights.sum() * error.shape[1]
    return (error.abs() * weights).sum() / total + (error.square() * weights).sum() / total + kl_weight * kl


@torch.no_grad()
def latent_statistics(vae, config: VAETrainingConfig) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the posterior modes of `stats_clips` fresh clips."""
    rng = np.random.default_rng(config.seed + 1)
    videos = np.stack(
        [
            sample_clip(rng, config.size, config.frames, config.edited_fraction)[0]
            for _ in range(config.stats_clips)
        ]
    )
    latents = torch.cat(
        [vae.encode(to_pixels(videos[i : i + 8])).latent_dist.mode() for i in range(0, len(videos), 8)]
    )  # (n, z, F, h, w)
    flat = latents.transpose(0, 1).reshape(latents.shape[1], -1)
    return flat.mean(dim=1).tolist(), flat.std(dim=1).clamp_min(1e-3).tolist()


# What a resume may change: how long the run goes on (a longer --max-steps continues it, the
# cosine recomputed for the new length) and its bookkeeping. Everything else defines the run.
RESUME_MAY_CHANGE = ("max_steps", "max_minutes", "checkpoint_minutes", "stats_clips")


def _defining(config: dict) -> dict:
    return {key: value for key, value in config.items() if key not in RESUME_MAY_CHANGE}


def train_world_vae(
    config: VAETrainingConfig,
    run_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    command: str = "",
    log=print,
    stop_at: int | None = None,
    device: str = "cpu",
) -> Path | None:
    """Train (or resume from `run_dir`) and write the VAE folder to `out_dir`; returns it.

    `stop_at` ends this process at that step with the state saved and nothing written; the next
    call resumes there and reaches the same weights as an uninterrupted run. A run that ended
    continues with a larger `max_steps` (the learning rate follows the cosine of the new length
    from the step reached; `max_minutes` counts the time already spent). `device` is where the
    VAE trains ("cpu", "cuda"); the data and the noise come from CPU streams.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / "state.pt"
    vae = build_world_vae(config.vae, seed=config.seed).to(device).train()
    optimizer = torch.optim.AdamW(
        vae.parameters(), lr=config.learning_rate, betas=(0.9, 0.99), weight_decay=0.0
    )
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    step, elapsed_before = 0, 0.0
    if state_path.exists():
        state = torch.load(state_path, weights_only=False, map_location="cpu")
        saved = {**asdict(VAETrainingConfig()), **state["config"]}  # fields added since: their defaults
        if _defining(saved) != _defining(asdict(config)):
            now = _defining(asdict(config))
            changed = "; ".join(
                f"{k} {v} -> {now[k]}" for k, v in _defining(saved).items() if now.get(k) != v
            )
            raise UserError(
                f"{run_dir} holds a VAE run with other settings ({changed}): resume it with the same, "
                "or use a new folder"
            )
        vae.load_state_dict(state["vae"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed_before = restore_progress(state, rng, generator, log)

    def save_run() -> None:
        elapsed = elapsed_before + time.time() - start
        save_state(
            state_path,
            {
                "vae": vae.state_dict(),
                "optimizer": optimizer.state_dict(),
                **progress(rng, generator, step, elapsed, config),
            },
        )

    start = last_save = time.time()
    losses: list[torch.Tensor] = []  # read every 50 steps: no per-step wait on a GPU
    last = config.max_steps if stop_at is None else min(stop_at, config.max_steps)
    while step < last and elapsed_before + time.time() - start < config.max_minutes * 60:
        videos, masks = draw_vae_batch(rng, config, step)
        pixels = to_pixels(videos, device)  # (b, 3, T, H, W)
        loss = vae_loss(vae, pixels, generator, config.kl_weight, masks, config.object_weight)
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * warmup_cosine(step, config.warmup_steps, config.max_steps)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        step += 1
        losses.append(loss.detach())
        if step % 50 == 0:
            minutes = (elapsed_before + time.time() - start) / 60
            log(f"step {step}  loss {torch.stack(losses).mean().item():.4f}  {minutes:.1f} min")
            losses.clear()
        if time.time() - last_save > config.checkpoint_minutes * 60:
            save_run()
            last_save = time.time()
    save_run()
    if step < config.max_steps and stop_at is not None and step >= stop_at:
        return None

    vae = vae.cpu().eval()
    mean, std = latent_statistics(vae, config)
    vae.register_to_config(latents_mean=mean, latents_std=std)
    metadata = {
        "world_vae_training_config": json.dumps(asdict(config), sort_keys=True),
        "training_steps": str(step),
        "training_minutes": f"{(elapsed_before + time.time() - start) / 60:.1f}",
        "command": command or " ".join(sys.argv),
    }
    return save_world_vae(vae, out_dir, metadata)


def save_world_vae(vae, directory: str | os.PathLike, metadata: dict[str, str]) -> Path:
    """Write `vae` as a diffusers model folder whose safetensors carry `metadata` (provenance)."""
    from safetensors.torch import load_file, save_file

    target = Path(directory)
    with atomic_directory(target, replace=True) as tmp:
        vae.save_pretrained(str(tmp), safe_serialization=True)
        for weights in tmp.glob("*.safetensors"):
            save_file(load_file(str(weights)), str(weights), metadata={"format": "pt", **metadata})
    return target


def load_world_vae(directory: str | os.PathLike):
    """A trained world VAE folder -> frozen `AutoencoderKLWan`; one-line error if it is not one."""
    from diffusers import AutoencoderKLWan

    path = Path(directory)
    if not (path / "config.json").is_file():
        raise UserError(
            f"{path} is not a VAE folder (no config.json): train one with scripts/train_world_vae.py"
        )
    try:
        vae = AutoencoderKLWan.from_pretrained(str(path))
    except (OSError, ValueError, RuntimeError) as error:
        raise UserError(f"cannot load the VAE at {path}: {error}") from error
    return vae.eval().requires_grad_(False)


def vae_state(vae) -> dict:
    """A VAE as plain data (its config and weights), for a run state that must be able to
    write its bases without the VAE's folder."""
    config = {key: value for key, value in vae.config.items() if not key.startswith("_")}
    return {"config": config, "weights": {k: v.cpu() for k, v in vae.state_dict().items()}}


def vae_from_state(saved: dict):
    """The frozen `AutoencoderKLWan` of a `vae_state`."""
    from diffusers import AutoencoderKLWan

    vae = AutoencoderKLWan.from_config(saved["config"])
    vae.load_state_dict(saved["weights"])
    return vae.eval().requires_grad_(False)


def vae_provenance(directory: str | os.PathLike) -> dict[str, str]:
    """The metadata `train_world_vae` wrote into the VAE's safetensors (empty if none)."""
    from safetensors import safe_open

    files = sorted(Path(directory).glob("*.safetensors"))
    if not files:
        return {}
    with safe_open(str(files[0]), "pt") as weights:
        return dict(weights.metadata() or {})


@torch.no_grad()
def reconstruction_report(
    vae,
    count: int = 64,
    seed: int = 7,
    frames: int = 9,
    size: int = 32,
    max_shapes: int = MAX_SHAPES,
    world: WorldSpec = FULL_WORLD,
) -> dict:
    """How much of the temporal-prior bar survives the VAE alone: the bar's reading of the
    reconstructions of `count` plain-look clips of `world`, against the renders' (a
    `PriorReport`, as a dict), and their PSNR. A base that learns in this VAE's latents cannot
    read better than its reconstructions."""
    from imvideoedit.world.ground_truth_metrics import psnr
    from imvideoedit.world.render import render
    from imvideoedit.world.temporal_prior import prior_scenes, read_against_renders

    scenes = prior_scenes(count, seed=seed, size=size, frames=frames, max_shapes=max_shapes, world=world)
    truths = [render(scene) for scene in scenes]
    reconstructions = []
    for start in range(0, count, 8):
        pixels = to_pixels(np.stack(truths[start : start + 8]))
        decoded = vae.decode(vae.encode(pixels).latent_dist.mode()).sample.clamp(-1, 1)
        for video in decoded.permute(0, 2, 3, 4, 1).numpy():  # (T, H, W, 3)
            reconstructions.append(np.clip(np.rint((video + 1.0) * 127.5), 0, 255).astype(np.uint8))
    return {
        "psnr": float(np.mean([psnr(r, t) for r, t in zip(reconstructions, truths, strict=True)])),
        **read_against_renders(reconstructions, scenes, truths).as_dict(),
    }
