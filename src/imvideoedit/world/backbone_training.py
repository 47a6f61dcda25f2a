"""Train the world's text-to-video base: rectified flow on rendered world videos.

The transformer and its small text encoder learn together from an endless stream of rendered
clips (and, a quarter of the steps, single frames, so the base also knows images as 1-frame
videos, as Wan does). An exponential moving average of the weights is what gets saved. The
run checkpoints its whole state every few minutes and resumes after a kill.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from imvideoedit.config_files import check_ranges
from imvideoedit.errors import UserError
from imvideoedit.flow_matching import add_noise, shift_sigmas, velocity_target
from imvideoedit.text_encoding import embed_tokens, tokenize_prompts
from imvideoedit.vae_latents import encode_pixels
from imvideoedit.world.base_model import (
    WORLD_FLOW_SHIFT,
    WorldModelConfig,
    base_metadata,
    base_model_config,
    build_world_components,
    model_config_metadata,
    save_world_base,
    zero_residual_outputs,
)
from imvideoedit.world.lr_schedule import warmup_cosine
from imvideoedit.world.muon_optimizer import OPTIMIZERS, MuonWithAdamW, muon, split_hidden_matrices
from imvideoedit.world.run_progress import progress, restore_progress, save_state
from imvideoedit.world.scene import MAX_SHAPES, WorldSpec
from imvideoedit.world.training_batches import Batch, PrefetchedBatches, draw_batch, step_batch
from imvideoedit.world.world_vae import load_world_vae, to_pixels, vae_from_state, vae_provenance, vae_state

PRECISIONS = ("fp32", "bf16")  # BackboneTrainingConfig.precision
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
    max_shapes: int = MAX_SHAPES  # objects per scene, 1..max_shapes (fewer: an easier world to learn first)
    # The words the scenes draw from (default: the whole world). A reduced world is an easier one
    # to learn first (then `init_base` the whole world from it), or tells which factor holds a
    # base back. Edits draw from the whole world's words, so a world without all of them trains
    # on unedited scenes only (edited_fraction 0).
    world: WorldSpec = field(default_factory=WorldSpec)
    text_dropout: float = 0.1  # empty prompt, so the base supports classifier-free guidance
    # The loss on the pixels the world's shapes cover, relative to the rest's (1: plain MSE).
    # A shape's kind changes few pixels (a kind swap 2.9% of a frame, against 6.7% for a colour
    # change), so plain MSE might reward kinds last. Measured: a weight of 4 or 16 buys the
    # objects' colours in every frame, drawn as round blobs, not their kinds
    # (docs/proving_ground.md, "Weighting the objects' pixels").
    object_loss_weight: float = 1.0
    # Start from this base's transformer and text encoder instead of fresh weights (a folder
    # written by this trainer, of the same model sizes): lets runs on machines that keep no
    # state add up through the bases they write. The optimizer and the EMA start afresh.
    init_base: str = ""
    # Fresh weights with every block's attention and FFN output projections and the final
    # projection at zero (`zero_residual_outputs`): each block starts as the identity, as DiT's
    # adaLN-Zero starts its blocks. Measured (docs/proving_ground.md): 7 points more kinds in a
    # one-object world at equal steps, none in the whole world. The architecture is unchanged.
    zero_init: bool = False
    checkpoint_minutes: float = 5.0
    seed: int = 0
    # Each step's batch from its own stream seeded by (seed, step), so worker processes can draw
    # batches ahead (train_backbone's data_workers) without changing them. Off: one stream for
    # the whole run, as the packaged base and the runs in docs/proving_ground.md were drawn.
    per_step_data: bool = False
    # "bf16": the forward pass under bfloat16 autocast (weights, optimizer and EMA stay float32).
    precision: str = "fp32"
    # torch.compile the transformer and the text encoder: on a GPU this small model's step is
    # bound by launching its many small kernels, which compiling fuses (costs compile time at
    # the start: graphs for video steps and for image steps). The saved weights do not change.
    compile: bool = False
    # "muon": Muon for the transformer blocks' hidden matrices, AdamW for the rest
    # (`muon_optimizer`); measured ahead of AdamW per step (docs/proving_ground.md, "Muon").
    optimizer: str = "adamw"
    # A trained world VAE folder (`world_vae`, scripts/train_world_vae.py): the base learns in its
    # latents (frozen) and is written with it; "": on pixels (`PixelSpaceVAE`), as the packaged
    # base. model.latent_channels must be its z_dim (the script sets it).
    vae: str = ""

    def __post_init__(self) -> None:
        check_ranges(
            self,
            positive=("size", "frames", "batch_size", "image_step_every", "max_minutes")
            + ("learning_rate", "text_lr_scale", "sigma_shift", "checkpoint_minutes"),
            non_negative=("image_batch_size", "image_only_steps", "warmup_steps", "weight_decay", "seed")
            + ("max_steps",),
            fractions=("ema_decay", "edited_fraction", "text_dropout"),
        )
        check_ranges(  # a text encoder of word embeddings alone (text_layers 0) builds and trains
            self.model,
            positive=[f.name for f in dataclasses.fields(self.model) if f.name != "text_layers"],
            non_negative=("text_layers",),
        )
        if self.max_steps == 0 and not self.init_base:  # 0 steps writes an init_base as it is
            raise ValueError("max_steps must be positive (0 only rewrites an init_base)")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.object_loss_weight <= 0:
            raise ValueError(f"object_loss_weight must be positive, got {self.object_loss_weight}")
        self.world.check_max_shapes(self.max_shapes)
        if not self.world.has_every_word and self.edited_fraction > 0:
            raise ValueError(
                "a world without every word trains on unedited scenes (edits draw from the whole "
                f"world's words): set edited_fraction to 0, not {self.edited_fraction}"
            )
        if self.vae and self.object_loss_weight != 1.0:
            raise ValueError("object_loss_weight weights pixels: it cannot be used with a vae (latents)")
        if self.zero_init and self.init_base:
            raise ValueError("zero_init and init_base both set the starting weights: choose one")


def to_latents(videos: np.ndarray, device: torch.device | str = "cpu", vae=None) -> torch.Tensor:
    """uint8 (b, T, H, W, 3) -> normalised latents on `device` (the bytes travel, a quarter of the
    floats, and the arithmetic runs there): the pixels themselves (b, 3, T, H, W), or with a
    world `vae` (on `device`) its normalised latents (b, z, 1 + (T-1)/4, H/4, W/4)."""
    pixels = to_pixels(videos, device)  # (b, 3, T, H, W)
    return pixels / LATENT_STD if vae is None else encode_pixels(vae, pixels)


def draw_noise(shape: torch.Size, generator: torch.Generator, device: torch.device | str) -> torch.Tensor:
    """One step's noise, decided by the run's CPU `generator` (so a resumed run draws the same).

    On the CPU it is drawn from `generator` itself. Elsewhere one number drawn from it seeds the
    device's own generator: drawing a batch's millions of numbers on the CPU and copying them
    over held each GPU step back by 29 ms (a batch of 128 9-frame clips, on an H100 machine).
    """
    if torch.device(device).type == "cpu":
        return torch.randn(shape, generator=generator)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.randn(shape, generator=torch.Generator(device).manual_seed(seed), device=device)


def build_trainer(
    config: BackboneTrainingConfig, device: torch.device | str, resuming: bool = False
) -> tuple[dict, torch.nn.ModuleDict, torch.nn.ModuleDict, torch.optim.Optimizer | MuonWithAdamW]:
    """A fresh run's parts: the world components, the trained modules on `device` (the same
    transformer and text encoder objects as in the components; compiled in place with
    `config.compile`), their EMA copy and the optimizer (`config.optimizer`; the text encoder's
    learning rate scaled by `text_lr_scale`). The weights start from `config.init_base` unless
    the run is `resuming` (its state replaces them)."""
    vae = load_world_vae(config.vae) if config.vae else None
    torch.manual_seed(config.seed)
    components = build_world_components(
        config.model, seed=config.seed, sigma_shift=config.sigma_shift, vae=vae
    )
    if vae is not None:
        vae.to(device)
    if config.zero_init:
        zero_residual_outputs(components["transformer"])
    if config.init_base and not resuming:
        load_base_weights(components, config.init_base, config.model, vae)
    on_gpu = torch.device(device).type == "cuda"
    if on_gpu:
        # TF32 tensor cores: several times float32's matmul rate, at a precision that this
        # training's loss does not notice.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    modules = _trained_modules(components).to(device).train()
    ema = copy.deepcopy(modules).eval().requires_grad_(False)
    if config.compile:  # in place: parameter names (state files, the EMA's) stay as they are
        for module in modules.values():
            module.compile(dynamic=False)
    # Muon takes the transformer blocks' hidden matrices (`--optimizer muon`); AdamW the rest.
    hidden, rest = (
        split_hidden_matrices(modules["transformer"])
        if config.optimizer == "muon"
        else ([], list(modules["transformer"].parameters()))
    )
    optimizer = torch.optim.AdamW(
        [
            {"params": rest, "scale": 1.0},
            {"params": list(modules["text_encoder"].parameters()), "scale": config.text_lr_scale},
        ],
        lr=config.learning_rate,
        betas=(0.9, 0.99),
        weight_decay=config.weight_decay,
        fused=on_gpu,  # one kernel for all parameters: a small model's step is launch-bound
    )
    if hidden:
        optimizer = MuonWithAdamW(muon(hidden, config.learning_rate, config.weight_decay), optimizer)
    return components, modules, ema, optimizer


def with_settings_of(optimizer: torch.optim.Optimizer | MuonWithAdamW, saved: dict) -> dict:
    """A saved optimizer state with `optimizer`'s own group settings (fused, text_lr_scale's
    "scale", betas, weight decay): what a run resumes is its moments and step counts, while its
    settings are this run's, so a state saved by an older or CPU run resumes fused on a GPU."""
    if isinstance(optimizer, MuonWithAdamW):
        return {name: with_settings_of(part, saved[name]) for name, part in optimizer.parts.items()}
    groups = [
        {**old, **{k: v for k, v in new.items() if k != "params"}}
        for old, new in zip(saved["param_groups"], optimizer.param_groups, strict=True)
    ]
    return {**saved, "param_groups": groups}


