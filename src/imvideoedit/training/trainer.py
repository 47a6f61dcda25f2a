"""The training loop, top to bottom: data -> cache -> model -> optimizer -> steps -> checkpoints.

One function, `train`, runs the whole job on one process or under `accelerate launch` (DDP,
FSDP or DeepSpeed ZeRO-2, chosen by the accelerate config file, not by this code):

1. batch layout: a global batch of `train.global_batch_size` pairs per optimizer step is
   `per_device_batch_size` x processes x gradient-accumulation steps;
2. data: every row is validated (bad rows refused with a list, or skipped with --skip-bad), then
   whatever the latent cache lacks is encoded, split over processes; afterwards no VAE and no
   text encoder stay in memory;
3. model: the frozen base with the adapter; only adapter parameters reach AdamW;
4. resume: optimizer, schedule, RNG and data position from the newest complete checkpoint;
5. steps: bucketed micro-batches in a seeded order, rectified flow on the target half,
   gradient accumulation and clipping; progress, logs, checkpoints and validation edits.

Bit-exact resume rests on three things: the data order and the noise are pure functions of
(seed, position); the checkpoint holds the exact optimizer/scheduler state and adapter weights;
a checkpoint is only ever taken between optimizer steps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from imvideoedit.atomic_write import atomic_write_text
from imvideoedit.data.latent_cache import LatentCache
from imvideoedit.data.preprocess import PlannedPair
from imvideoedit.errors import UserError, refuse_file_as_folder
from imvideoedit.training.batch_order import BatchOrder
from imvideoedit.training.batches import draw_noise, flow_matching_loss, load_micro_batch
from imvideoedit.training.checkpoints import (
    ADAPTER_FILE,
    TrainerState,
    install_state_hooks,
    load_checkpoint,
    newest_checkpoint,
    read_trainer_state,
    save_checkpoint,
    uses_deepspeed,
)
from imvideoedit.training.config import TrainConfig, TrainingConfig
from imvideoedit.training.memory import format_gib, memory_kind, peak_memory_bytes
from imvideoedit.training.model_setup import (
    DTYPES,
    build_optimizer,
    build_scheduler,
    build_trainable_transformer,
    trainable_parameters,
)


@dataclass
class TrainResult:
    steps: int  # optimizer steps done (in total, counting a resumed run's earlier steps)
    adapter_path: Path
    is_main_process: bool
    losses: list[float]  # mean loss of each step this call ran
    peak_memory_bytes: int
    seconds: float  # wall time of the steps this call ran
    pairs_trained: int  # pairs this call trained on (all processes)
    model: torch.nn.Module  # the adapted transformer (unwrapped), for callers that go on using it


@dataclass
class TrainingData:
    planned: list[PlannedPair]  # every usable pair with its bucket and cache entries
    cache: LatentCache
    text_length: int  # prompt embeddings are zero-padded to this many tokens, as at inference
    negative_entry: str | None  # cached negative prompt, for guided validation edits
    video_entry: str | None  # cached validation-video prompt


def gradient_accumulation_steps(train: TrainConfig, num_processes: int) -> int:
    per_step = train.per_device_batch_size * num_processes
    if train.global_batch_size % per_step:
        raise UserError(
            f"train.global_batch_size ({train.global_batch_size}) must be a multiple of "
            f"per_device_batch_size x processes ({train.per_device_batch_size} x {num_processes} = {per_step})"
        )
    return train.global_batch_size // per_step


def train(config: TrainingConfig, resume: bool = False) -> TrainResult:
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    t = config.train
    run_dir = Path(t.output_dir)

    # 1. Processes and batch layout.
    _check_logger_available(t.logger)
    accelerator = Accelerator(
        mixed_precision=t.mixed_precision,
        log_with=None if t.logger == "none" else t.logger,
        project_dir=str(run_dir),
        step_scheduler_with_optimizer=False,  # stepped once per optimizer step, below
    )
    num_processes = accelerator.num_processes
    accumulation = gradient_accumulation_steps(t, num_processes)
    accelerator.gradient_accumulation_steps = accumulation
    micro_batch_size = t.per_device_batch_size * num_processes
    if uses_deepspeed(accelerator):
        _fill_deepspeed_config(accelerator, config)
    device, rank, main = accelerator.device, accelerator.process_index, accelerator.is_main_process
    refuse_file_as_folder(run_dir, "--output", "run folder")
    if not resume and newest_checkpoint(run_dir) is not None:
        raise UserError(
            f"{run_dir} already holds checkpoints: pass --resume to continue, or choose another --output"
        )
    v = config.validation
    if v.every_steps and v.video and not Path(v.video).is_file():  # found now, not at the first validation
        raise UserError(f"validation.video not found: {v.video}")

    # 2. Data: validate, then fill the latent cache.
    data = prepare_training_data(config, accelerator, run_dir)

    # 3. Model, optimizer and schedule.
    set_seed(t.seed)  # the adapter's fresh layers draw from it: same start on every process
    transformer = build_trainable_transformer(config.model, config.adapter)
    params = trainable_parameters(transformer)
    order = BatchOrder([pair.bucket.name for pair in data.planned], micro_batch_size, t.seed)
    total_steps = t.max_steps or math.ceil(t.epochs * order.micro_batches_per_epoch / accumulation)
    optimizer = build_optimizer(params, config.optim)
    scheduler = build_scheduler(optimizer, config.optim, total_steps)
    model, optimizer, scheduler = accelerator.prepare(transformer, optimizer, scheduler)
    install_state_hooks(accelerator)
    unwrapped = accelerator.unwrap_model(model)
    input_dtype = (
        unwrapped.patch_embedding.weight.dtype
    )  # what the backbone holds now (DeepSpeed may cast it)

    def write_adapter(path: Path, step: int) -> None:
        from imvideoedit import save_adapter

        save_adapter(
            unwrapped, path, extra_metadata={"training_config": config.to_json(), "training_step": str(step)}
        )

    # 4. Resume from the newest complete checkpoint.
    step = position = 0
    layout = TrainerState(
        0, 0, num_processes, micro_batch_size, accumulation, t.seed, _dataset_hash(data.planned)
    )
    if resume:
        step, position = _resume(accelerator, unwrapped, run_dir, layout, config)
    if step > total_steps:
        raise UserError(
            f"{run_dir} is already at step {step}, beyond this run's {total_steps} steps (train.max_steps)"
        )
    if main:
        atomic_write_text(run_dir / "config.yaml", config.to_yaml())
    if t.logger == "tensorboard":  # event files in <run>/logs
        accelerator.init_trackers("logs", config=_flat_config(config))
    elif t.logger == "wandb":  # project "imvideoedit", one wandb run per run folder
        wandb_run = {"wandb": {"name": run_dir.name, "dir": str(run_dir)}}
        accelerator.init_trackers("imvideoedit", config=_flat_config(config), init_kwargs=wandb_run)
    accelerator.print(
        f"training {len(data.planned)} pairs for {total_steps} steps: global batch {t.global_batch_size} = "
        f"{t.per_device_batch_size} per device x {num_processes} process(es) x {accumulation} accumulation; "
        f"{sum(p.numel() for p in params):,} trainable parameters"
    )

    # 5. The steps.
    losses: list[float] = []
    recent: deque[tuple[float, int]] = deque(maxlen=20)  # (seconds, pairs) of recent steps
    progress = tqdm(total=total_steps, initial=step, desc="training", unit="step", disable=not main)
    started = time.perf_counter()
    first_step = step
    while step < total_steps:
        step_started = time.perf_counter()
        step_loss = torch.zeros((), device=device)
        for _ in range(accumulation):
            indices = order.micro_batch(position)
            batch = load_micro_batch(
                data.cache, data.planned, indices, rank, t.per_device_batch_size, data.text_length
            ).to(device)
            sigma, noise = draw_noise(
                order.noise_generator(position), micro_batch_size, tuple(batch.target.shape[1:]), t.flow_shift
            )
            mine = slice(rank * t.per_device_batch_size, (rank + 1) * t.per_device_batch_size)
            with accelerator.accumulate(model):
                loss = flow_matching_loss(model, batch, sigma[mine], noise[mine], input_dtype)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.optim.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(params, config.optim.max_grad_norm)
                optimizer.step()
                if accelerator.sync_gradients:
                    scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            step_loss += loss.detach().float() / accumulation
            position += 1
        step += 1
        mean_loss = accelerator.reduce(step_loss, reduction="mean").item()
        if not math.isfinite(mean_loss):  # every process sees the same reduced value: all stop here
            progress.close()
            last = newest_checkpoint(run_dir)
            raise UserError(
                f"the loss is {mean_loss} at step {step}: training diverged (try a lower optim.learning_rate); "
                "no adapter was written" + (f", the newest checkpoint is {last}" if last else "")
            )
        losses.append(mean_loss)

        recent.append((time.perf_counter() - step_started, t.global_batch_size))
        pairs_per_second = sum(n for _, n in recent) / max(sum(s for s, _ in recent), 1e-9)
        learning_rate = scheduler.get_last_lr()[0]
        peak = peak_memory_bytes(device)
        progress.update(1)
        progress.set_postfix(
            loss=f"{mean_loss:.4f}",
            lr=f"{learning_rate:.2e}",
            pairs_s=f"{pairs_per_second:.2f}",
            peak=format_gib(peak),
        )
        if step % t.log_every == 0 or step == total_steps:
            accelerator.log(
                {
                    "train/loss": mean_loss,
                    "train/lr": learning_rate,
                    "train/pairs_per_s": pairs_per_second,
                    "train/peak_memory_gib": peak / 2**30,
                },
                step=step,
            )
        if step % t.checkpoint_every == 0 or step == total_steps:
            state = dataclasses.replace(layout, step=step, position=position)
            save_checkpoint(
                accelerator, lambda path, s=step: write_adapter(path, s), run_dir, state, t.keep_checkpoints
            )
        if config.validation.every_steps and step % config.validation.every_steps == 0:
            from imvideoedit.training.validation_edits import validate

            validate(accelerator, model, config, data, step, run_dir, input_dtype)
    progress.close()
    seconds = time.perf_counter() - started

    # 6. The trained adapter.
    adapter_path = run_dir / ADAPTER_FILE
    if main:
        write_adapter(adapter_path, step)
    accelerator.wait_for_everyone()
    peak = peak_memory_bytes(device)
    accelerator.print(
        f"peak memory ({memory_kind(device)}): {format_gib(peak)}; adapter written to {adapter_path}"
    )
    accelerator.end_training()
    pairs = (step - first_step) * t.global_batch_size
    return TrainResult(step, adapter_path, main, losses, peak, seconds, pairs, unwrapped)


def prepare_training_data(config: TrainingConfig, accelerator, run_dir: Path) -> TrainingData:
    """Validate every row (main process), then encode what the cache lacks (all processes)."""
    from accelerate.utils import broadcast_object_list

    from imvideoedit.data.preprocess import encode_missing, text_entry_for

    d, v = config.data, config.validation
    if d.path is None:
        raise UserError("no dataset: pass --data DIR or set data.path in the config")

    # Validation decodes every image: done once, on the main process, and shared.
    shared: list = [None]
    if accelerator.is_main_process:
        try:
            shared[0] = _validated_plan(config)
        except UserError as error:
            shared[0] = str(error)
    if accelerator.num_processes > 1:
        broadcast_object_list(shared)
    if isinstance(shared[0], str):
        raise UserError(shared[0])
    planned, encoders, text_length = shared[0]
    cache = LatentCache(
        Path(d.cache_dir) if d.cache_dir else run_dir / "latent_cache"
    )  # once the data passed

    extra_prompts = []
    negative_entry = video_entry = None
    if v.every_steps and v.guidance_scale != 1.0:
        extra_prompts.append(v.negative_prompt)
        negative_entry = text_entry_for(v.negative_prompt, text_length, encoders, d.cache_dtype)
    if v.every_steps and v.video:
        extra_prompts.append(v.video_prompt)
        video_entry = text_entry_for(v.video_prompt, text_length, encoders, d.cache_dtype)

    written = encode_missing(
        planned,
        cache,
        config.model.base,
        accelerator.device,
        d.cache_dtype,
        text_length,
        encoders,
        text_encoder_dtype=DTYPES[config.model.weights_dtype],
        extra_prompts=tuple(extra_prompts),
        rank=accelerator.process_index,
        world_size=accelerator.num_processes,
        entries_per_shard=d.entries_per_shard,
        show_progress=accelerator.is_main_process,
    )
    accelerator.wait_for_everyone()
    cache.refresh()
    missing = [p.id for p in planned if p.pair_entry not in cache or p.text_entry not in cache]
    if missing:
        raise UserError(
            f"latent cache {cache.directory} lacks {len(missing)} pair(s) after encoding, e.g. {missing[:3]}"
        )
    accelerator.print(f"latent cache {cache.directory}: {len(cache)} entries ({written} encoded now)")
    return TrainingData(planned, cache, text_length, negative_entry, video_entry)


def _validated_plan(config: TrainingConfig) -> tuple[list[PlannedPair], str, int]:
    """(planned pairs, encoders fingerprint, prompt length) after validating every row."""
    from imvideoedit.data.encoders import encoders_fingerprint, load_tokenizer, require_base_parts
    from imvideoedit.data.metadata import read_pair_table
    from imvideoedit.data.preprocess import ResizeSettings, plan_pairs
    from imvideoedit.data.validation import WARNING_LABELS, accept_pairs, validate_pairs
    from imvideoedit.text_encoding import text_length

    d = config.data
    require_base_parts(config.model.base, ("transformer", "vae", "text_encoder", "tokenizer"))
    tokenizer = load_tokenizer(config.model.base)
    length = text_length(tokenizer, d.max_tokens)
    report = validate_pairs(read_pair_table(d.path), tokenizer=tokenizer, max_tokens=length)
    good = accept_pairs(report, d.skip_bad)
    if report.problems:
        print(
            f"skipping {len(report.bad_lines)} bad row(s) (--skip-bad):\n{report.format_problems(limit=20)}"
        )
    for kind, label in WARNING_LABELS.items():
        count = sum(1 for warning in report.warnings if warning.kind == kind)
        if count:
            print(f"warning: {count} {label} (imvideoedit data check lists them)")
    encoders = encoders_fingerprint(config.model.base)
    settings = ResizeSettings(d.height, d.width, d.bucket_step, d.max_aspect)
    return plan_pairs(good, settings, encoders, d.cache_dtype, length), encoders, length


# What a resumed run may change: its length, bookkeeping, validation, data (a changed dataset is
# warned about) and where the base is read from. Anything else would make the resumed run a
# different training run than the one its checkpoint and recorded config describe (the
# optimizer state restores the old learning rates, the adapter's layout is fixed, ...).
RESUME_MAY_CHANGE = {
    "model": {"base", "gradient_checkpointing"},
    "train": {
        "output_dir",
        "epochs",
        "max_steps",
        "checkpoint_every",
        "keep_checkpoints",
        "log_every",
        "logger",
    },
}
RESUME_MAY_CHANGE_SECTIONS = {"data", "validation"}


def _resume(
    accelerator, unwrapped, run_dir: Path, layout: TrainerState, config: TrainingConfig
) -> tuple[int, int]:
    """Load the newest complete checkpoint; returns (step, data position)."""
    from imvideoedit import load_adapter

    checkpoint = newest_checkpoint(run_dir)
    if checkpoint is None:
        accelerator.print(f"no complete checkpoint in {run_dir}; starting from step 0")
        return 0, 0
    _check_resumed_config(checkpoint, config)
    saved = read_trainer_state(checkpoint)
    for key in ("num_processes", "micro_batch_size", "accumulation", "seed"):
        if getattr(saved, key) != getattr(layout, key):
            raise UserError(
                f"cannot resume {checkpoint}: it was trained with {key}={getattr(saved, key)}, this run has "
                f"{key}={getattr(layout, key)} (the data order and batches would differ)"
            )
    if saved.dataset and saved.dataset != layout.dataset:
        accelerator.print(
            "warning: the dataset (or its preprocessing) changed since this checkpoint; training goes on "
            "with the new pairs, so the data order differs from the original run's"
        )
    load_checkpoint(accelerator, checkpoint)
    if not uses_deepspeed(accelerator):  # DeepSpeed restored its module itself
        load_adapter(unwrapped, checkpoint / ADAPTER_FILE)
    accelerator.print(f"resumed from {checkpoint} (step {saved.step})")
    return saved.step, saved.position


def _check_resumed_config(checkpoint: Path, config: TrainingConfig) -> None:
    """Refuse a resume whose config differs from the checkpoint's in a key it may not change."""
    from imvideoedit.adapter_io import read_adapter_metadata

    recorded = read_adapter_metadata(checkpoint / ADAPTER_FILE).get("training_config")
    if recorded is None:  # written by hand or by an older version: nothing to compare with
        return
    saved, now = json.loads(recorded), json.loads(config.to_json())  # both as JSON values
    for section, values in now.items():
        if section in RESUME_MAY_CHANGE_SECTIONS:
            continue
        for key, value in values.items():
            if key in RESUME_MAY_CHANGE.get(section, ()) or key not in saved.get(section, {}):
                continue
            if saved[section][key] != value:
                raise UserError(
                    f"cannot resume {checkpoint}: it was trained with {section}.{key}={saved[section][key]!r}, "
                    f"this run has {value!r} (start a new run with --output to change it)"
                )


