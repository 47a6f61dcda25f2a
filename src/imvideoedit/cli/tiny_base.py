"""`imvideoedit tiny-base DIR`: write a tiny random-weight Wan base (diffusers layout), offline."""

from __future__ import annotations

import argparse

from imvideoedit.tiny_base import write_tiny_base


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tiny-base",
        help="write a tiny random-weight Wan base for tests and first steps",
        description="Writes transformer, VAE, UMT5 text encoder, tokenizer and scheduler in the layout of "
        "Wan-AI/Wan2.1-T2V-1.3B-Diffusers, with random weights. Needs no download.",
    )
    parser.add_argument("directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = write_tiny_base(args.directory, seed=args.seed, overwrite=args.overwrite)
    print(f"wrote tiny Wan base to {path}")
    return 0