def training_step(
    modules: torch.nn.ModuleDict,
    ema_parameters: list[torch.Tensor],
    optimizer: torch.optim.Optimizer | MuonWithAdamW,
    tokenizer,
    batch: Batch,
    generator: torch.Generator,
    config: BackboneTrainingConfig,
    *,
    step: int,
    device: torch.device | str,
    vae=None,
) -> torch.Tensor:
    """One rectified-flow step on a batch, the EMA updated after it; returns the loss, detached
    (reading it would wait for a GPU). `ema_parameters` are the EMA copy's parameters in
    `modules.parameters()` order. Prompts the workers tokenized (`batch.tokens`) are used as
    they are. `vae`: the frozen world VAE the base learns in (None: pixels)."""
    if batch.tokens is None:
        ids, mask = tokenize_prompts(tokenizer, batch.prompts)  # (b, L) each
    else:
        ids, mask = (torch.from_numpy(t) for t in batch.tokens)
    x0 = to_latents(batch.videos, device, vae)  # (b, C, F, h, w): pixels, or a VAE's latents
    noise = draw_noise(x0.shape, generator, device)
    sigma = shift_sigmas(torch.rand(len(batch.videos), generator=generator), config.sigma_shift).to(device)
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
        text = embed_tokens(modules["text_encoder"], ids, mask, device=device)  # (b, L, text_dim)
        prediction = modules["transformer"](
            hidden_states=add_noise(x0, noise, sigma),
            timestep=sigma * 1000,
            encoder_hidden_states=text,
            return_dict=False,
        )[0]
    loss = flow_loss(
        prediction.float(), velocity_target(x0, noise), batch.object_masks, config.object_loss_weight
    )

    factor = warmup_cosine(step, config.warmup_steps, config.max_steps)
    for group in optimizer.param_groups:
        group["lr"] = config.learning_rate * group["scale"] * factor
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(modules.parameters(), 1.0)
    optimizer.step()
    with torch.no_grad():
        # One call for every tensor (not one launch each: a small model's GPU step is launch-bound).
        torch._foreach_lerp_(ema_parameters, list(modules.parameters()), 1.0 - config.ema_decay)
    return loss.detach()


