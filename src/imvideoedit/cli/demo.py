"""`imvideoedit demo [--out DIR]`: train a small adapter on world image pairs and edit world videos."""

from __future__ import annotations

import argparse
import time

from imvideoedit.world.demo import DemoSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    defaults = DemoSettings()
    parser = subparsers.add_parser(
        "demo",
        help="train a small adapter on image pairs and edit videos, on CPU, against exact ground truth",
        description="With the packaged world base: write single-frame pairs of the procedural world, train an "
        "adapter on them, edit held-out world videos, and write source | edit | ground-truth videos, a contact "
        "sheet and a metrics table. A few minutes on 2 CPU cores.",
    )
    parser.add_argument("--out", default="imvideoedit-demo", help="output folder (default: %(default)s)")
    parser.add_argument("--video", default=None, help="also edit this real clip (any video file)")
    parser.add_argument(
        "--prompt", default=defaults.real_prompt, help="prompt for --video (default: %(default)r)"
    )
    parser.add_argument("--base", default=None, help="world base folder (default: the packaged one)")
    parser.add_argument("--pairs", type=int, default=defaults.pairs)
    parser.add_argument(
        "--keep-share",
        type=float,
        default=defaults.keep_share,
        help="share of keep pairs (default: %(default)s)",
    )
    parser.add_argument("--steps", type=int, default=defaults.steps, help="adapter training steps")
    parser.add_argument("--videos", type=int, default=defaults.videos, help="held-out world videos to edit")
    parser.add_argument("--edit-steps", type=int, default=defaults.edit_steps)
    parser.add_argument(
        "--guidance",
        type=float,
        default=defaults.guidance,
        help="guidance scale of the world edits, away from the source caption (1: none; default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from imvideoedit.errors import UserError
    from imvideoedit.world.base_model import committed_base
    from imvideoedit.world.demo import run_demo

    for name in ("pairs", "steps", "videos", "edit_steps"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    if not 0.0 <= args.keep_share <= 1.0:
        raise UserError("--keep-share must lie between 0 and 1")
    if not 1.0 <= args.guidance < float("inf"):  # checked before training, as the pipeline will
        raise UserError(f"--guidance must be a finite number >= 1 (1: no guidance), got {args.guidance}")
    settings = DemoSettings(
        pairs=args.pairs,
        keep_share=args.keep_share,
        steps=args.steps,
        videos=args.videos,
        edit_steps=args.edit_steps,
        guidance=args.guidance,
        seed=args.seed,
        real_prompt=args.prompt,
    )
    started = time.time()
    result = run_demo(args.out, args.base or committed_base(), settings, video=args.video, log=print)
    print()
    print(result.table)
    print(f"adapter:        {result.adapter}")
    print(f"videos:         {result.videos[0].parent}/ (source | edit | ground truth)")
    print(f"contact sheet:  {result.contact_sheet}")
    print(f"metrics:        {result.metrics_markdown}, {result.metrics_json}")
    if result.real_video is not None:
        print(f"real clip:      {result.real_video} (source | edit)")
    print(f"done in {(time.time() - started) / 60:.1f} min")
    return 0
