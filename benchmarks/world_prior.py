"""Measure the world base's temporal prior from its own text-to-video samples.

    python benchmarks/world_prior.py                          # the packaged base
    python benchmarks/world_prior.py --base runs/world-base --count 64 --guidance 1 --sheet prior.png
    python benchmarks/world_prior.py --state runs/world-backbone/state.pt   # a run in progress (EMA)
    python benchmarks/world_prior.py --frames 1 --words 8     # its images alone, and word by word
    python benchmarks/world_prior.py --frames 1 --count 120 --breakdown   # which objects lack their kind

Prints the report (objects present / of their captioned kind in every frame, for the samples
and for the renders of the same scenes; flicker and its ratio to the renders'; pass or fail
against `PRIOR_BAR`) as JSON; --sheet writes sample | render rows for a look. --words N adds
how much the base's images respond to the object's kind, size and colour words, on N scenes
(`world/caption_response.py`: the share of pixels that change when one word changes, over the
renders' share; near 0 means the word is ignored). --breakdown adds, for samples and renders,
the kind reading per object size and per object count, and which kind is read for each captioned
one (`kind_breakdown`). --kind-decision 0.3,0.5,0.7,0.9 samples from the same scenes' renders
noised to where the last share of the steps begins, with every kind word changed, and reports
the share drawn as the render's kind and as the caption's (`world/kind_decision.py`).

A base trained in a reduced world (`--world-*` of train_world_backbone.py, recorded in its
metadata) is read in that world, with `passed` left out (the bar is set on the whole world);
--full-world reads it in the whole world, and --world-* / --max-shapes (spelled as
train_world_backbone.py spells them) in another.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from imvideoedit.cli.arg_types import count, positive_int
from imvideoedit.errors import UserError
from imvideoedit.world.scene import FULL_WORLD, MAX_SHAPES
from imvideoedit.world.world_flags import add_world_flags, given_world_fields, world_from_args


def _strengths(text: str) -> tuple[float, ...]:
    """--kind-decision's comma-separated strengths, each in (0, 1]."""
    try:
        values = tuple(float(value) for value in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None
    if not values or not all(0.0 < value <= 1.0 for value in values):
        raise argparse.ArgumentTypeError(f"strengths must be in (0, 1], got {text!r}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default=None, help="world base folder (default: the packaged one)")
    parser.add_argument(
        "--state", default=None, help="a training state.pt instead of a base (its EMA weights)"
    )
    parser.add_argument("--raw", action="store_true", help="with --state: the current weights, not the EMA")
    parser.add_argument("--count", type=positive_int, default=64)
    parser.add_argument("--steps", type=positive_int, default=30)
    parser.add_argument("--guidance", type=float, default=1.0)
    parser.add_argument("--seed", type=count, default=0)
    parser.add_argument(
        "--frames", type=positive_int, default=9, help="1: the base's images alone (no flicker; not the bar)"
    )
    parser.add_argument("--sheet", default=None, help="write a PNG of samples next to renders")
    parser.add_argument(
        "--words", type=count, default=0, help="also measure the response to single words on N scenes"
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also the kind reading per object size and object count, and the kinds read",
    )
    parser.add_argument("--device", default="cpu", help="where the base samples: cpu or cuda")
    parser.add_argument(
        "--kind-decision",
        type=_strengths,
        default=(),
        help="comma-separated strengths in (0, 1] (e.g. 0.3,0.5,0.7,0.9; the share of --steps run, "
        "rounded down): sample unguided from the noised renders with other kind words, and report "
        "which kind comes back",
    )
    parser.add_argument(
        "--full-world",
        action="store_true",
        help="read a base trained in a reduced world in the whole world (default: in its own)",
    )
    parser.add_argument(
        "--max-shapes", type=int, default=None, help="objects per scene (default: the base's)"
    )
    add_world_flags(parser, default_help="the base's")
    args = parser.parse_args()
    if args.full_world and (args.max_shapes is not None or given_world_fields(args)):
        parser.error("--full-world reads in the whole world: give it no --world-* or --max-shapes")
    if args.raw and not args.state:
        parser.error("--raw reads a training state's current weights: it needs --state")
    if not 1.0 <= args.guidance < float("inf"):
        parser.error(f"--guidance must be a finite number >= 1 (1: none), got {args.guidance}")
    if args.sheet and not Path(args.sheet).resolve().parent.is_dir():
        parser.error(f"--sheet {args.sheet}: its folder does not exist")

    import numpy as np

    from imvideoedit.world.backbone_training import base_from_state, base_world
    from imvideoedit.world.base_model import committed_base
    from imvideoedit.world.render import render
    from imvideoedit.world.temporal_prior import kind_breakdown, load_base_pipeline, prior_report

    with tempfile.TemporaryDirectory() as scratch:
        base = (
            base_from_state(args.state, Path(scratch) / "base", "modules" if args.raw else "ema")
            if args.state
            else (args.base or committed_base())
        )
        world, max_shapes = (FULL_WORLD, MAX_SHAPES) if args.full_world else base_world(base)
        try:  # flags given override the base's own world, one field at a time
            world = world_from_args(args, world)
            max_shapes = max_shapes if args.max_shapes is None else args.max_shapes
            world.check_max_shapes(max_shapes)
            if args.kind_decision and len(world.shape_kinds) < 2:
                raise ValueError("--kind-decision needs a world of two shape kinds or more")
        except ValueError as error:
            raise UserError(str(error)) from error
        pipe = load_base_pipeline(base).to(args.device)  # noise is drawn on the CPU either way
        started = time.time()
        report, samples, scenes = prior_report(
            pipe,
            count=args.count,
            steps=args.steps,
            guidance=args.guidance,
            seed=args.seed,
            frames=args.frames,
            max_shapes=max_shapes,
            world=world,
        )
        breakdown = {}
        if args.breakdown:
            truths = [render(scene) for scene in scenes]
            breakdown = {
                "samples": kind_breakdown(samples, scenes),
                "renders": kind_breakdown(truths, scenes),
            }
        decisions = []
        if args.kind_decision:
            from imvideoedit.world.kind_decision import kind_decision

            decisions = [
                {key: round(value, 3) for key, value in asdict(decision).items()}
                for decision in kind_decision(
                    pipe,
                    scenes,
                    args.kind_decision,
                    steps=args.steps,
                    seed=args.seed,
                    kinds=world.shape_kinds,
                )
            ]
        words = {}
        if args.words:
            from imvideoedit.world.caption_response import word_response

            for response in word_response(
                pipe, count=args.words, steps=args.steps, guidance=args.guidance, seed=args.seed, world=world
            ):
                words[response.attribute] = {
                    "samples": round(response.samples, 4),
                    "renders": round(response.renders, 4),
                    "ratio": round(response.ratio, 3),
                }
    whole_world = world.is_full and max_shapes == MAX_SHAPES
    print(
        json.dumps(
            {
                **report.as_dict(),
                "guidance": args.guidance,
                "frames": args.frames,
                # the bar is on videos of the whole world
                "passed": report.passed if args.frames > 1 and whole_world else None,
                "world": {**asdict(world), "max_shapes": max_shapes},
                "whole_world": whole_world,
                "steps": args.steps,
                **({"word_response": words} if words else {}),
                **({"kind_decision": decisions} if decisions else {}),
                **({"breakdown": breakdown} if args.breakdown else {}),
                "seconds": round(time.time() - started, 1),
            },
            indent=1,
        )
    )
    if args.sheet:
        from PIL import Image

        rows = [
            np.concatenate([np.concatenate(list(s), 1), np.concatenate(list(render(sc)), 1)], 1)
            for s, sc in zip(samples[:12], scenes[:12], strict=True)
        ]
        sheet = np.concatenate(rows, 0)
        Image.fromarray(sheet.repeat(2, 0).repeat(2, 1)).save(args.sheet)


if __name__ == "__main__":
    try:
        main()
    except UserError as error:  # bad input: one line, not a traceback
        raise SystemExit(f"{sys.argv[0]}: error: {error}") from None
