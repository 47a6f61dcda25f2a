"""Edit strength against guidance: one trained world adapter, several guidance scales.

    python benchmarks/world_guidance.py --adapter runs/ablation/full-s1/run/adapter.safetensors \
        --set validation --heldout 50 --scales 1,1.5,2          # how the default scale was chosen
    python benchmarks/world_guidance.py --adapter runs/ablation/full-s0/run/adapter.safetensors \
        --scales 1,1.5,2,3                                      # the held-out set, for the record

Edits the fixed held-out world videos (or the validation set, drawn with another seed so that a
setting can be chosen without looking at the held-out one) with `ImVideoEditPipeline` at each
guidance scale, and prints the PSNR to the ground truth per edit kind next to copying the
source. With `--negative source` (the default) the unconditional pass reads the source clip's
own caption, which keep pairs teach the adapter to copy, so guidance pushes the sample away from
a copy along the edit; `--negative empty` uses the empty prompt instead. The recorded runs are
in docs/proving_ground.md.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    from imvideoedit.world.proving_ground import NEGATIVES

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--adapter", required=True, help="a trained world adapter (adapter.safetensors)")
    parser.add_argument("--base", default=None, help="world base folder (default: the packaged one)")
    parser.add_argument("--scales", default="1,1.5,2,3", help="comma-separated guidance scales")
    parser.add_argument("--negative", choices=NEGATIVES, default="source")
    parser.add_argument("--set", choices=("heldout", "validation"), default="heldout")
    parser.add_argument("--heldout", type=int, default=100, help="edits in the set")
    parser.add_argument("--edit-steps", type=int, default=12, help="Euler steps (the ablation's)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (the ablation uses the adapter's)")
    args = parser.parse_args()
    try:
        scales = [float(s) for s in args.scales.split(",")]
    except ValueError:
        parser.error(f"--scales must be numbers separated by commas, got {args.scales!r}")
    if any(s < 0 for s in scales):
        parser.error("--scales must be >= 0")

    from imvideoedit.pipeline import ImVideoEditPipeline
    from imvideoedit.world.base_model import committed_base
    from imvideoedit.world.edits import EDIT_KINDS
    from imvideoedit.world.pairs import HELDOUT_SEED, VALIDATION_SEED, heldout_edits
    from imvideoedit.world.proving_ground import edit_clips, score
    from imvideoedit.world.render import render

    seed = HELDOUT_SEED if args.set == "heldout" else VALIDATION_SEED
    edits = heldout_edits(args.heldout, seed=seed)
    pipe = ImVideoEditPipeline.from_pretrained(str(args.base or committed_base()), adapter=args.adapter)
    pipe.set_progress_bar_config(disable=True)
    kinds = ["all", *(k for k in EDIT_KINDS if any(e.kind == k for e in edits))]
    rows = {"copy": score(edits, [render(e.source) for e in edits])}
    minutes = {}
    for scale in scales:
        name, started = f"guidance {scale:g}", time.time()
        clips = edit_clips(
            pipe, edits, steps=args.edit_steps, guidance=scale, seed=args.seed, negative=args.negative
        )
        rows[name] = score(edits, clips)
        minutes[name] = round((time.time() - started) / 60, 2)
        print(f"{name}: {minutes[name]} min", flush=True)
    print(
        f"\nPSNR (dB) to the ground truth, {args.set} set ({len(edits)} edits), negative: {args.negative}\n"
    )
    print("| method | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    for name, table in rows.items():
        print(f"| {name} | " + " | ".join(f"{table[k]['psnr']:.2f}" for k in kinds) + " |")
    print(
        json.dumps(
            {"minutes": minutes, "psnr": {n: {k: t[k]["psnr"] for k in kinds} for n, t in rows.items()}}
        )
    )


if __name__ == "__main__":
    main()
