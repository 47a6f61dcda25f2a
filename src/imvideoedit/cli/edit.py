"""`imvideoedit edit`: edit one video, or a batch of jobs, with a base and an adapter.

imvideoedit edit --base B --adapter A INPUT "PROMPT" -o OUT.mp4 [options]
imvideoedit edit --base B --adapter A --jobs jobs.jsonl --out-dir D [--shard i/n] [options]
"""

from __future__ import annotations

import argparse
import sys

from imvideoedit.errors import UserError
from imvideoedit.video.clip import ClipSpec
from imvideoedit.video.geometry import DEFAULT_MAX_PIXELS
from imvideoedit.video.render import OutputSpec


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edit",
        help="edit a video (or a batch of videos) from a text prompt",
        description="Edits INPUT so that it matches PROMPT, a description of the whole edited scene, and writes "
        "an H.264 MP4 plus a sidecar JSON (OUT with suffix .json). With --jobs, runs a JSONL of jobs "
        "(keys: input, prompt, and optionally id, output, negative_prompt, seed, steps, guidance, strength, "
        "num_frames, height, width, fps); done jobs are skipped, failures recorded in results JSONL.",
    )
    parser.add_argument("input", nargs="?", help="source video (any container/codec FFmpeg reads)")
    parser.add_argument("prompt", nargs="?", help="the edited scene, described in full")
    parser.add_argument("-o", "--output", help="output .mp4 (single edit)")
    parser.add_argument("--jobs", help="jobs JSONL (batch mode)")
    parser.add_argument("--out-dir", help="output folder (batch mode)")
    parser.add_argument("--shard", default="0/1", help="run shard i of n of the jobs (batch mode), e.g. 1/4")

    models = parser.add_argument_group("models")
    models.add_argument("--base", required=True, help="Wan base: local diffusers folder or hub id")
    models.add_argument("--adapter", required=True, help="adapter .safetensors file")
    models.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: the GPU if there is one)")
    models.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    models.add_argument(
        "--cpu-offload", action="store_true", help="keep models on CPU until used (less GPU memory)"
    )
    models.add_argument("--vae-tiling", action="store_true", help="encode/decode in tiles (less memory)")
    models.add_argument(
        "--skip-base-weight-check",
        action="store_true",
        help="load an adapter whose base weight probe differs",
    )

    sampling = parser.add_argument_group("sampling")
    sampling.add_argument("--negative-prompt", default=None)
    sampling.add_argument("--steps", type=int, default=50)
    sampling.add_argument("--guidance", type=float, default=5.0)
    sampling.add_argument("--strength", type=float, default=1.0, help="below 1: start from the noised source")
    sampling.add_argument("--seed", type=int, default=0)

    clip = parser.add_argument_group("model input")
    clip.add_argument(
        "--height", type=int, help="model frame height (multiple of 16; default: from the source)"
    )
    clip.add_argument(
        "--width", type=int, help="model frame width (multiple of 16; default: from the source)"
    )
    clip.add_argument("--num-frames", type=int, help="model frames, 4k+1 (default: as many as fit)")
    clip.add_argument("--max-frames", type=int, default=ClipSpec.max_frames)
    clip.add_argument(
        "--model-fps", default="16", help="frame rate the model sees, or 'source' (no resampling)"
    )
    clip.add_argument(
        "--frame-fit",
        choices=["trim", "pad"],
        default="trim",
        help="fit to 4k+1 frames by trimming or padding",
    )
    clip.add_argument(
        "--fit", choices=["crop", "pad"], default="crop", help="fill the grid by cropping or letterboxing"
    )
    clip.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="frame-area budget")
    clip.add_argument(
        "--downscale", action="store_true", help="shrink sources beyond the budget instead of refusing"
    )

    output = parser.add_argument_group("output")
    output.add_argument("--fps", default="source", help="output frame rate: source, model, or a number")
    output.add_argument(
        "--output-size",
        choices=["model", "source"],
        default="model",
        help="model resolution, or back at the source's",
    )
    output.add_argument("--side-by-side", action="store_true", help="write source | edit")
    output.add_argument("--colour-match", "--color-match", dest="colour_match", action="store_true")
    output.add_argument("--no-audio", action="store_true", help="do not copy the source's audio")
    output.add_argument("--crf", type=int, default=18, help="x264 quality (lower is better)")
    output.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from imvideoedit.video_editing import (
        EditJob,
        ModelSpec,
        describe_summary,
        edit_one,
        parse_shard,
        run_batch,
    )

    batch = args.jobs is not None
    if batch and (args.input or args.prompt or args.output):
        raise UserError("give either INPUT PROMPT -o OUT, or --jobs with --out-dir, not both")
    if batch and not args.out_dir:
        raise UserError("--jobs needs --out-dir")
    if not batch and not (args.input and args.prompt is not None and args.output):
        raise UserError("need INPUT, PROMPT and -o OUT (or --jobs FILE --out-dir DIR)")
    if not batch and (args.out_dir or args.shard != "0/1"):
        raise UserError("--out-dir and --shard are for batches (--jobs FILE); one edit writes to -o OUT")

    models = ModelSpec(
        base=args.base,
        adapter=args.adapter,
        device=args.device,
        dtype=args.dtype,
        cpu_offload=args.cpu_offload,
        vae_tiling=args.vae_tiling,
        check_base_weights=not args.skip_base_weight_check,
    )
    job = EditJob(
        input=args.input or "",
        output=args.output or "",
        prompt=args.prompt or "",
        negative_prompt=args.negative_prompt,
        seed=args.seed,
        steps=args.steps,
        guidance=args.guidance,
        strength=args.strength,
        clip=ClipSpec(
            model_fps=_model_fps(args.model_fps),
            num_frames=args.num_frames,
            max_frames=args.max_frames,
            frame_fit=args.frame_fit,
            height=args.height,
            width=args.width,
            fit=args.fit,
            max_pixels=args.max_pixels,
            downscale=args.downscale,
        ),
        output_spec=OutputSpec(
            fps=_output_fps(args.fps),
            size=args.output_size,
            side_by_side=args.side_by_side,
            colour_match=args.colour_match,
            audio=not args.no_audio,
            crf=args.crf,
        ),
    )
    progress = not args.no_progress
    if batch:
        summary = run_batch(
            models, args.jobs, args.out_dir, job, shard=parse_shard(args.shard), progress=progress
        )
        print(describe_summary(summary))
        for job_id, error in summary.failures:
            print(f"failed: {job_id}: {error}", file=sys.stderr)
        return 1 if summary.failed else 0
    result = edit_one(models, job, progress=progress)
    written = result.record["written"]
    print(
        f"wrote {result.output} ({written['num_frames']} frames, {written['width']}x{written['height']}, "
        f"{written['fps']:.3f} fps, audio {written['audio']}) and {result.sidecar}"
    )
    return 0


def _model_fps(text: str) -> float | None:
    if text == "source":
        return None
    try:
        return float(text)
    except ValueError:
        raise UserError(f"--model-fps must be a number or 'source', got {text!r}") from None


def _output_fps(text: str) -> str | float:
    if text in ("source", "model"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--fps must be 'source', 'model' or a number, got {text!r}") from None
    if not value > 0:
        raise UserError(f"--fps must be positive, got {text!r}")
    return value
