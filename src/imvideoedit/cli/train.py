"""`imvideoedit train CONFIG`: learn the adapter from image pairs.

Single process: `imvideoedit train configs/tiny_cpu.toml --base BASE --data DIR`.
Several GPUs or nodes: the same arguments under `accelerate launch` (see docs/training.md), e.g.
`accelerate launch --config_file configs/accelerate/deepspeed_zero2.yaml -m imvideoedit train ...`.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the adapter on an image-pair dataset",
        description="Train the ImVideoEdit adapter on a frozen Wan base from image pairs. CONFIG is a TOML "
        "or YAML file (see configs/); the flags below override it, and --set overrides any key.",
    )
    parser.add_argument("config", help="training config file (.toml, .yaml or .yml)")
    parser.add_argument("--base", help="Wan base: diffusers folder or hub id (sets model.base)")
    parser.add_argument("--data", help="dataset folder or metadata file (sets data.path)")
    parser.add_argument(
        "--output", help="run folder for checkpoints, logs and the adapter (sets train.output_dir)"
    )
    parser.add_argument(
        "--max-steps", type=int, help="stop after this many optimizer steps (sets train.max_steps)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the newest complete checkpoint in the run folder"
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="train on the good rows when some are bad (sets data.skip_bad)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key, e.g. --set optim.learning_rate=5e-5 (repeatable)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from imvideoedit.training.config import load_training_config
    from imvideoedit.training.trainer import train

    overrides = list(args.overrides)
    for key, value in (
        ("model.base", args.base),
        ("data.path", args.data),
        ("train.output_dir", args.output),
        ("train.max_steps", args.max_steps),
    ):
        if value is not None:
            overrides.append(f"{key}={value}")
    if args.skip_bad:
        overrides.append("data.skip_bad=true")
    config = load_training_config(args.config, overrides)
    result = train(config, resume=args.resume)
    if result.is_main_process:
        print(f"trained {result.steps} step(s); adapter: {result.adapter_path}")
    return 0