def _dataset_hash(planned: list[PlannedPair]) -> str:
    entries = "\n".join(f"{pair.pair_entry} {pair.text_entry}" for pair in planned)
    return hashlib.sha256(entries.encode()).hexdigest()[:16]


def _fill_deepspeed_config(accelerator, config: TrainingConfig) -> None:
    """Our config decides what the DeepSpeed JSON leaves on "auto" (there is no DataLoader to infer it)."""
    ds = accelerator.state.deepspeed_plugin.deepspeed_config
    if ds.get("train_micro_batch_size_per_gpu", "auto") == "auto":
        ds["train_micro_batch_size_per_gpu"] = config.train.per_device_batch_size
    if ds.get("gradient_clipping", "auto") == "auto":
        ds["gradient_clipping"] = config.optim.max_grad_norm


def _check_logger_available(logger: str) -> None:
    import importlib.util

    package = {"tensorboard": "tensorboard", "wandb": "wandb"}.get(logger)
    if package and importlib.util.find_spec(package) is None:
        raise UserError(f"train.logger = {logger!r} needs the {package} package: pip install {package}")


def _flat_config(config: TrainingConfig) -> dict[str, object]:
    """section.key -> value with None as "none": what trackers accept as hyperparameters."""
    flat = {}
    for section, values in config.to_dict().items():
        for key, value in values.items():
            flat[f"{section}.{key}"] = "none" if value is None else value
    return flat
