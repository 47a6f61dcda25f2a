"""How close to the ground truth a perfect editor can get, where an edit leaves choices open.

    python benchmarks/world_free_choices.py            # the ablation's 100 held-out videos

Some world edits make choices that neither the source video nor the edited caption states: an
added object's start and velocity, a new patterned background's offset, the hatch phase. A
perfect editor draws those from the world's own distribution, so it matches the one stored
ground truth only by chance. This script renders, for every held-out edit with such a choice,
`--redraws` such perfect edits (`world.edits.redraw_free_choices`) and prints, per edit kind,
the mean PSNR to the ground truth of copying the source and of the perfect edits. Where the
perfect edit scores below copying, no faithful editor can beat copying on that kind's PSNR; the
other kinds have no free choice (a perfect editor reproduces their truth exactly).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--heldout", type=int, default=100, help="held-out edits (as the ablation's)")
    parser.add_argument("--redraws", type=int, default=8, help="perfect edits per video")
    args = parser.parse_args()

    from imvideoedit.world.edits import redraw_free_choices
    from imvideoedit.world.ground_truth_metrics import psnr
    from imvideoedit.world.pairs import heldout_edits
    from imvideoedit.world.render import render

    copy: dict[str, list[float]] = defaultdict(list)
    perfect: dict[str, list[float]] = defaultdict(list)
    for index, edit in enumerate(heldout_edits(args.heldout)):
        rng = np.random.default_rng(index)
        truth = render(edit.target)  # (T, H, W, 3)
        redraws = [redraw_free_choices(edit, rng) for _ in range(args.redraws)]
        if all(scene == edit.target for scene in redraws):
            continue  # nothing left open: a perfect edit is the truth itself
        variant = {"style": edit.target.style, "background": edit.target.background.kind}.get(edit.kind)
        label = edit.kind if variant is None else f"{edit.kind} ({variant})"
        copy[label].append(psnr(render(edit.source), truth))
        # exact matches (a redraw that happens to equal the truth) would be infinite: leave them out
        scores = [psnr(render(scene), truth) for scene in redraws if scene != edit.target]
        perfect[label].append(float(np.mean(scores)))
    print(
        json.dumps(
            {
                label: {
                    "videos": len(copy[label]),
                    "copy_psnr": round(float(np.mean(copy[label])), 2),
                    "perfect_edit_psnr": round(float(np.mean(perfect[label])), 2),
                }
                for label in sorted(copy)
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