def flow_loss(
    prediction: torch.Tensor, target: torch.Tensor, object_masks: np.ndarray | None, object_weight: float
) -> torch.Tensor:
    """Mean squared velocity error (b, 3, T, H, W); with `object_masks` (bool (b, T, H, W)), each
    pixel's error weighted by `object_weight` where a shape covers it and 1 elsewhere, divided by
    the weights' sum so that the loss keeps plain MSE's scale."""
    if object_masks is None or object_weight == 1.0:
        return torch.nn.functional.mse_loss(prediction, target)
    masks = torch.from_numpy(object_masks).to(prediction.device, torch.float32)[:, None]  # (b, 1, T, H, W)
    weights = 1.0 + (object_weight - 1.0) * masks
    squared = (prediction - target).square()  # (b, 3, T, H, W)
    return (squared * weights).sum() / (weights.sum() * squared.shape[1])


def load_base_weights(
    components: dict, base_dir: str | os.PathLike, model: WorldModelConfig, vae=None
) -> None:
    """Load a world base's transformer and text encoder weights into `components` (`init_base`).
    The base must be of `model`'s sizes and have learned in the same latents as this run (`vae`,
    or pixels when None): both are checked first, so a mismatch reads as one line, not as a
    state-dict error or a run that quietly starts from weights meant for other latents."""
    from diffusers import WanTransformer3DModel
    from transformers import UMT5EncoderModel

    base = Path(base_dir)
    saved = base_model_config(base)
    if saved != model:
        raise UserError(
            f"--init-base {base} has model sizes {asdict(saved)}, this run asks for {asdict(model)}"
        )
    if not same_latents(base, vae):
        raise UserError(
            f"--init-base {base} learned in other latents than this run's "
            f"({'pixels' if vae is None else 'its --vae'}): start from a base trained with the same --vae"
        )
    transformer = WanTransformer3DModel.from_pretrained(base, subfolder="transformer")
    text_encoder = UMT5EncoderModel.from_pretrained(base, subfolder="text_encoder")
    components["transformer"].load_state_dict(transformer.state_dict())
    components["text_encoder"].load_state_dict(text_encoder.state_dict())


