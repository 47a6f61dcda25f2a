"""The paper's ablation, measured in the world: every variant, several seeds, exact ground truth.

One run directory holds everything, so a killed run resumes where it stopped and several
processes can share the work (`shard=(i, n)`):

    out/pairs/                     single-frame training pairs (written once, identical per seed)
    out/heldout.json               which held-out edits were scored (kinds and captions)
    out/copy/metrics.jsonl         the copy-the-source baseline
    out/<variant>-s<seed>/         adapter run (trainer output), metrics.jsonl, job.json
        per_frame.jsonl            (full variant only) the per-frame baseline with that adapter

Every job writes its per-video metrics atomically, and a job whose files exist is skipped.
`collect` reads them back; `format_tables` prints the tables in the layout of the paper's
table 4 (one row per method) with 95% confidence intervals over seeds.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from imvideoedit.adapter_config import VARIANTS
from imvideoedit.atomic_write import atomic_write_text
from imvideoedit.world.edits import EDIT_KINDS, Edit
from imvideoedit.world.ground_truth_metrics import edit_metrics
from imvideoedit.world.pairs import KEEP_SHARE, heldout_edits, write_training_pairs
from imvideoedit.world.proving_ground import (
    EDIT_GUIDANCE,
    AdapterRecipe,
    Negative,
    check_negative,
    edit_clips,
    edit_frames_apart,
    train_world_adapter,
)
from imvideoedit.world.render import render

# Row labels in the paper's table 4 wording.
ROW_LABELS = {
    "copy": "Copy the source",
    "per_frame": "Per-frame editing (full)",
    "no_gate": "w/o Text Gate",
    "no_update": "w/o Update Module",
    "parallel": "Naive Parallel 2D",
    "full": "ImVideoEdit (full)",
}
ROW_ORDER = ("copy", "per_frame", "no_gate", "no_update", "parallel", "full")
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


@dataclass(frozen=True)
class AblationPlan:
    """What the ablation trains and scores (saved as plan.json in the run directory)."""

    base: str
    variants: tuple[str, ...] = VARIANTS
    seeds: tuple[int, ...] = (0, 1, 2)
    pairs: int = 2000
    keep_share: float = KEEP_SHARE  # share of keep pairs among them (pairs.py)
    heldout: int = 100
    recipe: AdapterRecipe = field(default_factory=AdapterRecipe)
    edit_steps: int = 12
    guidance: float = EDIT_GUIDANCE
    negative: Negative = "source"  # the unconditional pass's prompt (proving_ground.py)
    per_frame: bool = True  # also score the per-frame baseline with each full adapter

    def __post_init__(self) -> None:
        check_negative(self.negative)  # before any job runs


def plan_jobs(plan: AblationPlan) -> list[tuple[str, int | None]]:
    """All jobs: the copy baseline, then (variant, seed) adapter runs."""
    return [("copy", None)] + [(variant, seed) for seed in plan.seeds for variant in plan.variants]


def job_dir(out_dir: Path, variant: str, seed: int | None) -> Path:
    return out_dir / ("copy" if seed is None else f"{variant}-s{seed}")


def run_ablation(
    plan: AblationPlan, out_dir: str | os.PathLike, shard: tuple[int, int] = (0, 1), log=print
) -> None:
    """Run this shard's jobs (skipping finished ones)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_plan(plan, out)
    pairs = out / "pairs"
    if not (pairs / "metadata.jsonl").exists():
        write_training_pairs(pairs, count=plan.pairs, seed=0, keep_share=plan.keep_share)
    edits = heldout_edits(plan.heldout)
    index, count = shard
    for number, (variant, seed) in enumerate(plan_jobs(plan)):
        if number % count != index:
            continue
        directory = job_dir(out, variant, seed)
        if (directory / "job.json").exists():
            log(f"{directory.name}: done already")
            continue
        directory.mkdir(parents=True, exist_ok=True)
        if seed is None:
            started = time.time()
            _write_metrics(directory / "metrics.jsonl", edits, [render(edit.source) for edit in edits])
            _write_job(directory, {"edit_minutes": (time.time() - started) / 60})
            log("copy: scored")
            continue
        _run_adapter_job(plan, out, directory, variant, seed, edits, out / f"cache-{index}", log)


def _run_adapter_job(
    plan: AblationPlan,
    out: Path,
    directory: Path,
    variant: str,
    seed: int,
    edits: list[Edit],
    cache: Path,  # one latent cache per shard process: no two writers share a folder
    log,
) -> None:
    from imvideoedit.pipeline import ImVideoEditPipeline

    started = time.time()
    recipe = replace(plan.recipe, variant=variant, seed=seed)
    adapter = train_world_adapter(plan.base, out / "pairs", directory / "run", recipe, cache_dir=cache)
    trained = time.time()
    log(f"{directory.name}: trained in {(trained - started) / 60:.1f} min")
    pipe = ImVideoEditPipeline.from_pretrained(plan.base, adapter=str(adapter))
    pipe.set_progress_bar_config(disable=True)
    clips = edit_clips(
        pipe, edits, steps=plan.edit_steps, guidance=plan.guidance, seed=seed, negative=plan.negative
    )
    _write_metrics(directory / "metrics.jsonl", edits, clips)
    edited = time.time()
    log(f"{directory.name}: edited {len(edits)} videos in {(edited - trained) / 60:.1f} min")
    record = {"train_minutes": (trained - started) / 60, "edit_minutes": (edited - trained) / 60}
    if variant == "full" and plan.per_frame:
        apart = edit_frames_apart(
            pipe, edits, steps=plan.edit_steps, guidance=plan.guidance, seed=seed, negative=plan.negative
        )
        _write_metrics(directory / "per_frame.jsonl", edits, apart)
        record["per_frame_minutes"] = (time.time() - edited) / 60
        log(f"{directory.name}: per-frame baseline in {record['per_frame_minutes']:.1f} min")
    _write_job(directory, record)


