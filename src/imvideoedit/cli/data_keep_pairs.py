"""`imvideoedit data keep-pairs DATASET`: add keep pairs (source as its own target) to a dataset."""

from __future__ import annotations

import argparse
from pathlib import Path


def register_data_command(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "keep-pairs",
        help="write the dataset's rows plus keep pairs (source image as its own target, source caption)",
        description="Write a new metadata file beside the original (metadata.keep.jsonl): every row, then "
        "keep pairs, rows whose target is the source image itself and whose prompt is the row's "
        "source_prompt, so that they make up --share of the file. They teach the adapter to copy what an "
        "edit leaves alone (docs/dataset.md). The original file is not changed.",
    )
    parser.add_argument("dataset", type=Path, help="dataset folder (or its metadata file)")
    parser.add_argument(
        "--share", type=float, default=0.5, help="share of keep pairs in the result (default: 0.5)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="metadata file to write (default: <name>.keep.<ext>)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from imvideoedit.data.keep_pairs import add_keep_pairs

    result = add_keep_pairs(args.dataset, share=args.share, out=args.out)
    print(
        f"wrote {result.path}: {result.rows} rows, {result.keep_rows} of them keep pairs "
        f"({result.added} added; share {result.share:.2f})"
    )
    if result.unreadable:
        print(
            f"warning: left out {result.unreadable} row(s) that could not be read (`imvideoedit data check` lists them)"
        )
    if result.share + 0.005 < args.share:
        print(
            f"warning: only {result.share:.2f} of the rows are keep pairs, not {args.share:.2f}: "
            f"{result.uncaptioned} source image(s) have no source_prompt to caption a keep pair"
        )
    return 0
