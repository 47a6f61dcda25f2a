"""`imvideoedit demo`: the whole method on a laptop, in minutes, against exact ground truth.

With the packaged world base (a small Wan transformer that knows the procedural world), the demo
writes single-frame world pairs, trains a small adapter on them with the ordinary trainer, edits
held-out world *videos* (one per edit kind) through `ImVideoEditPipeline`, and writes for each a
source | edit | ground truth video, a PNG contact sheet of all of them and a metrics table
against copying the source. Given `--video`, it also edits that real clip through the ordinary
`imvideoedit edit` path (the world base only knows the world, so this shows the real-media path
end to end, not a meaningful edit of real content).

The output folder:

    pairs/                    the training pairs (dataset format; `imvideoedit data check` passes)
    adapter/                  the trainer's run folder; adapter/adapter.safetensors, and the
                              settings it trains with (demo_settings.json: a rerun with other
                              training settings is refused rather than reusing it)
    videos/<nn>_<kind>.mp4    source | edit | ground truth, upscaled for viewing
    contact_sheet.png         first, middle and last frame of each: source, edit, ground truth
    metrics.md, metrics.json  PSNR/SSIM/flicker/trajectory per edit kind, edit vs copy-the-source
    real/<name>.mp4           (with --video) source | edit, plus its sidecar JSON
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from imvideoedit.atomic_write import atomic_path, atomic_write_text
from imvideoedit.world.edits import EDIT_KINDS, Edit
from imvideoedit.world.pairs import KEEP_SHARE, heldout_edits, write_training_pairs
from imvideoedit.world.proving_ground import (
    EDIT_GUIDANCE,
    AdapterRecipe,
    edit_clips,
    score,
    train_world_adapter,
)
from imvideoedit.world.render import render

VIEW_SCALE = 4  # world clips are 32 px; videos and the sheet show them 4x larger (nearest pixel)


@dataclass(frozen=True)
class DemoSettings:
    pairs: int = 1000
    keep_share: float = KEEP_SHARE  # share of keep pairs among them (pairs.py)
    steps: int = 300  # adapter training steps (batch 8)
    videos: int = 10  # held-out world videos to edit (edit kinds take turns)
    edit_steps: int = 20
    guidance: float = EDIT_GUIDANCE  # world edits guide away from the source caption (proving_ground.py)
    seed: int = 0
    real_prompt: str = "dim light"  # for --video: words the world base knows


@dataclass
class DemoResult:
    adapter: Path
    videos: list[Path]
    contact_sheet: Path
    metrics_markdown: Path
    metrics_json: Path
    real_video: Path | None
    table: str


def run_demo(
    out_dir: str | os.PathLike,
    base: str | os.PathLike,
    settings: DemoSettings = DemoSettings(),
    video: str | os.PathLike | None = None,
    log=print,
) -> DemoResult:
    from imvideoedit.pipeline import ImVideoEditPipeline

    out = Path(out_dir)
    _check_inputs(out, base, settings, video)
    out.mkdir(parents=True, exist_ok=True)
    _claim_adapter_folder(out / "adapter", base, settings)

    log(f"writing {settings.pairs} single-frame training pairs to {out / 'pairs'}")
    pairs = write_training_pairs(
        out / "pairs", count=settings.pairs, seed=settings.seed, keep_share=settings.keep_share
    )
    adapter = out / "adapter" / "adapter.safetensors"
    if adapter.is_file():
        log(f"adapter exists (trained with these settings), reusing {adapter}")
    else:
        log(f"training the adapter ({settings.steps} steps) on single frames only")
        recipe = AdapterRecipe(steps=settings.steps, seed=settings.seed)
        adapter = train_world_adapter(
            base, pairs, out / "adapter", recipe, cache_dir=out / "adapter" / "cache"
        )

    edits = heldout_edits(settings.videos)
    log(f"editing {len(edits)} held-out world videos with the whole-video pipeline")
    pipe = ImVideoEditPipeline.from_pretrained(str(base), adapter=str(adapter))
    pipe.set_progress_bar_config(disable=True)
    clips = edit_clips(
        pipe,
        edits,
        steps=settings.edit_steps,
        guidance=settings.guidance,
        seed=settings.seed,
        negative="source",
    )

    video_paths = [
        _write_side_by_side(out / "videos", i, edit, clip)
        for i, (edit, clip) in enumerate(zip(edits, clips, strict=True))
    ]
    for stale in (out / "videos").glob("*.mp4"):  # an earlier run's extra videos would contradict the sheet
        if stale not in video_paths:
            stale.unlink()
    sheet = _write_contact_sheet(out / "contact_sheet.png", edits, clips)
    table, metrics = metrics_table(edits, clips)
    atomic_write_text(out / "metrics.md", table)
    atomic_write_text(
        out / "metrics.json",
        json.dumps({"settings": asdict(settings), "base": str(base), **metrics}, indent=1) + "\n",
    )

    real = None
    if video is not None:
        real = _edit_real_clip(Path(video), out / "real", base, adapter, settings)
    return DemoResult(
        adapter=adapter,
        videos=video_paths,
        contact_sheet=sheet,
        metrics_markdown=out / "metrics.md",
        metrics_json=out / "metrics.json",
        real_video=real,
        table=table,
    )


# The settings an adapter's training depends on; a rerun that changes them cannot reuse it.
TRAINING_SETTINGS = ("pairs", "keep_share", "steps", "seed")
SETTINGS_FILE = "demo_settings.json"


def _check_inputs(out: Path, base, settings: DemoSettings, video) -> None:
    """Everything that can be refused is refused before minutes of training."""
    from imvideoedit.data.encoders import require_base_parts
    from imvideoedit.errors import UserError, refuse_file_as_folder
    from imvideoedit.text_encoding import clean_prompt

    refuse_file_as_folder(out, "--out")
    require_base_parts(str(base), ("transformer", "vae", "text_encoder", "tokenizer"))
    if video is not None:
        from imvideoedit.video.reader import probe_video

        if not clean_prompt(settings.real_prompt):
            raise UserError("--prompt is empty; the real clip's edit needs words the world base knows")
        if not Path(video).is_file():
            raise UserError(f"--video {video}: no such file")
        try:
            probe_video(video)
        except UserError as error:
            raise UserError(f"--video: {error}") from None


def _claim_adapter_folder(folder: Path, base, settings: DemoSettings) -> None:
    """Record what the adapter in `folder` is trained with; refuse a rerun that changes it.

    A finished adapter is reused and a killed training resumes, so both must be the training
    these settings describe (otherwise metrics.json would report settings it was not made with).
    """
    from imvideoedit.errors import UserError

    wanted = {"base": _base_identity(base), **{k: getattr(settings, k) for k in TRAINING_SETTINGS}}
    record = folder / SETTINGS_FILE
    trained = folder.is_dir() and any(
        p.name != SETTINGS_FILE for p in folder.iterdir()
    )  # adapter, checkpoints
    if trained and record.is_file():
        saved = json.loads(record.read_text())
        changed = [
            "base: another transformer" if key == "base" else f"{key} {saved.get(key)!r} -> {value!r}"
            for key, value in wanted.items()
            if saved.get(key) != value
        ]
        if changed:
            raise UserError(
                f"{folder} holds an adapter trained with other settings ({'; '.join(changed)}): "
                "choose another --out, or delete that folder to retrain"
            )
    elif trained:
        raise UserError(
            f"{folder} holds an adapter whose training settings were not recorded (an earlier version's "
            "demo): choose another --out, or delete that folder to retrain"
        )
    else:  # nothing trained yet (or a run stopped before training): these settings are the run's
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(record, json.dumps(wanted, indent=1) + "\n")


def _base_identity(base) -> str:
    """A hash of the base's transformer weights: the same wherever the base is installed."""
    import hashlib

    from imvideoedit.video_editing import file_sha256

    files = sorted((Path(base) / "transformer").glob("*.safetensors"))
    return hashlib.sha256(" ".join(file_sha256(path) for path in files).encode()).hexdigest()[:16]


