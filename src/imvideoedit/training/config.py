"""Training configuration: typed dataclasses holding every default once, read from TOML or YAML.

A config file has one table per section below ([model], [adapter], [data], [optim], [train],
[validation]); a file states only what differs from these defaults. Unknown sections or keys
are refused with the list of valid ones. `--set section.key=value` overrides any key after the
file is read, with the value coerced to the key's type ("none" clears an optional key).

The resolved config (defaults + file + overrides) is written beside the run (`config.yaml`) and
into every adapter file's metadata, so a trained adapter always says how it was made.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.config_files import read_config_sections, typed_sections
from imvideoedit.errors import UserError
from imvideoedit.text_encoding import MAX_SEQUENCE_LENGTH


@dataclass
class ModelConfig:
    base: str = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"  # diffusers folder or hub id
    weights_dtype: str = "bfloat16"  # the frozen backbone (and the text encoder while caching)
    adapter_dtype: str = "float32"  # the trainable adapter weights: the fp32 master copy
    gradient_checkpointing: bool = True  # recompute block activations in backward


@dataclass
class DataConfig:
    path: str | None = None  # dataset folder or metadata file (required)
    height: int = 480  # target size: buckets hold about height * width pixels
    width: int = 832
    bucket_step: int = 64  # bucket widths (and heights) step in pixels
    max_aspect: float = 3.0  # most elongated bucket, as long side / short side
    max_tokens: int | None = (
        None  # prompt length (limit and zero padding); None: the base tokenizer's, at most 512
    )
    cache_dir: str | None = None  # latent cache; default <output_dir>/latent_cache
    cache_dtype: str = "bfloat16"  # storage dtype of cached latents and embeddings
    entries_per_shard: int = 64  # cache entries per safetensors shard
    skip_bad: bool = False  # train on the good rows when some rows are bad


@dataclass
class OptimConfig:
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    eight_bit: bool = False  # bitsandbytes AdamW8bit (requires bitsandbytes)
    max_grad_norm: float = 1.0  # gradient clipping; 0 disables
    lr_scheduler: str = "constant_with_warmup"  # any name diffusers.optimization.get_scheduler knows
    warmup_steps: int = 100


@dataclass
class TrainConfig:
    output_dir: str = "runs/imvideoedit"
    seed: int = 0
    global_batch_size: int = 16  # pairs per optimizer step over all processes and accumulation
    per_device_batch_size: int = 1  # pairs per forward pass on one device
    epochs: int = 5
    max_steps: int | None = (
        None  # optimizer steps; when set, replaces `epochs` (and sets the schedule length)
    )
    flow_shift: float = 5.0  # shifted uniform timestep sampling
    mixed_precision: str = "bf16"  # "no", "bf16" or "fp16" (accelerate autocast)
    checkpoint_every: int = 500  # optimizer steps between checkpoints
    keep_checkpoints: int = 3  # the newest K checkpoints are kept
    log_every: int = 10  # optimizer steps between tracker logs
    logger: str = "tensorboard"  # "tensorboard", "wandb" or "none"


@dataclass
class ValidationConfig:
    every_steps: int = 500  # optimizer steps between validation edits; 0 disables
    num_pairs: int = 4  # pairs edited each time (the first ones of the dataset)
    num_inference_steps: int = 20  # Euler steps
    guidance_scale: float = 5.0  # classifier-free guidance; 1 disables
    negative_prompt: str = ""
    decode: bool = True  # decode with the base's VAE; False shows latent channels
    video: str | None = None  # optional short validation video edited with `video_prompt`
    video_prompt: str = ""
    video_frames: int = 17  # frames of the validation video (4k + 1)


@dataclass
class TrainingConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {f.name: dataclasses.asdict(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in dataclasses.fields(TrainingConfig)}  # type: ignore[misc]


def load_training_config(
    path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()
) -> TrainingConfig:
    """Defaults, then the file (if any), then `section.key=value` overrides."""
    values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    if path is not None:
        for section, table in _read_file(Path(path)).items():
            values[section].update(table)
    for override in overrides:
        section, key, raw = _parse_override(override)
        values[section][key] = raw
    return build_config(values)


def build_config(values: dict[str, dict[str, Any]]) -> TrainingConfig:
    """Typed config from nested plain values (unknown keys refused, values coerced)."""
    sections = typed_sections(values, SECTIONS)
    config = TrainingConfig(**sections)
    check_config(config)
    return config


def check_config(config: TrainingConfig) -> None:
    """Cross-field rules a type cannot express."""
    t, o, d = config.train, config.optim, config.data
    if t.mixed_precision not in ("no", "bf16", "fp16"):
        raise UserError(f"train.mixed_precision must be no, bf16 or fp16, got {t.mixed_precision!r}")
    if t.logger not in ("tensorboard", "wandb", "none"):
        raise UserError(f"train.logger must be tensorboard, wandb or none, got {t.logger!r}")
    for key in ("weights_dtype", "adapter_dtype"):
        if getattr(config.model, key) not in ("float32", "bfloat16", "float16"):
            raise UserError(f"model.{key} must be float32, bfloat16 or float16")
    if d.cache_dtype not in ("float32", "bfloat16", "float16"):
        raise UserError(f"data.cache_dtype must be float32, bfloat16 or float16, got {d.cache_dtype!r}")
    positive = {
        "train.global_batch_size": t.global_batch_size,
        "train.per_device_batch_size": t.per_device_batch_size,
        "train.epochs": t.epochs,
        "train.checkpoint_every": t.checkpoint_every,
        "train.keep_checkpoints": t.keep_checkpoints,
        "train.log_every": t.log_every,
        "data.entries_per_shard": d.entries_per_shard,
        "validation.num_inference_steps": config.validation.num_inference_steps,
    }
    for key, value in positive.items():
        if value < 1:
            raise UserError(f"{key} must be at least 1, got {value}")
    if config.validation.every_steps and config.validation.num_pairs < 1:
        raise UserError(f"validation.num_pairs must be at least 1, got {config.validation.num_pairs}")
    if t.max_steps is not None and t.max_steps < 1:
        raise UserError(f"train.max_steps must be at least 1, got {t.max_steps}")
    if config.validation.every_steps < 0:
        raise UserError(
            f"validation.every_steps must be 0 (off) or more, got {config.validation.every_steps}"
        )
    if not 0 <= t.seed < 2**32:
        raise UserError(f"train.seed must be in [0, 2**32), got {t.seed}")
    if o.learning_rate <= 0 or o.max_grad_norm < 0 or o.warmup_steps < 0:
        raise UserError("optim.learning_rate must be > 0, max_grad_norm and warmup_steps >= 0")
    for key in ("height", "width", "bucket_step"):
        value = getattr(d, key)
        if value < 16 or value % 16:
            raise UserError(f"data.{key} must be a positive multiple of 16, got {value}")
    if d.max_aspect < 1:
        raise UserError(f"data.max_aspect (long side / short side) must be at least 1, got {d.max_aspect}")
    if d.max_tokens is not None and not 1 <= d.max_tokens <= MAX_SEQUENCE_LENGTH:
        raise UserError(f"data.max_tokens must be in 1..{MAX_SEQUENCE_LENGTH} or none, got {d.max_tokens}")
    if t.flow_shift <= 0:
        raise UserError(f"train.flow_shift must be positive, got {t.flow_shift}")
    if config.validation.video_frames % 4 != 1:
        raise UserError(
            f"validation.video_frames must be 4k + 1 (1, 5, 9, 17, ...), got {config.validation.video_frames}"
        )


def _read_file(path: Path) -> dict[str, dict[str, Any]]:
    return read_config_sections(path, SECTIONS)


def _parse_override(text: str) -> tuple[str, str, Any]:
    if "=" not in text:
        raise UserError(f"--set expects section.key=value, got {text!r}")
    dotted, raw = text.split("=", 1)
    if "." not in dotted:
        raise UserError(f"--set expects section.key=value, got {text!r}")
    section, key = dotted.strip().split(".", 1)
    if section not in SECTIONS:
        raise UserError(
            f"unknown section {section!r} in --set {text!r}; valid sections: {', '.join(SECTIONS)}"
        )
    return section, key.strip(), raw.strip()
