"""`imvideoedit data ...`: work on pair datasets. `check` validates (and with --fix, cleans).

`data` is a group: each action is a sub-subcommand. `check` is defined here; another module under
`imvideoedit.cli` adds its own action by exposing `register_data_command(data_subparsers)` and
being named in `DATA_COMMAND_MODULES` below, without touching anything else in this file.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from imvideoedit.cli.arg_types import count

# Modules under imvideoedit.cli that add actions to `imvideoedit data` (after `check`).
DATA_COMMAND_MODULES: list[str] = ["data_build", "data_keep_pairs"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="check and prepare image-pair datasets",
        description="Work on image-pair datasets (a folder with metadata.jsonl or metadata.csv).",
    )
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")
    actions.required = True
    register_data_command(actions)
    for name in DATA_COMMAND_MODULES:
        importlib.import_module(f"imvideoedit.cli.{name}").register_data_command(actions)


def register_data_command(actions: argparse._SubParsersAction) -> None:
    """Add `data check`."""
    check = actions.add_parser(
        "check",
        help="validate every pair and print a summary table",
        description="Decode every image and check every row: missing files, unreadable or truncated "
        "images, source/target size mismatch, empty or over-long prompts, duplicate ids, unknown task "
        "names. Grayscale, alpha, 16-bit, CMYK and EXIF-rotated images are normalised, not rejected. "
        "Exit code 0 when every row is good (or --fix wrote a cleaned file), 1 when bad rows were found.",
    )
    check.add_argument("dataset", type=Path, help="dataset folder (or its metadata file)")
    check.add_argument(
        "--fix",
        action="store_true",
        help="write the good rows (task names canonicalised) to metadata.clean.jsonl/.csv beside the original",
    )
    check.add_argument(
        "--base",
        help="a Wan base (folder or hub id) whose tokenizer counts prompt tokens exactly; "
        "without it the count is a conservative estimate",
    )
    check.add_argument("--max-tokens", type=int, default=None, help="prompt token limit (default: 512)")
    check.add_argument("--show", type=count, default=50, help="list at most this many problems (default: 50)")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    from imvideoedit.data.check import check_dataset

    result = check_dataset(args.dataset, base=args.base, fix=args.fix, max_tokens=args.max_tokens)
    report = result.report
    print(report.format_summary())
    if report.problems:
        print(f"\nbad rows ({len(report.bad_lines)}):")
        print(report.format_problems(limit=args.show))
    if report.warnings:
        print(f"\nwarnings ({len(report.warnings)}):")
        for warning in report.warnings[: args.show]:
            print(f"  {warning}")
        if len(report.warnings) > args.show:
            print(f"  ... and {len(report.warnings) - args.show} more")
    if result.cleaned_path is not None:
        print(f"\nwrote {len(report.good)} good row(s) to {result.cleaned_path}")
        return 0
    return 0 if report.ok else 1
