"""Loading the text-to-image and image-edit pipelines through diffusers, and calling them.

Both are loaded by name or folder with `DiffusionPipeline.from_pretrained`, which picks the
pipeline class from the checkpoint's `model_index.json`: Qwen-Image and Qwen-Image-Edit by
default, and any other diffusers text-to-image pipeline (FLUX, SD3, ...) or image-edit pipeline
(FLUX Kontext, InstructPix2Pix, ...) the same way. Calls use the arguments these pipelines share
(`prompt`, `negative_prompt`, `num_inference_steps`, `generator`, and `height`/`width` or
`image`), plus the config's extra keyword arguments, which are checked against the pipeline's
signature up front so that a typo fails before any image is made.

Every item gets its own CPU `torch.Generator` seeded from its id: an image does not depend on
the batch it was made in, the shard that made it or the device.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from imvideoedit.data_construction.config import ImagesConfig
from imvideoedit.data_construction.layout import WHOLE, Shard
from imvideoedit.errors import UserError

log = logging.getLogger(__name__)

T2I = "text-to-image"
EDIT = "image-edit"
REQUIRED_ARGUMENTS = {
    T2I: ("prompt", "num_inference_steps", "generator", "height", "width"),
    EDIT: ("prompt", "image", "num_inference_steps", "generator"),
}


@dataclass(frozen=True)
class Placement:
    """Which share of the items this process makes, and on which device."""

    shard: Shard
    device: str


def resolve_placement(config: ImagesConfig, shard: Shard | None) -> Placement:
    """`--shard i/n` if given; else, under `accelerate launch` (WORLD_SIZE > 1), this process's
    index among all processes; else the whole item list. `device = "auto"` picks this process's
    GPU (accelerate's local device) when there is one, else the CPU."""
    state = None
    if shard is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from accelerate import PartialState

        state = PartialState()
        shard = Shard(state.process_index, state.num_processes)
    shard = shard or WHOLE
    if config.device != "auto":
        return Placement(shard, config.device)
    if state is not None:
        return Placement(shard, str(state.device))
    import torch

    return Placement(shard, "cuda" if torch.cuda.is_available() else "cpu")


def load_pipeline(name: str, role: str, config: ImagesConfig, device: str) -> Any:
    """The pipeline `name` (hub id or folder) in `config.dtype`, on `device` or CPU-offloaded to it."""
    import torch
    from diffusers import DiffusionPipeline

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[config.dtype]
    pipeline_class = _declared_class(name, config.local_files_only)
    if pipeline_class is not None:  # refuse a wrong pipeline before loading its weights
        check_pipeline(pipeline_class, role, config)
    log.info("loading the %s pipeline %s (%s) for %s", role, name, config.dtype, device)
    try:
        pipe = DiffusionPipeline.from_pretrained(name, dtype=dtype, local_files_only=config.local_files_only)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(
            f"cannot load the {role} pipeline {name!r}: {' '.join(str(error).split())[:300]}"
        ) from None
    if config.cpu_offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
    else:
        if config.cpu_offload:
            log.warning("images.cpu_offload needs a CUDA device; running on %s without offload", device)
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def preflight_pipeline(role: str, config: ImagesConfig) -> None:
    """Before any image is made: refuse a local folder that does not exist, or a checkpoint whose
    model_index.json names a pipeline that cannot play `role` with the configured arguments.

    `load_pipeline` checks the same when it loads, but the editor loads only after the whole
    text-to-image pass; this lets a build stop at once instead of hours in.
    """
    from imvideoedit.wan_configs import looks_like_hub_id  # (imports torch: only when a build makes images)

    name, key = (
        (config.t2i_model, "images.t2i_model") if role == T2I else (config.edit_model, "images.edit_model")
    )
    if not Path(name).expanduser().is_dir() and not looks_like_hub_id(name):
        raise UserError(f"{key}: pipeline folder not found: {name}")
    pipeline_class = _declared_class(name, config.local_files_only)
    if pipeline_class is not None:
        check_pipeline(pipeline_class, role, config)


def _declared_class(name: str, local_files_only: bool) -> type | None:
    """The pipeline class a checkpoint's model_index.json names, if it can be read cheaply."""
    import diffusers

    try:
        index = diffusers.DiffusionPipeline.load_config(name, local_files_only=local_files_only)
    except Exception:  # noqa: BLE001 - from_pretrained reports the real problem next
        return None
    found = getattr(diffusers, str(index.get("_class_name")), None)
    return found if isinstance(found, type) else None


def check_pipeline(pipe: Any, role: str, config: ImagesConfig) -> None:
    """Refuse, before any image is made, a pipeline (object or class) that cannot play `role`
    as configured: one without the role's arguments (a text-to-image pipeline given as the
    editor, ...), extra arguments it does not take, or a negative prompt it has no use for."""
    name, extra, key = (
        (config.t2i_model, config.t2i_kwargs, "images.t2i_kwargs")
        if role == T2I
        else (config.edit_model, config.edit_kwargs, "images.edit_kwargs")
    )
    parameters = _call_parameters(pipe)
    missing = [argument for argument in REQUIRED_ARGUMENTS[role] if argument not in parameters]
    if missing:
        raise UserError(
            f"{name!r} loads as {_name(pipe)}, which takes no {', '.join(missing)}: "
            f"it cannot serve as the {role} pipeline"
        )
    unknown = sorted(set(extra) - parameters)
    if unknown:
        raise UserError(
            f"{key} has argument(s) {', '.join(unknown)} that {_name(pipe)} does not take; "
            f"it takes: {', '.join(sorted(parameters))}"
        )
    if config.negative_prompt is not None and "negative_prompt" not in parameters:
        raise UserError(f'{_name(pipe)} takes no negative_prompt; set images.negative_prompt = "none"')


def _call_parameters(pipe: Any) -> set[str]:
    """Names `pipe(...)` takes (for a class: its instances), without **kwargs catch-alls."""
    signature = inspect.signature(pipe.__call__)
    names = {name for name, p in signature.parameters.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
    return names - {"self"} if isinstance(pipe, type) else names


def _name(pipe: Any) -> str:
    return pipe.__name__ if isinstance(pipe, type) else type(pipe).__name__


def seeded_generators(seeds: Sequence[int]) -> list[Any]:
    import torch

    return [torch.Generator(device="cpu").manual_seed(seed) for seed in seeds]


def text_to_images(
    pipe: Any, prompts: list[str], seeds: list[int], config: ImagesConfig
) -> list[Image.Image]:
    """One image per prompt, at the configured size, each from its own seed."""
    kwargs: dict[str, Any] = dict(
        prompt=prompts,
        height=config.height,
        width=config.width,
        num_inference_steps=config.t2i_steps,
        generator=seeded_generators(seeds),
        **config.t2i_kwargs,
    )
    if config.negative_prompt is not None:
        kwargs["negative_prompt"] = [config.negative_prompt] * len(prompts)
    return _images(pipe(**kwargs), len(prompts), T2I)


def edit_images(
    pipe: Any, images: list[Image.Image], prompts: list[str], seeds: list[int], config: ImagesConfig
) -> list[Image.Image]:
    """Each image edited by its prompt, each from its own seed (the pipeline picks the output size).

    A batch of one passes the image itself, not a one-element list: the form every image-edit
    pipeline accepts (Qwen-Image-Edit sizes its work from a single image; keep its batch at 1).
    """
    kwargs: dict[str, Any] = dict(
        image=images[0] if len(images) == 1 else images,
        prompt=prompts,
        num_inference_steps=config.edit_steps,
        generator=seeded_generators(seeds),
        **config.edit_kwargs,
    )
    if config.negative_prompt is not None:
        kwargs["negative_prompt"] = [config.negative_prompt] * len(prompts)
    return _images(pipe(**kwargs), len(prompts), EDIT)


def _images(output: Any, expected: int, role: str) -> list[Image.Image]:
    images = getattr(output, "images", None)
    if images is None and isinstance(output, tuple):
        images = output[0]
    if (
        not isinstance(images, list)
        or len(images) != expected
        or not all(isinstance(i, Image.Image) for i in images)
    ):
        raise RuntimeError(f"the {role} pipeline returned {type(images).__name__}, not {expected} PIL images")
    return [image.convert("RGB") for image in images]
