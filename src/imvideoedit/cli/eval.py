"""`imvideoedit eval judge|metrics|report|agreement`: score edited videos and compare methods.

    eval judge     --spec SPEC.jsonl --method NAME=DIR [...] --out DIR --backend openai|gemini|local --model M
    eval metrics   --spec SPEC.jsonl --method NAME=DIR [...] --out DIR [--dino-vitb16 PATH ...]
    eval report    --spec SPEC.jsonl [--method NAME ...] --out DIR [--published all|NAME ...]
    eval agreement FIRST.jsonl SECOND.jsonl [--field score] [--threshold 6]

API keys are read from the environment only (OPENAI_API_KEY, GEMINI_API_KEY).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from imvideoedit.cli.arg_types import count, non_negative_float, positive_float, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="judge edited videos with a VLM, measure them, and build comparison reports",
        description="Evaluate video edits: the paper's VLM judge (appendix C), objective metrics, reports in "
        "the paper's table layouts, and agreement between two judges (appendix A).",
    )
    actions = parser.add_subparsers(dest="eval_command", metavar="ACTION")
    actions.required = True
    _register_judge(actions)
    _register_metrics(actions)
    _register_report(actions)
    _register_agreement(actions)


def _benchmark_arguments(parser: argparse.ArgumentParser, *, methods_need_dir: bool = True) -> None:
    parser.add_argument("--spec", type=Path, required=True, help="benchmark cases (JSONL)")
    help_text = "a method's name and its folder of edited videos named by case id (repeatable)"
    if not methods_need_dir:
        help_text = "a method to include, NAME or NAME=DIR (repeatable; default: every method with results)"
    parser.add_argument(
        "--method",
        action="append",
        metavar="NAME=DIR" if methods_need_dir else "NAME",
        required=methods_need_dir,
        help=help_text,
    )
    parser.add_argument("--out", type=Path, required=True, help="results folder (judge/, metrics/, report/)")


def _optional_float(text: str) -> float | None:
    if text.lower() in ("server", "none", "default"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'server', got {text!r}") from None
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a temperature of 0 or more, got {text!r}")
    return value


def _register_judge(actions: argparse._SubParsersAction) -> None:
    judge = actions.add_parser(
        "judge",
        help="score every method's edits with a VLM judge (IA/TC/VF/AA)",
        description="Scores each edited video against its source and instruction on Instruction Adherence "
        "(0-30), Temporal Consistency (0-30), Visual Fidelity (0-25) and Artifact Absence (0-15). Invalid "
        "answers are sent back for repair a bounded number of times; items that never validate are recorded "
        "as missing and reported in the coverage. Results are cached, so an interrupted run resumes.",
    )
    _benchmark_arguments(judge)
    judge.add_argument("--backend", choices=("openai", "gemini", "local"), required=True)
    judge.add_argument("--model", help="model name (openai, gemini) or model folder (local)")
    judge.add_argument(
        "--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL or api.openai.com)"
    )
    judge.add_argument(
        "--prompt-file",
        type=Path,
        help="judge instructions to use instead of the built-in ones (must contain {instruction}; "
        "may place {source_video} and {edited_video})",
    )
    judge.add_argument(
        "--concurrency", type=positive_int, default=4, help="items judged at once (default: 4)"
    )
    judge.add_argument("--max-repairs", type=count, default=2, help="repair requests per item (default: 2)")
    judge.add_argument(
        "--max-attempts",
        type=positive_int,
        default=6,
        help="calls per request on rate limits, timeouts and 5xx (default: 6)",
    )
    judge.add_argument(
        "--backoff", type=non_negative_float, default=2.0, help="first backoff delay in seconds (default: 2)"
    )
    judge.add_argument(
        "--max-backoff", type=non_negative_float, default=60.0, help="longest backoff delay (default: 60)"
    )
    judge.add_argument(
        "--timeout", type=positive_float, default=180.0, help="seconds per model call (default: 180)"
    )
    judge.add_argument(
        "--temperature",
        type=_optional_float,
        default=0.0,
        help="sampling temperature, or 'server' to leave it to the server (default: 0)",
    )
    judge.add_argument(
        "--max-tokens", type=positive_int, default=None, help="answer length limit (default: server's)"
    )
    judge.add_argument(
        "--frames",
        type=positive_int,
        default=16,
        help="openai/local: frames sampled per video and sent as images (default: 16)",
    )
    judge.add_argument(
        "--image-max-side",
        type=positive_int,
        default=512,
        help="openai/local: frame size limit (default: 512)",
    )
    judge.add_argument(
        "--sample-fps",
        type=positive_float,
        default=4.0,
        help="gemini: frames per second Gemini samples from each video (default: 4)",
    )
    judge.add_argument(
        "--json-mode",
        action="store_true",
        help="openai: ask the server for a JSON object (response_format); not every server supports it",
    )
    judge.add_argument("--device", default="cpu", help="local: torch device (default: cpu)")
    judge.add_argument("--dtype", default="auto", help="local: auto, bfloat16, float16 or float32")
    judge.add_argument("--cache", type=Path, help="results cache folder (default: OUT/judge/cache)")
    judge.set_defaults(handler=run_judge)


def _register_metrics(actions: argparse._SubParsersAction) -> None:
    metrics = actions.add_parser(
        "metrics",
        help="objective metrics (OpenCV flow, SSIM) and VBench dimensions from local weights",
        description="Measures every edit and every source video: warp error, flicker, dynamic degree "
        "(VBench's rule, Farneback flow), motion fidelity and structure (SSIM) against the source. VBench's "
        "subject/background consistency and aesthetic quality are computed only from the weights you point "
        "to; otherwise they are reported as unavailable.",
    )
    _benchmark_arguments(metrics)
    metrics.add_argument(
        "--max-side", type=int, default=256, help="working resolution for flow and SSIM (default: 256)"
    )
    metrics.add_argument("--dino-vitb16", type=Path, help="transformers folder of facebook/dino-vitb16")
    metrics.add_argument(
        "--clip-vit-b32", type=Path, help="transformers folder of openai/clip-vit-base-patch32"
    )
    metrics.add_argument(
        "--clip-vit-l14", type=Path, help="transformers folder of openai/clip-vit-large-patch14"
    )
    metrics.add_argument("--aesthetic-head", type=Path, help="LAION's sa_0_4_vit_l_14_linear.pth")
    metrics.add_argument("--device", default="cpu", help="torch device for the feature models (default: cpu)")
    metrics.set_defaults(handler=run_metrics)


def _register_report(actions: argparse._SubParsersAction) -> None:
    report = actions.add_parser(
        "report",
        help="tables in the paper's layouts (Markdown, CSV) and a PNG chart",
        description="Builds OUT/report/: task totals (table 4.2 layout), dimensions (table 5), the per-task "
        "breakdown (appendix C.2), coverage, objective metrics, and a chart. --published adds the paper's "
        "numbers as rows marked 'published'.",
    )
    _benchmark_arguments(report, methods_need_dir=False)
    report.add_argument(
        "--published",
        action="append",
        metavar="NAME",
        help="add the paper's numbers for a method: all, vace-14b, ditto, icve, kiwi-edit, "
        "lucy-edit, vace-1.3b, omnivideo2, imvideoedit (repeatable)",
    )
    report.set_defaults(handler=run_report)


def _register_agreement(actions: argparse._SubParsersAction) -> None:
    agreement = actions.add_parser(
        "agreement",
        help="agreement of two judges on the same items (Pearson; MAE and variance after a threshold)",
        description="Reads two JSONL files with an 'id' and a numeric score per line and reports Pearson's r "
        "on raw scores, and MAE and variance of the accept/reject decisions at a threshold (appendix A).",
    )
    agreement.add_argument("first", type=Path)
    agreement.add_argument("second", type=Path)
    agreement.add_argument("--field", default="score", help="the score's key in each line (default: score)")
    agreement.add_argument(
        "--threshold", type=float, default=6.0, help="accept when score >= this (default: 6)"
    )
    agreement.add_argument("--out", type=Path, help="also write the result as JSON here")
    agreement.set_defaults(handler=run_agreement)


def _check_out(out: Path) -> None:
    """The results folder must be a folder (or not exist yet): refused before any work."""
    from imvideoedit.errors import refuse_file_as_folder

    refuse_file_as_folder(out, "--out", "results folder")


def _show_warnings() -> None:
    """Send library warnings (retries, cache problems) to stderr when nothing else is set up."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING, format="imvideoedit: %(message)s", stream=sys.stderr)