def metrics_table(edits: list[Edit], clips: list[np.ndarray]) -> tuple[str, dict]:
    """Per edit kind: the edit's ground-truth metrics next to copying the source."""
    edited = score(edits, clips)  # {kind or "all": {metric: mean}}
    copied = score(edits, [render(edit.source) for edit in edits])
    counts = Counter(edit.kind for edit in edits)
    kinds = [kind for kind in EDIT_KINDS if kind in counts]
    summary = {kind: {"edit": edited[kind], "copy": copied[kind]} for kind in [*kinds, "all"]}
    lines = [
        "| edit kind | videos | PSNR edit | PSNR copy | SSIM edit | SSIM copy | flicker edit / truth | trajectory error (px) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind in [*kinds, "all"]:
        e, c = summary[kind]["edit"], summary[kind]["copy"]
        count = counts[kind] if kind != "all" else len(edits)
        lines.append(
            f"| {kind} | {count} | {e['psnr']:.1f} | {c['psnr']:.1f} | {e['ssim']:.3f} | {c['ssim']:.3f} | "
            f"{e['flicker']:.4f} / {e['flicker_truth']:.4f} | {e['trajectory_error']:.2f} |"
        )
    return "\n".join(lines) + "\n", {"per_kind": summary}


def _upscale(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) -> (T, H*s, W*s, 3), nearest pixel."""
    return frames.repeat(VIEW_SCALE, axis=1).repeat(VIEW_SCALE, axis=2)


def _triptych(edit: Edit, clip: np.ndarray) -> np.ndarray:
    """source | edit | ground truth, (T, H, 3W + 2 gaps, 3) with white 2-pixel gaps."""
    source, truth = render(edit.source), render(edit.target)
    gap = np.full((clip.shape[0], clip.shape[1], 2, 3), 255, dtype=np.uint8)
    return np.concatenate([source, gap, clip, gap, truth], axis=2)


def _write_side_by_side(directory: Path, index: int, edit: Edit, clip: np.ndarray) -> Path:
    from imvideoedit.video.writer import write_video

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{index:02d}_{edit.kind}.mp4"
    write_video(path, _upscale(_triptych(edit, clip)), fps=4.0, crf=12)
    return path


def _write_contact_sheet(path: Path, edits: list[Edit], clips: list[np.ndarray]) -> Path:
    """One row per edit: its instruction, then source, edit and truth at the first, middle and last frame."""
    from PIL import Image, ImageDraw

    rows = []
    for edit, clip in zip(edits, clips, strict=True):
        strip = _triptych(edit, clip)  # (T, H, W', 3)
        picks = [0, len(strip) // 2, len(strip) - 1]
        row = np.concatenate(
            [np.pad(strip[t], ((0, 0), (0, 4), (0, 0)), constant_values=255) for t in picks], axis=1
        )
        row = _upscale(row[None])[0]
        label = np.full((14, row.shape[1], 3), 255, dtype=np.uint8)
        rows.append(np.concatenate([label, row], axis=0))
    width = max(r.shape[1] for r in rows)
    sheet = Image.fromarray(
        np.concatenate(
            [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
        )
    )
    draw = ImageDraw.Draw(sheet)
    y = 0
    for edit, row in zip(edits, rows, strict=True):
        draw.text(
            (2, y + 1),
            f"{edit.kind}: {edit.instruction}   (source | edit | ground truth, frames first/middle/last)",
            fill=(0, 0, 0),
        )
        y += row.shape[0]
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return path


def _edit_real_clip(video: Path, directory: Path, base, adapter: Path, settings: DemoSettings) -> Path:
    """The real clip through the ordinary editing path, at the world base's size and length."""
    from imvideoedit.video.clip import ClipSpec
    from imvideoedit.video.render import OutputSpec
    from imvideoedit.video_editing import EditJob, ModelSpec, edit_one

    directory.mkdir(parents=True, exist_ok=True)
    job = EditJob(
        input=str(video),
        output=str(directory / f"{video.stem}.mp4"),
        prompt=settings.real_prompt,
        seed=settings.seed,
        steps=settings.edit_steps,
        guidance=1.0,
        clip=ClipSpec(model_fps=8.0, num_frames=9, height=32, width=32),
        output_spec=OutputSpec(fps="model", size="source", side_by_side=True),
    )
    return Path(
        edit_one(ModelSpec(base=str(base), adapter=str(adapter), dtype="float32"), job, progress=False).output
    )