def _write_plan(plan: AblationPlan, out: Path) -> None:
    text = json.dumps(asdict(plan), indent=1, sort_keys=True) + "\n"
    path = out / "plan.json"
    if path.exists() and path.read_text() != text:
        from imvideoedit.errors import UserError

        raise UserError(f"{out} holds a run with another plan; use a new --out or the same settings")
    if not path.exists():
        atomic_write_text(path, text)


def _write_metrics(path: Path, edits: list[Edit], outputs: list[np.ndarray]) -> None:
    rows = [
        {"index": i, "kind": edit.kind, **edit_metrics(output, edit)}
        for i, (edit, output) in enumerate(zip(edits, outputs, strict=True))
    ]
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))


def _write_job(directory: Path, record: dict) -> None:
    atomic_write_text(directory / "job.json", json.dumps(record, indent=1, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------------------------
# Reading results back


@dataclass
class MethodResult:
    """One table row: per seed, the mean of each metric over videos (overall and per kind)."""

    name: str
    seeds: list[dict[str, dict[str, float]]]  # [{kind or "all": {metric: mean}}]
    minutes: list[float]  # wall minutes per seed (training + editing)


def _summarise(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per-video rows -> {kind or "all": {metric: mean}}; flicker as a ratio to the truth's."""
    groups: dict[str, list[dict]] = {"all": rows}
    for row in rows:
        groups.setdefault(row["kind"], []).append(row)
    summary = {}
    for kind, members in groups.items():
        flick = np.mean([m["flicker"] for m in members])
        truth = np.mean([m["flicker_truth"] for m in members])
        summary[kind] = {
            "psnr": float(np.mean([m["psnr"] for m in members])),
            "ssim": float(np.mean([m["ssim"] for m in members])),
            "flicker_ratio": float(flick / max(truth, 1e-9)),
            "trajectory_error": float(np.nanmean([m["trajectory_error"] for m in members])),
        }
    return summary


def _read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def collect(out_dir: str | os.PathLike) -> dict[str, MethodResult]:
    """Finished results in the run directory, by row name (missing seeds are left out)."""
    out = Path(out_dir)
    plan = json.loads((out / "plan.json").read_text())
    results: dict[str, MethodResult] = {}
    if (out / "copy" / "job.json").exists():
        results["copy"] = MethodResult(
            "copy", [_summarise(_read_rows(out / "copy" / "metrics.jsonl"))], [0.0]
        )
    for variant in plan["variants"]:
        for seed in plan["seeds"]:
            directory = job_dir(out, variant, seed)
            if not (directory / "job.json").exists():
                continue
            job = json.loads((directory / "job.json").read_text())
            row = results.setdefault(variant, MethodResult(variant, [], []))
            row.seeds.append(_summarise(_read_rows(directory / "metrics.jsonl")))
            row.minutes.append(job["train_minutes"] + job["edit_minutes"])
            if (directory / "per_frame.jsonl").exists():
                apart = results.setdefault("per_frame", MethodResult("per_frame", [], []))
                apart.seeds.append(_summarise(_read_rows(directory / "per_frame.jsonl")))
                apart.minutes.append(job["train_minutes"] + job.get("per_frame_minutes", 0.0))
    return results


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval (0 for a single value)."""
    array = np.asarray(values, dtype=np.float64)
    if len(array) < 2:
        return float(array.mean()), 0.0
    half = T_975.get(len(array) - 1, 1.96) * array.std(ddof=1) / np.sqrt(len(array))
    return float(array.mean()), float(half)


def _cell(result: MethodResult, kind: str, metric: str, digits: int) -> str:
    values = [seed[kind][metric] for seed in result.seeds if kind in seed]
    if not values:
        return "-"
    mean, half = mean_ci(values)
    return f"{mean:.{digits}f}" if len(values) < 2 else f"{mean:.{digits}f} ± {half:.{digits}f}"


def format_tables(results: dict[str, MethodResult]) -> str:
    """Markdown: the overall table (paper table 4 layout) and PSNR per edit kind."""
    rows = [name for name in ROW_ORDER if name in results]
    lines = [
        "| method | seeds | PSNR (dB) ↑ | SSIM ↑ | flicker / truth (→1) | trajectory error (px) ↓ | minutes per seed |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in rows:
        result = results[name]
        lines.append(
            f"| {ROW_LABELS[name]} | {len(result.seeds)} | {_cell(result, 'all', 'psnr', 2)} | "
            f"{_cell(result, 'all', 'ssim', 3)} | {_cell(result, 'all', 'flicker_ratio', 2)} | "
            f"{_cell(result, 'all', 'trajectory_error', 2)} | {np.mean(result.minutes):.1f} |"
        )
    kinds = list(EDIT_KINDS)
    lines += [
        "",
        "PSNR (dB) to the ground truth per edit kind:",
        "",
        "| method | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for name in rows:
        cells = " | ".join(_cell(results[name], kind, "psnr", 1) for kind in kinds)
        lines.append(f"| {ROW_LABELS[name]} | {cells} |")
    return "\n".join(lines) + "\n"