def same_latents(base: Path, vae=None) -> bool:
    """Whether the base at `base` learned in `vae`'s latents (None: pixels): its `vae/` folder is
    the same class, with the same weights and latent statistics."""
    from safetensors.torch import load_file

    config_path = base / "vae" / "config.json"
    if not config_path.is_file():
        raise UserError(f"{base} is not a world base (no vae/config.json)")
    saved_config = json.loads(config_path.read_text())
    if vae is None:
        return saved_config.get("_class_name") == "PixelSpaceVAE"
    if saved_config.get("_class_name") != type(vae).__name__:
        return False
    for key in ("latents_mean", "latents_std"):
        if not np.allclose(saved_config.get(key, []), vae.config[key]):
            return False
    saved = {}
    for weights in (base / "vae").glob("*.safetensors"):
        saved.update(load_file(str(weights)))
    own = vae.state_dict()
    return saved.keys() == own.keys() and all(torch.equal(saved[k], own[k].cpu()) for k in own)


def _trained_modules(components: dict) -> torch.nn.ModuleDict:
    """What a run trains, under the names its state file uses ("modules" and "ema" entries)."""
    return torch.nn.ModuleDict(
        {"transformer": components["transformer"], "text_encoder": components["text_encoder"]}
    )


def base_from_state(state_path: str | os.PathLike, base_dir: str | os.PathLike, weights: str = "ema") -> Path:
    """Write a run's saved weights (`weights`: "ema", or "modules" for the raw ones) as a base,
    to look at a run in progress without stopping it."""

    if not Path(state_path).is_file():
        raise UserError(f"no run state at {state_path}")
    try:
        state = torch.load(state_path, weights_only=False, map_location="cpu")
    except Exception as error:  # a truncated or foreign file: say which, in one line
        raise UserError(f"cannot read the run state {state_path}: {error}") from error
    if not isinstance(state, dict) or weights not in state or "config" not in state:
        raise UserError(f"{state_path} is not a world base training state (no {weights!r} weights)")
    config = WorldModelConfig(**state["config"]["model"])
    components = build_world_components(
        config,
        sigma_shift=state["config"].get("sigma_shift", WORLD_FLOW_SHIFT),
        vae=vae_from_state(state["vae"]) if state.get("vae") else None,
    )
    _trained_modules(components).load_state_dict(state[weights])
    metadata = {
        **model_config_metadata(config),
        "training_config": json.dumps(state["config"], sort_keys=True),
        "training_steps": str(state["step"]),
    }
    return save_world_base(components, base_dir, metadata)


