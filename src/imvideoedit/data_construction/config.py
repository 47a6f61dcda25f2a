"""The data-construction config: typed dataclasses holding every default once, read from TOML or YAML.

A config file has one table per section below; it states only what differs from these
defaults. Unknown sections or keys are refused with the list of valid ones. `--set
section.key=value` (or `section.table.key=value` for the table-valued keys `task_mix`,
`t2i_kwargs`, `edit_kwargs`) overrides a key after the file is read.

Relative paths are taken relative to the current directory, as the training config does.

    [run]      where the stage files go, and the seed every sampling and image seed derives from
    [scenes]   environment and condition lists, how many scenes and conditions
    [judge]    the model that validates scenes and scores image pairs (the paper: Gemini)
    [writer]   the model that writes source/edited prompts and instructions (the paper: GPT)
    [prompts]  tasks per scene, the task mix, prompt length limits
    [images]   the text-to-image and image-edit diffusers pipelines and how they are run
    [filter]   the acceptance threshold on the judge's 0-10 scores
    [review]   the local review page
    [export]   the training dataset folder
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imvideoedit.config_files import read_config_sections, typed_sections
from imvideoedit.data.tasks import TASK_SLUGS, canonical_task
from imvideoedit.errors import UserError

BACKEND_KINDS = ("openai", "gemini", "local")
DTYPES = ("float32", "bfloat16", "float16")
EDIT_PROMPT_FIELDS = ("instruction", "edited_prompt")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class RunConfig:
    output_dir: str = "data_build"  # stage JSONL files and generated images go here
    seed: int = 0  # scene sampling, task assignment and image seeds all derive from it


@dataclass
class ScenesConfig:
    environments_file: str | None = None  # None: the list shipped with the package
    conditions_file: str | None = None  # None: the list shipped with the package
    conditions_per_scene: int = 2  # k: conditions combined with each environment
    scenes_per_environment: int = 10  # distinct condition draws per environment
    max_environments: int | None = None  # use only the first N environments (smoke runs)


@dataclass
class BackendConfig:
    """One chat model and how it is called (fields shared by [judge] and [writer])."""

    kind: str = (
        "openai"  # "openai" (any compatible endpoint), "gemini" or "local" (a transformers VLM folder)
    )
    model: str | None = None  # model id; for "local" the model folder
    base_url: str | None = None  # "openai" only; default $OPENAI_BASE_URL or api.openai.com
    timeout_s: float = 180.0
    temperature: float | None = 0.0  # None: the server's default
    max_tokens: int | None = None  # answer length limit; None: not sent
    image_max_side: int = 768  # images are scaled down to this longer side before sending
    device: str = "cpu"  # "local" only
    dtype: str = "auto"  # "local" only
    workers: int = 4  # items asked at once (API calls are I/O bound)
    max_repairs: int = 2  # repair requests after an answer that does not validate
    max_attempts: int = 6  # calls per request on rate limits, timeouts and server errors
    base_delay_s: float = 2.0  # first backoff delay; doubles each retry
    max_delay_s: float = 60.0


@dataclass
class JudgeConfig(BackendConfig):
    kind: str = "gemini"
    model: str | None = "gemini-2.5-pro"  # the paper's appendix A: best agreement with people


@dataclass
class WriterConfig(BackendConfig):
    kind: str = "openai"
    model: str | None = None  # e.g. the paper's GPT-5.3; must be set
    temperature: float | None = None  # the server's default (reasoning models accept no other)


@dataclass
class PromptsConfig:
    tasks_per_scene: int = 3  # distinct task categories drawn for each accepted scene
    # Relative weights of the ten categories; a mix given in a file replaces this one (unlisted
    # tasks get weight 0).
    task_mix: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TASK_SLUGS, 1.0))
    min_prompt_words: int = 8  # source and edited prompts describe whole scenes
    max_prompt_words: int = 120  # stays well under the text encoder's 512 tokens
    max_instruction_words: int = 30


@dataclass
class ImagesConfig:
    t2i_model: str = "Qwen/Qwen-Image"  # any diffusers text-to-image pipeline (hub id or folder)
    edit_model: str = "Qwen/Qwen-Image-Edit"  # any diffusers image-edit pipeline (hub id or folder)
    width: int = 1664  # source image size (Qwen-Image's 16:9 resolution)
    height: int = 928
    t2i_steps: int = 50
    edit_steps: int = 50
    negative_prompt: str | None = " "  # Qwen-Image enables true CFG only with a negative prompt
    t2i_kwargs: dict[str, Any] = field(
        default_factory=lambda: {"true_cfg_scale": 4.0}
    )  # extra call arguments
    edit_kwargs: dict[str, Any] = field(default_factory=lambda: {"true_cfg_scale": 4.0})
    edit_prompt: str = "instruction"  # what the edit pipeline is told: "instruction" or "edited_prompt"
    t2i_batch_size: int = 2
    edit_batch_size: int = 1
    dtype: str = "bfloat16"
    device: str = "auto"  # "auto": this process's GPU (accelerate's local index) or the CPU
    cpu_offload: bool = False  # diffusers' model CPU offload: one component on the GPU at a time
    local_files_only: bool = False  # never reach the hub (models must be in the cache or a folder)


@dataclass
class FilterConfig:
    threshold: int = 6  # a pair passes when every score reaches it (the paper's appendix A)


@dataclass
class ReviewConfig:
    host: str = "127.0.0.1"  # loopback only: the page has no authentication
    port: int = 8765  # 0: any free port


@dataclass
class ExportConfig:
    output_dir: str | None = None  # None: <run.output_dir>/dataset
    check: bool = True  # validate the written dataset as `imvideoedit data check` does


@dataclass
class BuildConfig:
    run: RunConfig = field(default_factory=RunConfig)
    scenes: ScenesConfig = field(default_factory=ScenesConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    writer: WriterConfig = field(default_factory=WriterConfig)
    prompts: PromptsConfig = field(default_factory=PromptsConfig)
    images: ImagesConfig = field(default_factory=ImagesConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    @property
    def output_dir(self) -> Path:
        return Path(self.run.output_dir)

    @property
    def export_dir(self) -> Path:
        return Path(self.export.output_dir) if self.export.output_dir else self.output_dir / "dataset"

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {f.name: dataclasses.asdict(getattr(self, f.name)) for f in dataclasses.fields(self)}


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in dataclasses.fields(BuildConfig)}  # type: ignore[misc]


def load_build_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> BuildConfig:
    """Defaults, then the file (if any), then `section.key=value` overrides."""
    values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    if path is not None:
        for section, table in _read_file(Path(path)).items():
            values[section].update(table)
    for override in overrides:
        section, key, sub_key, raw = _parse_override(override)
        if sub_key is None:
            values[section][key] = raw
        else:
            table = values[section].get(key)
            if not isinstance(table, dict):
                table = dict(getattr(SECTIONS[section](), key, None) or {})
            values[section][key] = {**table, sub_key: _literal(raw)}
    return build_config(values)


def build_config(values: dict[str, dict[str, Any]]) -> BuildConfig:
    """Typed config from nested plain values (unknown sections/keys refused, values coerced)."""
    unknown_sections = sorted(set(values) - set(SECTIONS))
    if unknown_sections:
        raise UserError(
            f"unknown section(s) {', '.join(unknown_sections)}; valid sections: {', '.join(SECTIONS)}"
        )
    sections = typed_sections(values, SECTIONS)
    config = BuildConfig(**sections)
    config.prompts.task_mix = _canonical_mix(config.prompts.task_mix)
    check_config(config)
    return config


def check_config(config: BuildConfig) -> None:
    """Cross-field rules a type cannot express."""
    s, p, i = config.scenes, config.prompts, config.images
    at_least_one = {
        "scenes.conditions_per_scene": s.conditions_per_scene,
        "scenes.scenes_per_environment": s.scenes_per_environment,
        "prompts.tasks_per_scene": p.tasks_per_scene,
        "prompts.min_prompt_words": p.min_prompt_words,
        "prompts.max_instruction_words": p.max_instruction_words,
        "images.width": i.width,
        "images.height": i.height,
        "images.t2i_steps": i.t2i_steps,
        "images.edit_steps": i.edit_steps,
        "images.t2i_batch_size": i.t2i_batch_size,
        "images.edit_batch_size": i.edit_batch_size,
    }
    if s.max_environments is not None:
        at_least_one["scenes.max_environments"] = s.max_environments
    for section_name in ("judge", "writer"):
        backend: BackendConfig = getattr(config, section_name)
        if backend.kind not in BACKEND_KINDS:
            raise UserError(
                f"{section_name}.kind must be one of {', '.join(BACKEND_KINDS)}, got {backend.kind!r}"
            )
        at_least_one[f"{section_name}.workers"] = backend.workers
        at_least_one[f"{section_name}.max_attempts"] = backend.max_attempts
        at_least_one[f"{section_name}.image_max_side"] = backend.image_max_side
        if (
            backend.max_repairs < 0
            or backend.base_delay_s < 0
            or backend.max_delay_s < 0
            or backend.timeout_s <= 0
        ):
            raise UserError(f"{section_name}: max_repairs and delays must be >= 0 and timeout_s > 0")
    for key, value in at_least_one.items():
        if value < 1:
            raise UserError(f"{key} must be at least 1, got {value}")
    if i.width % 16 or i.height % 16:  # the image pipelines' VAE (8) x transformer patch (2)
        raise UserError(f"images.width and images.height must be multiples of 16, got {i.width}x{i.height}")
    if p.max_prompt_words < p.min_prompt_words:
        raise UserError("prompts.max_prompt_words must be at least prompts.min_prompt_words")
    if p.tasks_per_scene > sum(1 for weight in p.task_mix.values() if weight > 0):
        raise UserError(
            f"prompts.tasks_per_scene is {p.tasks_per_scene} but only "
            f"{sum(1 for w in p.task_mix.values() if w > 0)} task(s) have a weight above 0 in prompts.task_mix"
        )
    if i.dtype not in DTYPES:
        raise UserError(f"images.dtype must be one of {', '.join(DTYPES)}, got {i.dtype!r}")
    if i.edit_prompt not in EDIT_PROMPT_FIELDS:
        raise UserError(
            f"images.edit_prompt must be one of {', '.join(EDIT_PROMPT_FIELDS)}, got {i.edit_prompt!r}"
        )
    if not 0 <= config.filter.threshold <= 10:
        raise UserError(f"filter.threshold must be within 0..10, got {config.filter.threshold}")
    if config.review.host not in LOOPBACK_HOSTS:
        raise UserError(
            f"review.host must be a loopback address ({', '.join(LOOPBACK_HOSTS)}): the review page has no "
            f"authentication; got {config.review.host!r}"
        )
    if not 0 <= config.review.port <= 65535:
        raise UserError(f"review.port must be within 0..65535, got {config.review.port}")


def _canonical_mix(mix: dict[str, float]) -> dict[str, float]:
    """The mix keyed by task slug, every task present (unlisted ones at weight 0)."""
    canonical = dict.fromkeys(TASK_SLUGS, 0.0)
    for name, weight in mix.items():
        slug = canonical_task(name)
        if slug is None:
            raise UserError(
                f"unknown task {name!r} in prompts.task_mix; valid tasks: {', '.join(TASK_SLUGS)}"
            )
        if weight < 0:
            raise UserError(f"prompts.task_mix.{name} must be >= 0, got {weight}")
        canonical[slug] = float(weight)
    if not any(weight > 0 for weight in canonical.values()):
        raise UserError("prompts.task_mix gives every task weight 0")
    return canonical


def _read_file(path: Path) -> dict[str, dict[str, Any]]:
    return read_config_sections(path, SECTIONS)


def _parse_override(text: str) -> tuple[str, str, str | None, str]:
    """'section.key=value' or 'section.table.key=value' -> (section, key, sub_key, raw value)."""
    if "=" not in text:
        raise UserError(f"--set expects section.key=value, got {text!r}")
    dotted, raw = text.split("=", 1)
    parts = [part.strip() for part in dotted.split(".")]
    if len(parts) not in (2, 3) or not all(parts):
        raise UserError(f"--set expects section.key=value or section.table.key=value, got {text!r}")
    if parts[0] not in SECTIONS:
        raise UserError(
            f"unknown section {parts[0]!r} in --set {text!r}; valid sections: {', '.join(SECTIONS)}"
        )
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None, raw.strip()


def _literal(raw: str) -> Any:
    """A --set value for a table entry: a JSON literal (number, true/false, quoted string) or the text."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