def run_judge(args: argparse.Namespace) -> int:
    from imvideoedit.eval.judge import SCORED, JudgeRunConfig, coverage
    from imvideoedit.eval.judge import run_judge as judge_all
    from imvideoedit.eval.judge_prompt import load_prompt
    from imvideoedit.eval.spec import load_spec, parse_methods
    from imvideoedit.vlm.factory import BackendChoice, build_backend
    from imvideoedit.vlm.retry import RetryPolicy

    _show_warnings()
    _check_out(args.out)
    cases = load_spec(args.spec)
    methods = parse_methods(args.method)
    prompt = load_prompt(args.prompt_file)
    backend = build_backend(
        BackendChoice(
            kind=args.backend,
            model=args.model,
            base_url=args.base_url,
            timeout_s=args.timeout,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            frames_per_video=args.frames,
            image_max_side=args.image_max_side,
            sample_fps=args.sample_fps,
            json_mode=args.json_mode,
            device=args.device,
            dtype=args.dtype,
        )
    )
    config = JudgeRunConfig(
        max_repairs=args.max_repairs,
        retry=RetryPolicy(
            max_attempts=args.max_attempts, base_delay_s=args.backoff, max_delay_s=args.max_backoff
        ),
        concurrency=args.concurrency,
    )
    print(
        f"judging {len(cases)} cases x {len(methods)} methods with {backend.kind}:{backend.model}, "
        f"prompt {prompt.version} ({prompt.origin})"
    )

    def progress(record, done: int, total: int) -> None:
        if record.status == SCORED:
            detail = " ".join(f"{k} {v}" for k, v in record.scores.items())
            outcome = f"scored {record.total} ({detail}){' [cached]' if record.cached else ''}"
        else:
            outcome = f"missing: {record.failure}"
        print(f"[{done}/{total}] {record.method}/{record.case_id}: {outcome}", flush=True)

    results = judge_all(
        cases, methods, backend, prompt, config, args.out, cache_dir=args.cache, on_record=progress
    )
    for name, records in results.items():
        cover = coverage(records)
        print(f"{name}: {cover['scored']}/{cover['items']} scored ({100 * cover['coverage']:.1f}% coverage)")
    print(f"wrote {args.out / 'judge'}")
    return 0


