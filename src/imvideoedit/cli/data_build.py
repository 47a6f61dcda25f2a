"""`imvideoedit data build CONFIG --stage ...`: build training pairs (scenes to export)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

STAGE_CHOICES = ("scenes", "prompts", "images", "filter", "review", "export", "all")


def add_build_parser(data_subparsers: argparse._SubParsersAction) -> None:
    """Add `data build` to the `imvideoedit data` group."""
    parser = data_subparsers.add_parser(
        "build",
        help="build image-edit training pairs: scenes, prompts, images, filter, review, export",
        description="Build training pairs the paper's way. Each stage reads the previous stage's JSONL "
        "file in the config's run.output_dir and appends to its own, skipping items already done, so any "
        "stage can be re-run after a crash or a change. 'all' runs every stage but review (a web page "
        "that waits for a person); review decisions take effect at the next export.",
    )
    parser.add_argument(
        "config", type=Path, help="build config (.toml, .yaml or .yml); see configs/data_build/"
    )
    parser.add_argument("--stage", required=True, choices=STAGE_CHOICES, help="the stage to run")
    parser.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="images stage only: make the items of shard I of N (0-based), e.g. one per GPU; "
        "under accelerate launch the process index is used instead",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="ask the model again for items recorded as failed (scenes, prompts, filter)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config key, e.g. --set run.output_dir=out or --set prompts.task_mix.relighting=2",
    )
    parser.set_defaults(handler=run_build_command)


register_data_command = add_build_parser  # the hook `imvideoedit.cli.data` calls


def _shard(text: str):
    from imvideoedit.data_construction.layout import Shard

    try:
        index, count = (int(part) for part in text.split("/"))
        return Shard(index, count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N with 0 <= I < N, e.g. 0/4; got {text!r}") from None


def run_build_command(args: argparse.Namespace) -> int:
    from imvideoedit.data_construction.build import run_build
    from imvideoedit.data_construction.config import load_build_config

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="imvideoedit: %(message)s", stream=sys.stderr)
    config = load_build_config(args.config, args.overrides)
    run_build(config, args.stage, shard=args.shard, retry_failed=args.retry_failed, report=print)
    return 0
