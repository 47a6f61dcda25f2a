"""Where the time of a world-base training step goes, on one device.

    python benchmarks/world_base_step.py --device cuda                  # the batches of scripts/gpu_world_base.sh
    python benchmarks/world_base_step.py --device cuda --train-steps 300 --workers 14
    python benchmarks/world_base_step.py --device cpu --video-batch 8 --image-batch 16 --repeats 3

Each part is timed alone (median of --repeats after one warm-up; GPU work synchronised) for
a video step (--video-batch 9-frame clips) and an image step (--image-batch single frames):

- render: `tokenized_step_batch` on one core, a data worker's share of one step (rendering,
  tokenizing);
- tokenize: the prompts' tokenization alone (the workers' since it cost the training process
  more than the GPU's forward pass);
- text_encoder: the text encoder's forward on the tokens;
- noise_cpu / noise_device: the batch's noise drawn on the CPU and copied over, or drawn on the
  device (what `draw_noise` does off the CPU);
- step_fp32 / step_bf16: `training_step` on a fixed tokenized batch: everything the training
  process does in a step (noise, forward, backward, optimizer, EMA); its first call apart
  (`step_*_first_call_s`: with --compile, the compiling).

`bound_steps_per_s` is what those allow with --workers rendering: the slower of
workers / render and 1 / step, averaged over a video and an image step. --train-steps N also
runs `train_backbone` for N steps with --workers (the recipe of scripts/gpu_world_base.sh) and
reports its rate over each 50 steps (the first includes the start): the real rate. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def timed(fn, repeats: int, sync, first: list | None = None) -> float:
    """Median seconds of `fn()` over `repeats` calls, after one warm-up call (whose seconds are
    appended to `first`: with --compile, the compiling)."""
    start = time.perf_counter()
    fn()
    sync()
    if first is not None:
        first.append(time.perf_counter() - start)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--video-batch", type=int, default=128)
    parser.add_argument("--image-batch", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--workers", type=int, default=14, help="data workers the bound assumes (and --train-steps uses)"
    )
    parser.add_argument("--train-steps", type=int, default=0, help="also run train_backbone this many steps")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the transformer and text encoder (BackboneTrainingConfig.compile)",
    )
    args = parser.parse_args()
    if min(args.video_batch, args.image_batch, args.repeats, args.workers) < 1:
        sys.exit("error: batches, --repeats and --workers must be at least 1")
    if 0 < args.train_steps < 100:
        sys.exit("error: --train-steps needs 100 or more (the rate is logged every 50 steps)")
    precisions = args.precisions.split(",")

    import torch

    from imvideoedit.text_encoding import embed_tokens, tokenize_prompts
    from imvideoedit.world.backbone_training import (
        PRECISIONS,
        BackboneTrainingConfig,
        build_trainer,
        draw_noise,
        to_latents,
        train_backbone,
        training_step,
    )
    from imvideoedit.world.training_batches import tokenized_step_batch

    if any(p not in PRECISIONS for p in precisions):
        sys.exit(f"error: --precisions takes {','.join(PRECISIONS)}")
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    config = BackboneTrainingConfig(
        batch_size=args.video_batch,
        image_batch_size=args.image_batch,
        image_step_every=2,
        per_step_data=True,
        edited_fraction=0.2,
        learning_rate=1e-3,
        text_lr_scale=3,
        warmup_steps=500,
        seed=1,
        max_steps=10_000,
        compile=args.compile,
    )
    steps = {"video": 1000, "image": 1001}  # image_step_every 2: odd steps are image steps
    report: dict = {"device": str(device), "video_batch": args.video_batch, "image_batch": args.image_batch}
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name(device)
    batches = {kind: tokenized_step_batch(config, step) for kind, step in steps.items()}
    report["render_s"] = {  # a data worker's share: render and tokenize
        kind: timed(lambda s=step: tokenized_step_batch(config, s), args.repeats, lambda: None)
        for kind, step in steps.items()
    }

    components, modules, ema, optimizer = build_trainer(config, device)
    tokenizer = components["tokenizer"]
    ema_parameters = list(ema.parameters())
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        report["tokenize_s"] = {
            kind: timed(lambda p=prompts: tokenize_prompts(tokenizer, p), args.repeats, sync)
            for kind, (_, prompts, _, _) in batches.items()
        }
        report["text_encoder_s"] = {
            kind: timed(
                lambda t=tokens: embed_tokens(modules["text_encoder"], *map(torch.from_numpy, t)),
                args.repeats,
                sync,
            )
            for kind, (_, _, _, tokens) in batches.items()
        }
    shape = to_latents(batches["video"].videos, device).shape
    report["noise_cpu_s"] = timed(
        lambda: torch.randn(shape, generator=generator).to(device), args.repeats, sync
    )
    report["noise_device_s"] = timed(lambda: draw_noise(shape, generator, device), args.repeats, sync)
    for precision in precisions:
        step_config = replace(config, precision=precision)
        first: list[float] = []
        report[f"step_{precision}_s"] = {
            kind: timed(
                lambda b=batch, s=steps[kind], c=step_config: training_step(
                    modules,
                    ema_parameters,
                    optimizer,
                    tokenizer,
                    b,
                    generator,
                    c,
                    step=s,
                    device=device,
                ),
                args.repeats,
                sync,
                first,
            )
            for kind, batch in batches.items()
        }
        report[f"step_{precision}_first_call_s"] = dict(zip(batches, first, strict=True))
        per_step = [
            max(report["render_s"][kind] / args.workers, report[f"step_{precision}_s"][kind])
            for kind in steps
        ]
        report[f"bound_steps_per_s_{precision}"] = round(2 / sum(per_step), 1)
    if device.type == "cuda":
        report["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)

    if args.train_steps:
        lines: list[str] = []
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            train_backbone(
                replace(config, max_steps=args.train_steps, image_only_steps=0),
                Path(tmp, "run"),
                Path(tmp, "base"),
                log=lines.append,
                device=str(device),
                data_workers=args.workers,
            )
            report["train_seconds"] = round(time.perf_counter() - start, 1)
        rates = [float(m.group(1)) for line in lines if (m := re.search(r"([0-9.]+) steps/s", line))]
        report["train_steps_per_s"] = rates
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
