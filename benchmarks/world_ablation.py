"""The paper's ablation in the procedural world: every variant x several seeds, exact ground truth.

Trains one adapter per (variant, seed) on single-frame world pairs with the ordinary trainer,
edits the fixed held-out world videos with `ImVideoEditPipeline`, and scores them against the
ground truth, next to the copy-the-source and per-frame baselines. Resumable; share the work
between processes with --shard, then print the tables with --report:

    OMP_NUM_THREADS=1 python benchmarks/world_ablation.py --out runs/ablation --shard 0/2 &
    OMP_NUM_THREADS=1 python benchmarks/world_ablation.py --out runs/ablation --shard 1/2 &
    wait; python benchmarks/world_ablation.py --out runs/ablation --report docs/world_ablation.md

The recorded run and its tables are in docs/proving_ground.md.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from pathlib import Path


def main() -> None:
    from imvideoedit.world.ablation import AblationPlan
    from imvideoedit.world.proving_ground import NEGATIVES, AdapterRecipe

    plan_defaults, recipe_defaults = AblationPlan(base=""), AdapterRecipe()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="runs/ablation")
    parser.add_argument("--base", default=None, help="world base folder (default: the packaged one)")
    parser.add_argument("--variants", default=",".join(plan_defaults.variants))
    parser.add_argument("--seeds", default=",".join(str(s) for s in plan_defaults.seeds))
    parser.add_argument("--pairs", type=int, default=plan_defaults.pairs)
    parser.add_argument(
        "--keep-share",
        type=float,
        default=plan_defaults.keep_share,
        help="share of keep pairs (0: edit pairs alone)",
    )
    parser.add_argument("--heldout", type=int, default=plan_defaults.heldout)
    parser.add_argument("--steps", type=int, default=recipe_defaults.steps, help="adapter training steps")
    parser.add_argument(
        "--learning-rate", type=float, default=recipe_defaults.learning_rate, help="adapter learning rate"
    )
    parser.add_argument("--edit-steps", type=int, default=plan_defaults.edit_steps)
    parser.add_argument(
        "--guidance", type=float, default=plan_defaults.guidance, help="guidance scale of the edits (1: none)"
    )
    parser.add_argument(
        "--negative",
        choices=NEGATIVES,
        default=plan_defaults.negative,
        help="negative prompt when guiding: the source clip's caption, or the empty prompt",
    )
    parser.add_argument("--shard", default="0/1", help="i/n: run every n-th job starting at i")
    parser.add_argument(
        "--report", default=None, metavar="FILE", help="only collect the results, print and write them"
    )
    args = parser.parse_args()
    if not 0.0 <= args.keep_share <= 1.0:
        parser.error("--keep-share must lie in [0, 1]")
    if args.guidance < 0:
        parser.error("--guidance must be >= 0")

    import torch

    from imvideoedit.world.ablation import collect, format_tables, run_ablation
    from imvideoedit.world.base_model import committed_base

    if args.report:
        tables = format_tables(collect(args.out))
        header = (
            f"Run directory `{args.out}`; {platform.processor() or platform.machine()}, "
            f"torch {torch.__version__}, {torch.get_num_threads()} thread(s) per process.\n\n"
        )
        Path(args.report).write_text(header + tables)
        print(tables)
        return
    plan = AblationPlan(
        base=str(args.base or committed_base()),
        variants=tuple(args.variants.split(",")),
        seeds=tuple(int(s) for s in args.seeds.split(",")),
        pairs=args.pairs,
        keep_share=args.keep_share,
        heldout=args.heldout,
        recipe=AdapterRecipe(steps=args.steps, learning_rate=args.learning_rate),
        edit_steps=args.edit_steps,
        guidance=args.guidance,
        negative=args.negative,
    )
    index, count = (int(x) for x in args.shard.split("/"))
    print("command:", "python " + " ".join(shlex.quote(a) for a in sys.argv), flush=True)
    run_ablation(plan, args.out, shard=(index, count), log=lambda m: print(m, flush=True))


if __name__ == "__main__":
    from imvideoedit.errors import UserError

    try:
        main()
    except UserError as error:  # bad input: one line, not a traceback
        raise SystemExit(f"{sys.argv[0]}: error: {error}") from None
