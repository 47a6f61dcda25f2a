"""Running the build: one stage, or every automatic stage in order.

    scenes -> prompts -> images -> filter -> [review] -> export

Each stage reads the stage files before it and appends to its own, skipping items already
done, so any stage can be re-run at any time (after a crash, after editing a list, after
raising the scene count) and does only the missing work. `all` runs every stage except the
review page, which waits for a person; decisions made there are applied by the next export.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from imvideoedit.atomic_write import atomic_write_text
from imvideoedit.data_construction.config import BuildConfig
from imvideoedit.data_construction.item_runner import StageSummary
from imvideoedit.data_construction.layout import Shard
from imvideoedit.errors import UserError, refuse_file_as_folder

STAGES = ("scenes", "prompts", "images", "filter", "review", "export")
AUTOMATIC_STAGES = ("scenes", "prompts", "images", "filter", "export")


def run_build(
    config: BuildConfig,
    stage: str,
    shard: Shard | None = None,
    retry_failed: bool = False,
    report: Callable[[str], None] = print,
) -> list[StageSummary]:
    """Run `stage` (one of STAGES, or "all"); `report` receives each stage's summary as it ends."""
    if stage not in (*STAGES, "all"):
        raise UserError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)} or all")
    several_processes = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if stage != "images" and (shard is not None or several_processes):
        raise UserError(
            "only the images stage runs sharded (--shard i/n or accelerate launch); run the other stages in one process"
        )
    refuse_file_as_folder(config.output_dir, "run.output_dir", "build folder")
    config.output_dir.mkdir(parents=True, exist_ok=True)
    if stage == "review":
        _serve_review(config, report)
        return []
    if not several_processes and shard is None:
        atomic_write_text(
            config.output_dir / "build_config.json", json.dumps(config.to_dict(), indent=2) + "\n"
        )
    summaries = []
    for name in AUTOMATIC_STAGES if stage == "all" else (stage,):
        summary = _run_one(config, name, shard, retry_failed)
        report(summary.format())
        summaries.append(summary)
    return summaries


def _run_one(config: BuildConfig, stage: str, shard: Shard | None, retry_failed: bool) -> StageSummary:
    # Stage modules are imported when used: the images stage pulls in torch and diffusers.
    if stage == "scenes":
        from imvideoedit.data_construction.scenes import run_scenes

        return run_scenes(config, retry_failed=retry_failed)
    if stage == "prompts":
        from imvideoedit.data_construction.prompts import run_prompts

        return run_prompts(config, retry_failed=retry_failed)
    if stage == "images":
        from imvideoedit.data_construction.images import run_images

        return run_images(config, shard=shard)
    if stage == "filter":
        from imvideoedit.data_construction.pair_filter import run_filter

        return run_filter(config, retry_failed=retry_failed)
    from imvideoedit.data_construction.export import run_export

    return run_export(config)


def _serve_review(config: BuildConfig, report: Callable[[str], None]) -> None:
    from imvideoedit.data_construction.review import ReviewServer, review_items

    server = ReviewServer(config)
    items = review_items(config)
    undecided = sum(item["decision"] is None for item in items)
    report(f"review page: {server.url}  ({len(items)} pair(s), {undecided} undecided; Ctrl-C to stop)")
    report("keys: a accept, r reject, u undo, left/right previous/next, f undecided only")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        report(f"review page stopped; decisions are in {server.layout.review}")