def run_metrics(args: argparse.Namespace) -> int:
    from imvideoedit.eval.metrics_runner import MetricsRunConfig
    from imvideoedit.eval.metrics_runner import run_metrics as measure_all
    from imvideoedit.eval.objective_metrics import ObjectiveConfig
    from imvideoedit.eval.spec import load_spec, parse_methods
    from imvideoedit.eval.vbench_dimensions import FeatureModelPaths

    _show_warnings()
    _check_out(args.out)
    cases = load_spec(args.spec)
    methods = parse_methods(args.method)
    if args.max_side < 16:
        from imvideoedit.errors import UserError

        raise UserError(f"--max-side must be at least 16, got {args.max_side}")
    config = MetricsRunConfig(
        objective=ObjectiveConfig(working_max_side=args.max_side),
        features=FeatureModelPaths(
            dino_vitb16=args.dino_vitb16,
            clip_vit_b32=args.clip_vit_b32,
            clip_vit_l14=args.clip_vit_l14,
            laion_aesthetic_head=args.aesthetic_head,
            device=args.device,
        ),
    )
    total = len(cases) * (len(methods) + 1)
    done = 0

    def progress(record) -> None:
        nonlocal done
        done += 1
        if record["status"] == "ok":
            values = ", ".join(f"{k} {v:.4g}" for k, v in record["metrics"].items() if v is not None)
            outcome = values
        else:
            outcome = f"missing: {record['failure']}"
        if record.get("warning"):
            outcome += f" (warning: {record['warning']})"
        print(f"[{done}/{total}] {record['method']}/{record['case_id']}: {outcome}", flush=True)

    rows = measure_all(cases, methods, config, args.out, on_record=progress)
    unavailable = next((r["unavailable"] for records in rows.values() for r in records), {})
    for name, reason in sorted(unavailable.items()):
        print(f"{name}: unavailable ({reason})")
    print(f"wrote {args.out / 'metrics'}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from imvideoedit.eval.published import resolve_published
    from imvideoedit.eval.report import build_report
    from imvideoedit.eval.spec import load_spec, parse_methods

    _check_out(args.out)
    cases = load_spec(args.spec, check_sources=False)
    methods = [m.name for m in parse_methods(args.method, need_directory=False)] if args.method else None
    published = resolve_published(args.published or [])
    files = build_report(cases, args.out, methods=methods, published=published)
    for name in ("task_totals", "dimensions"):
        if name in files.tables:
            print(files.tables[name].to_markdown())
    print(f"wrote {files.markdown} and {len(files.tables)} CSV tables in {files.directory}")
    return 0


def run_agreement(args: argparse.Namespace) -> int:
    from imvideoedit.atomic_write import atomic_write_text
    from imvideoedit.eval.agreement import agreement_between_files

    result, count_first, count_second = agreement_between_files(
        args.first, args.second, field=args.field, threshold=args.threshold
    )
    pearson = "undefined (constant scores)" if result.pearson is None else f"{result.pearson:.3f}"
    print(
        f"items: {result.items} shared ({count_first} in {args.first.name}, {count_second} in {args.second.name})"
    )
    print(f"pearson (raw scores): {pearson}")
    print(f"MAE (binarised at >= {result.threshold:g}): {result.mae:.3f}")
    print(f"variance (binarised): {result.variance:.3f}")
    print(f"agreement: {100 * result.agreement:.1f}%")
    if args.out is not None:
        atomic_write_text(args.out, json.dumps(result.to_json(), indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0
