"""Train the procedural world's text-to-video base (done once; its weights are committed).

    python scripts/train_world_backbone.py --run-dir runs/world-backbone --out src/imvideoedit/world/assets/world-base

Resumes from --run-dir after a kill. See docs/proving_ground.md for the recorded run. A reduced
world, to learn first or to find which factor holds a base back:

    python scripts/train_world_backbone.py ... --max-shapes 1 --world-shape-colours red \
        --world-sizes small --world-background-kinds plain --world-background-colours blue \
        --world-pan-probability 0 --edited-fraction 0

In a small VAE's latents (scripts/train_world_vae.py; 4x smaller in space and time), with one
token per latent position:

    python scripts/train_world_backbone.py ... --vae runs/world-vae/vae --model-patch 1
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys

from imvideoedit.world.backbone_training import PRECISIONS, BackboneTrainingConfig, train_backbone
from imvideoedit.world.base_model import WorldModelConfig
from imvideoedit.world.muon_optimizer import OPTIMIZERS
from imvideoedit.world.world_flags import add_world_flags, world_from_args
from imvideoedit.world.world_vae import load_world_vae


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", default="runs/world-backbone")
    parser.add_argument(
        "--out",
        default="runs/world-base",
        help="where the base is written (replacing one there); the packaged base is replaced only "
        "when this names src/imvideoedit/world/assets/world-base",
    )
    parser.add_argument(
        "--device", default="cpu", help="cpu or cuda (the model trains there; data stay on the CPU)"
    )
    parser.add_argument(
        "--data-workers",
        type=int,
        default=0,
        help="processes drawing batches ahead of the steps (needs --per-step-data; a GPU run wants them)",
    )
    for field in dataclasses.fields(BackboneTrainingConfig):
        if field.name in ("model", "world"):
            continue
        flag = f"--{field.name.replace('_', '-')}"
        if isinstance(field.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        elif field.name == "precision":
            parser.add_argument(flag, choices=PRECISIONS, default=field.default)
        elif field.name == "optimizer":
            parser.add_argument(flag, choices=OPTIMIZERS, default=field.default)
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default)
    for field in dataclasses.fields(WorldModelConfig):  # the base's sizes: --model-head-dim 64 ...
        if field.name == "latent_channels":  # set by --vae: its z_dim (pixels: 3)
            continue
        parser.add_argument(f"--model-{field.name.replace('_', '-')}", type=int, default=field.default)
    add_world_flags(parser)  # a reduced world: --world-shape-colours red --world-sizes small ...
    args = parser.parse_args()
    if args.data_workers and not args.per_step_data:
        parser.error("--data-workers needs --per-step-data (one shared stream cannot be drawn ahead)")
    model = WorldModelConfig(
        latent_channels=load_world_vae(args.vae).config.z_dim if args.vae else 3,
        **{
            f.name: getattr(args, f"model_{f.name}")
            for f in dataclasses.fields(WorldModelConfig)
            if f.name != "latent_channels"
        },
    )
    try:
        world = world_from_args(args)
        config = BackboneTrainingConfig(
            model=model,
            world=world,
            **{
                f.name: getattr(args, f.name)
                for f in dataclasses.fields(BackboneTrainingConfig)
                if f.name not in ("model", "world")
            },
        )
    except ValueError as error:
        parser.error(str(error))
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    base = train_backbone(
        config,
        args.run_dir,
        args.out,
        command=command,
        log=lambda m: print(m, flush=True),
        device=args.device,
        data_workers=args.data_workers,
    )
    print(f"wrote {base}")


if __name__ == "__main__":
    from imvideoedit.errors import UserError

    try:
        main()
    except UserError as error:  # bad input (an --init-base of other sizes): one line, not a traceback
        raise SystemExit(f"{sys.argv[0]}: error: {error}") from None
