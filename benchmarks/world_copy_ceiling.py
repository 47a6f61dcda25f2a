"""How closely a world base, with a trained adapter, can copy and edit single frames.

    python benchmarks/world_copy_ceiling.py --base runs/world-base --out runs/copy-ceiling

Trains the ablation's full adapter (its pairs: 2,000, `KEEP_SHARE` of them keep pairs; its
`AdapterRecipe`: 600 steps) on the base, then takes the first frame of the first `--count`
held-out edits as 1-frame clips and prints, as JSON, the mean PSNR to the truth of

    edit        the frame edited with the edited caption
    copy        the source frame itself (the baseline an edit must beat)
    reproduce   the frame regenerated from its own caption: the identity edit, so the ceiling
                on how much of a source any edit can keep

and the edit's gain over copying per edit kind. Single frames are what the adapter trains on,
so this separates the base's and adapter's fidelity from the temporal prior. The adapter run in
`--out` resumes after a kill (the ordinary trainer's checkpoints).

`--steps` and `--learning-rate` change the adapter's training; `--keep-share` the share of keep
pairs (the source frame its own target, with its own caption): 0 trains on edit pairs alone, 1
on keep pairs alone, which says how well the adapter mechanism can copy a frame when that is
all it is asked to do. `--guidance G` edits at scale G with the source frame's caption as the
negative prompt (as the ablation does at 1.5; the default 1 edits without guidance, the setting
of the recorded rows); `reproduce` is never guided.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections import defaultdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default=None, help="world base folder (default: the packaged one)")
    parser.add_argument("--out", required=True, help="folder for the pairs and the adapter run")
    parser.add_argument("--count", type=int, default=40, help="held-out edits (first frame of each)")
    parser.add_argument("--edit-steps", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="adapter steps (default: the recipe's)")
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the recipe's")
    parser.add_argument(
        "--keep-share", type=float, default=None, help="share of keep pairs (default: KEEP_SHARE)"
    )
    parser.add_argument(
        "--guidance", type=float, default=1.0, help="edit guidance, away from the source caption (1: none)"
    )
    args = parser.parse_args()
    if args.guidance < 0:
        parser.error("--guidance must be >= 0")

    import numpy as np

    import imvideoedit.pixel_space_vae  # noqa: F401 - registers PixelSpaceVAE for diffusers' loader
    from imvideoedit.pipeline import ImVideoEditPipeline
    from imvideoedit.world.base_model import committed_base
    from imvideoedit.world.ground_truth_metrics import psnr
    from imvideoedit.world.pairs import KEEP_SHARE, heldout_edits, write_training_pairs
    from imvideoedit.world.proving_ground import AdapterRecipe, edit_frame, train_world_adapter
    from imvideoedit.world.render import render

    base = args.base or committed_base()
    out = Path(args.out)
    started = time.time()
    keep_share = KEEP_SHARE if args.keep_share is None else args.keep_share
    if not 0.0 <= keep_share <= 1.0:
        parser.error("--keep-share must lie in [0, 1]")
    pairs = write_training_pairs(out / "pairs", 2000, keep_share=keep_share)
    recipe = AdapterRecipe(seed=args.seed)
    if args.steps is not None:
        recipe = dataclasses.replace(recipe, steps=args.steps)
    if args.learning_rate is not None:
        recipe = dataclasses.replace(recipe, learning_rate=args.learning_rate)
    adapter = train_world_adapter(base, pairs, out / "run", recipe, cache_dir=out / "cache")
    trained = time.time()

    pipe = ImVideoEditPipeline.from_pretrained(base, adapter=str(adapter))
    pipe.set_progress_bar_config(disable=True)

    scores: dict[str, list[float]] = defaultdict(list)
    gain: dict[str, list[float]] = defaultdict(list)
    for index, edit in enumerate(heldout_edits(100)[: args.count]):
        source, truth = render(edit.source, [0])[0], render(edit.target, [0])[0]  # (H, W, 3)
        seed = args.seed + index
        output = edit_frame(
            pipe, source, edit.target_caption, args.edit_steps, args.guidance, seed, edit.source_caption
        )
        edited = psnr(output, truth)
        copied = psnr(source, truth)
        scores["edit"].append(edited)
        scores["copy"].append(copied)
        scores["reproduce"].append(
            psnr(edit_frame(pipe, source, edit.source_caption, args.edit_steps, seed=seed), source)
        )
        gain[edit.kind].append(edited - copied)
    print(
        json.dumps(
            {
                "base": str(base),
                "adapter": {
                    "steps": recipe.steps,
                    "learning_rate": recipe.learning_rate,
                    "keep_share": keep_share,
                },
                "guidance": args.guidance,
                **{name: round(float(np.mean(values)), 2) for name, values in scores.items()},
                "edit_minus_copy": {kind: round(float(np.mean(v)), 1) for kind, v in gain.items()},
                "train_minutes": round((trained - started) / 60, 1),
                "edit_minutes": round((time.time() - trained) / 60, 1),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
