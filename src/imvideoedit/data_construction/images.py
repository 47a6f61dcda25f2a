"""Stage 3, images: a source image from the text-to-image pipeline, then its edit.

Two passes, so that only one large pipeline is in memory at a time (Qwen-Image and
Qwen-Image-Edit are about 20B parameters each):

1. sources: every item with written prompts gets `source_prompt` rendered at the configured
   size (`sources.jsonl`);
2. targets: every item with a source gets it edited by its instruction (or, with
   `images.edit_prompt = "edited_prompt"`, its full edited prompt) (`images.jsonl`). A target
   the editor returns at another size is resized to the source's, so the pair stays aligned.

Items are processed in batches; each image is written atomically and its record appended right
after, so a kill loses at most the batch in flight. An item whose record exists but whose image
file is gone is made again. Seeds come from item ids (`ids.item_seed`).

With `--shard i/n` (or under `accelerate launch`, one shard per process) a process makes only
the items whose id hashes to its shard and writes its own record files; later stages read them
all.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from imvideoedit.atomic_write import atomic_path
from imvideoedit.data_construction.config import BuildConfig
from imvideoedit.data_construction.ids import item_seed, shard_of
from imvideoedit.data_construction.item_runner import StageSummary
from imvideoedit.data_construction.layout import BuildLayout, Shard
from imvideoedit.data_construction.pipelines import (
    EDIT,
    T2I,
    check_pipeline,
    edit_images,
    load_pipeline,
    preflight_pipeline,
    resolve_placement,
    text_to_images,
)
from imvideoedit.data_construction.records import OK, RecordLog, latest_by_id, read_records, read_stage
from imvideoedit.errors import UserError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageItem:
    id: str
    source_prompt: str
    edit_prompt: str  # what the editor is told


def run_images(
    config: BuildConfig,
    shard: Shard | None = None,
    t2i_pipeline: Any | None = None,
    edit_pipeline: Any | None = None,
) -> StageSummary:
    """Both passes for this shard. Pipelines are loaded from the config unless given."""
    layout = BuildLayout(config.output_dir)
    placement = resolve_placement(config.images, shard)
    prompt_records = latest_by_id(read_records(layout.prompts))
    field = config.images.edit_prompt
    items = [
        ImageItem(record["id"], record["source_prompt"], record[field])
        for record in prompt_records.values()
        if record.get("status") == OK
        and shard_of(record["id"], placement.shard.count) == placement.shard.index
    ]
    summary = StageSummary("images", planned=len(items))
    if placement.shard.count > 1:
        summary.notes.append(f"shard {placement.shard.index}/{placement.shard.count} on {placement.device}")
    if not prompt_records:
        summary.notes.append(f"no prompt records in {layout.prompts}: run the prompts stage first")
    layout.images_dir.mkdir(parents=True, exist_ok=True)

    sources = read_stage(layout.all_sources())
    source_todo = [item for item in items if not _has_files(layout, sources.get(item.id), ("source",))]
    finished = read_stage(layout.all_images())
    if source_todo and t2i_pipeline is None:
        preflight_pipeline(T2I, config.images)
    if edit_pipeline is None and any(
        not _has_files(layout, finished.get(item.id), ("source", "target")) for item in items
    ):
        preflight_pipeline(EDIT, config.images)  # now, not after the whole text-to-image pass
    if source_todo:
        pipe = t2i_pipeline or load_pipeline(config.images.t2i_model, T2I, config.images, placement.device)
        check_pipeline(pipe, T2I, config.images)
        with RecordLog(layout.sources(placement.shard)) as record_log:
            for batch in _batches(source_todo, config.images.t2i_batch_size, "sources"):
                for record in _make_sources(pipe, batch, config, layout):
                    record_log.append(record)
                    sources[record["id"]] = record
                    summary.statuses["source made"] += 1
        del pipe
        _free_memory()

    done = read_stage(layout.all_images())
    target_todo = [
        item
        for item in items
        if item.id in sources and not _has_files(layout, done.get(item.id), ("source", "target"))
    ]
    summary.already_done = len(items) - len(target_todo)
    if target_todo:
        pipe = edit_pipeline or load_pipeline(config.images.edit_model, EDIT, config.images, placement.device)
        check_pipeline(pipe, EDIT, config.images)
        with RecordLog(layout.images(placement.shard)) as record_log:
            for batch in _batches(target_todo, config.images.edit_batch_size, "targets"):
                for record in _make_targets(pipe, batch, sources, config, layout):
                    record_log.append(record)
                    summary.statuses[OK] += 1
        del pipe
        _free_memory()
    return summary


def _make_sources(
    pipe: Any, batch: list[ImageItem], config: BuildConfig, layout: BuildLayout
) -> list[dict[str, Any]]:
    seeds = [item_seed(config.run.seed, item.id, "source") for item in batch]
    images = text_to_images(pipe, [item.source_prompt for item in batch], seeds, config.images)
    records = []
    for item, seed, image in zip(batch, seeds, images, strict=True):
        path = layout.source_image(item.id)
        _save_png(image, path)
        records.append(
            {
                "id": item.id,
                "status": OK,
                "source": _relative(path, layout),
                "seed": seed,
                "size": list(image.size),
                "t2i_model": config.images.t2i_model,
            }
        )
    return records


def _make_targets(
    pipe: Any,
    batch: list[ImageItem],
    sources: dict[str, dict[str, Any]],
    config: BuildConfig,
    layout: BuildLayout,
) -> list[dict[str, Any]]:
    seeds = [item_seed(config.run.seed, item.id, "target") for item in batch]
    source_images = [_open_rgb(layout.root / sources[item.id]["source"]) for item in batch]
    edited = edit_images(pipe, source_images, [item.edit_prompt for item in batch], seeds, config.images)
    records = []
    for item, seed, source, target in zip(batch, seeds, source_images, edited, strict=True):
        generated_size = list(target.size)
        if target.size != source.size:
            target = target.resize(source.size, Image.Resampling.LANCZOS)
        path = layout.target_image(item.id)
        _save_png(target, path)
        records.append(
            {
                "id": item.id,
                "status": OK,
                "source": sources[item.id]["source"],
                "target": _relative(path, layout),
                "source_seed": sources[item.id].get("seed"),
                "target_seed": seed,
                "size": list(source.size),
                "target_generated_size": generated_size,
                "t2i_model": sources[item.id].get("t2i_model"),
                "edit_model": config.images.edit_model,
                "edit_prompt_field": config.images.edit_prompt,
            }
        )
    return records


def _has_files(layout: BuildLayout, record: dict[str, Any] | None, keys: Sequence[str]) -> bool:
    """A finished record whose image files are all still there."""
    if record is None or record.get("status") != OK:
        return False
    return all(record.get(key) and (layout.root / record[key]).is_file() for key in keys)


def _batches(items: list[T], size: int, what: str) -> Iterator[list[T]]:
    started = time.monotonic()
    for start in range(0, len(items), size):
        yield items[start : start + size]
        done = min(start + size, len(items))
        log.info("images: %d/%d %s made in %.0fs", done, len(items), what, time.monotonic() - started)


def _save_png(image: Image.Image, path: Path) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def _open_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as error:
        raise UserError(f"cannot read source image {path}: {error}") from None


def _relative(path: Path, layout: BuildLayout) -> str:
    return path.relative_to(layout.root).as_posix()


def _free_memory() -> None:
    """Give back a dropped pipeline's memory before the next one loads."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