def base_world(base_dir: str | os.PathLike) -> tuple[WorldSpec, int]:
    """The (world, max_shapes) a base was trained in, from its metadata; the whole world for a
    base that records no training config."""
    try:
        return _saved_world(json.loads(base_metadata(base_dir).get("training_config", "{}")))
    except (TypeError, ValueError, AttributeError) as error:
        raise UserError(f"{base_dir} records a world this version cannot read: {error}") from error


def _saved_world(saved: dict) -> tuple[WorldSpec, int]:
    """(world, max_shapes) of a saved training config (before worlds were recorded: the whole)."""
    return WorldSpec(**saved.get("world", {})), int(saved.get("max_shapes", MAX_SHAPES))


def _check_resumable(saved: dict, config: BackboneTrainingConfig) -> None:
    """A run resumes in the world it started in (another world would be recorded as the whole
    run's, and read in by the prior), with the optimizer it started with (its state is that
    optimizer's), and in the latents it started in (`vae`)."""
    started_with = saved.get("optimizer", "adamw")
    if started_with != config.optimizer:
        raise UserError(
            f"this run was started with --optimizer {started_with}: resume it with the same, "
            "or start a new run folder"
        )
    if saved.get("vae", "") != config.vae:  # its weights learned that VAE's latents (or pixels)
        raise UserError(
            f"this run was started with --vae {saved.get('vae') or '(none: pixels)'}: resume it "
            "with the same, or start a new run folder"
        )
    saved_model = {**asdict(WorldModelConfig()), **saved.get("model", {})}
    changed = [
        f"{key} {value} -> {asdict(config.model)[key]}"
        for key, value in saved_model.items()
        if asdict(config.model)[key] != value
    ]
    if changed:  # its weights have the saved sizes
        raise UserError(
            f"this run was started with other model sizes ({'; '.join(changed)}): resume it with the same "
            "--model-* flags, or start a new run folder"
        )
    world, max_shapes = _saved_world(saved)
    if (world, max_shapes) != (config.world, config.max_shapes):
        raise UserError(
            f"this run was started in another world ({asdict(world)}, max_shapes {max_shapes}): "
            "resume it with the same --world-* and --max-shapes, or start a new run folder"
        )


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
    the model trains; the data and every random choice come from CPU streams, so a run resumes
    exactly on any device (a GPU draws the noise itself, from seeds those streams give:
    `draw_noise`). `data_workers` processes draw the batches ahead of the steps
    (`per_step_data` runs only, where that cannot change them): a GPU run needs them, since
    rendering on one core is slower than its steps.
    """
    if data_workers and not config.per_step_data:
        raise ValueError("data_workers needs per_step_data=True (one shared stream cannot be drawn ahead)")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / "state.pt"
    components, modules, ema, optimizer = build_trainer(config, device, resuming=state_path.exists())
    tokenizer = components["tokenizer"]
    vae = components["vae"] if config.vae else None  # frozen, on `device`; None: pixels
    ema_parameters = list(ema.parameters())
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    step, elapsed_before = 0, 0.0
    if state_path.exists():
        # On the CPU: the random generators' states must stay there; load_state_dict copies the
        # weights and the optimizer's moments to the parameters' device.
        state = torch.load(state_path, weights_only=False, map_location="cpu")
        _check_resumable(state["config"], config)
        modules.load_state_dict(state["modules"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(with_settings_of(optimizer, state["optimizer"]))
        step, elapsed_before = restore_progress(state, rng, generator, log)

    def save_run() -> None:
        elapsed = elapsed_before + time.time() - start
        save_state(
            state_path,
            {
                "modules": modules.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                **progress(rng, generator, step, elapsed, config),
                # The VAE travels with the run, so its bases can be written from the state alone.
                "vae": vae_state(vae) if vae is not None else None,
            },
        )

    def next_batch() -> Batch:
        if prefetched is not None:
            return prefetched.get(step)  # tokenized by the workers
        return step_batch(config, step) if config.per_step_data else draw_batch(rng, config, step)

    start = last_save = last_log = time.time()
    losses: list[torch.Tensor] = []
    last = config.max_steps if stop_at is None else min(stop_at, config.max_steps)
    prefetched = PrefetchedBatches(config, data_workers) if data_workers else None
    try:
        while step < last and elapsed_before + time.time() - start < config.max_minutes * 60:
            loss = training_step(
                modules,
                ema_parameters,
                optimizer,
                tokenizer,
                next_batch(),
                generator,
                config,
                step=step,
                device=device,
                vae=vae,
            )
            step += 1
            losses.append(loss)  # read every 50 steps: no per-step wait on a GPU
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
                save_run()
                last_save = time.time()
    finally:
        if prefetched is not None:
            prefetched.close()
    save_run()
    if step < config.max_steps and stop_at is not None and step >= stop_at:
        return None

    components["transformer"] = ema["transformer"].cpu()
    components["text_encoder"] = ema["text_encoder"].cpu()
    components["vae"] = components["vae"].cpu()
    metadata = {
        **model_config_metadata(config.model),
        "training_config": json.dumps(asdict(config), sort_keys=True),
        "training_steps": str(step),
        "training_minutes": f"{(elapsed_before + time.time() - start) / 60:.1f}",
        "command": command or " ".join(sys.argv),
    }
    if config.init_base:  # where the weights started: steps and command of the base before
        try:
            before = base_metadata(config.init_base)
        except UserError:  # moved since the run began: the weights are trained all the same
            before = {}
        metadata["init_base_training_steps"] = before.get("training_steps", "unknown")
        metadata["init_base_command"] = before.get("command", "unknown")
    if config.vae:  # how the VAE was made (its own run's config, steps and command)
        provenance = vae_provenance(config.vae)
        metadata["vae_training_steps"] = provenance.get("training_steps", "unknown")
        metadata["vae_command"] = provenance.get("command", "unknown")
    return save_world_base(components, base_dir, metadata)
