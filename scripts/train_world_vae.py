"""Train the world's small AutoencoderKLWan, for a world base that learns in latent space.

    python scripts/train_world_vae.py --run-dir runs/world-vae --out runs/world-vae/vae
    python scripts/train_world_backbone.py --vae runs/world-vae/vae --model-patch 1 ...

Resumes from --run-dir after a kill. At the end it prints how much of the temporal-prior bar the
reconstructions keep (a base in these latents cannot read better). See docs/proving_ground.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys

from imvideoedit.errors import UserError
from imvideoedit.world.world_vae import (
    VAETrainingConfig,
    WorldVAEConfig,
    load_world_vae,
    reconstruction_report,
    train_world_vae,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", default="runs/world-vae")
    parser.add_argument("--out", default="runs/world-vae/vae")
    parser.add_argument(
        "--device", default="cpu", help="cpu or cuda (the VAE trains there; data stay on the CPU)"
    )
    parser.add_argument(
        "--report-videos", type=int, default=64, help="clips the reconstruction report reads (0: none)"
    )
    for field in dataclasses.fields(VAETrainingConfig):
        if field.name != "vae":
            parser.add_argument(
                f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default
            )
    for field in dataclasses.fields(WorldVAEConfig):
        flag = f"--vae-{field.name.replace('_', '-')}"
        if isinstance(field.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            parser.add_argument(flag, type=int, default=field.default)
    args = parser.parse_args()
    try:
        vae = WorldVAEConfig(
            **{f.name: getattr(args, f"vae_{f.name}") for f in dataclasses.fields(WorldVAEConfig)}
        )
        config = VAETrainingConfig(
            vae=vae,
            **{
                f.name: getattr(args, f.name)
                for f in dataclasses.fields(VAETrainingConfig)
                if f.name != "vae"
            },
        )
    except ValueError as error:
        parser.error(str(error))
    command = "python " + shlex.join(sys.argv)
    try:
        out = train_world_vae(
            config,
            args.run_dir,
            args.out,
            command=command,
            log=lambda m: print(m, flush=True),
            device=args.device,
        )
        if out is not None and args.report_videos:
            report = reconstruction_report(
                load_world_vae(out), count=args.report_videos, frames=config.frames
            )
            print(json.dumps(report, indent=2))
    except UserError as error:
        sys.exit(f"error: {error}")
    print(f"VAE written to {out}")


if __name__ == "__main__":
    main()
