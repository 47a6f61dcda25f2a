"""`imvideoedit info`: parameter counts and memory for a base + adapter, without loading weights."""

from __future__ import annotations

import argparse

from imvideoedit.adapter_config import MODES, VARIANTS, AdapterConfig
from imvideoedit.param_report import build_meta_transformer, count_parameters, format_report
from imvideoedit.wan_configs import NAMED_CONFIGS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="parameter counts and training memory for a base with the adapter",
        description="Counts backbone and adapter parameters (trainable/frozen) and estimates the memory "
        "for weights, gradients and AdamW state. No weights are loaded: the model is built on the meta device.",
    )
    parser.add_argument(
        "--base",
        required=True,
        help=f"a named config ({', '.join(NAMED_CONFIGS)}) or a local diffusers folder",
    )
    parser.add_argument("--variant", choices=VARIANTS, default="full")
    parser.add_argument("--mode", choices=MODES, default="full")
    parser.add_argument("--lora-rank", type=int, default=AdapterConfig.lora_rank)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = AdapterConfig(variant=args.variant, mode=args.mode, lora_rank=args.lora_rank)
    transformer = build_meta_transformer(args.base)
    counts = count_parameters(transformer, config)
    print(format_report(args.base, config, counts))
    return 0
