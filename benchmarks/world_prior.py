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
one (`kind_breakdown`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default=None, help="world base folder (default: the packaged one)")
    parser.add_argument(
        "--state", default=None, help="a training state.pt instead of a base (its EMA weights)"
    )
    parser.add_argument("--raw", action="store_true", help="with --state: the current weights, not the EMA")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--guidance", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--frames", type=int, default=9, help="1: the base's images alone (no flicker; not the bar)"
    )
    parser.add_argument("--sheet", default=None, help="write a PNG of samples next to renders")
    parser.add_argument(
        "--words", type=int, default=0, help="also measure the response to single words on N scenes"
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also the kind reading per object size and object count, and the kinds read",
    )
    parser.add_argument("--device", default="cpu", help="where the base samples: cpu or cuda")
    args = parser.parse_args()

    import numpy as np

    from imvideoedit.world.backbone_training import base_from_state
    from imvideoedit.world.base_model import committed_base
    from imvideoedit.world.render import render
    from imvideoedit.world.temporal_prior import kind_breakdown, load_base_pipeline, prior_report

    with tempfile.TemporaryDirectory() as scratch:
        base = (
            base_from_state(args.state, Path(scratch) / "base", "modules" if args.raw else "ema")
            if args.state
            else (args.base or committed_base())
        )
        pipe = load_base_pipeline(base).to(args.device)  # noise is drawn on the CPU either way
        started = time.time()
        report, samples, scenes = prior_report(
            pipe,
            count=args.count,
            steps=args.steps,
            guidance=args.guidance,
            seed=args.seed,
            frames=args.frames,
        )
        breakdown = {}
        if args.breakdown:
            truths = [render(scene) for scene in scenes]
            breakdown = {
                "samples": kind_breakdown(samples, scenes),
                "renders": kind_breakdown(truths, scenes),
            }
        words = {}
        if args.words:
            from imvideoedit.world.caption_response import word_response

            for response in word_response(
                pipe, count=args.words, steps=args.steps, guidance=args.guidance, seed=args.seed
            ):
                words[response.attribute] = {
                    "samples": round(response.samples, 4),
                    "renders": round(response.renders, 4),
                    "ratio": round(response.ratio, 3),
                }
    print(
        json.dumps(
            {
                **report.as_dict(),
                "guidance": args.guidance,
                "frames": args.frames,
                "passed": report.passed if args.frames > 1 else None,  # the bar is on videos
                "steps": args.steps,
                **({"word_response": words} if words else {}),
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
    from imvideoedit.errors import UserError

    try:
        main()
    except UserError as error:  # bad input: one line, not a traceback
        raise SystemExit(f"{sys.argv[0]}: error: {error}") from None
