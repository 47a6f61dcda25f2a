"""Objective metrics over a benchmark: every method's edits, and the source videos themselves.

For each case the source is decoded once and measured (the "source" row of the report shows
what the edit changed), then every method's edit is measured alone and against the source.
Results go to `out_dir/metrics/<method>.jsonl` and `source.jsonl`; finished items are cached by
video hashes and settings, so an interrupted run resumes where it stopped. A missing or
unreadable edit is recorded as missing with the reason, never as a number. Each record also
holds the clip's frame count and rate, and a `warning` when an edit does not cover its source's
time span (it is compared over the span both cover) or has a single frame.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imvideoedit.atomic_write import atomic_write_text
from imvideoedit.errors import UserError
from imvideoedit.eval.jsonl import write_jsonl
from imvideoedit.eval.objective_metrics import ClipFlows, ObjectiveConfig, clip_flows, clip_metrics
from imvideoedit.eval.result_cache import FileDigests, ResultCache, cache_key
from imvideoedit.eval.spec import BenchmarkCase, MethodOutputs
from imvideoedit.eval.vbench_dimensions import FeatureModelPaths, VBenchModels

SOURCE = "source"
OK = "ok"
MISSING = "missing"


@dataclass(frozen=True)
class MetricsRunConfig:
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    features: FeatureModelPaths = field(default_factory=FeatureModelPaths)

    def identity(self) -> dict[str, Any]:
        # version 3: edits are aligned with their source by frame times (`align_in_time`)
        return {"objective": asdict(self.objective), "features": self.features.identity(), "version": 3}


def measure_clip(
    frames: np.ndarray, fps: float, source: _SourceClip, config: MetricsRunConfig, models: VBenchModels
) -> dict[str, float | None]:
    """All available metrics of one clip: alone, against its source, and VBench's dimensions."""
    source_frames, source_fps = source.get()
    source_flows = source.flows(config.objective)
    own_flows = source_flows if frames is source_frames else None
    values = clip_metrics(
        frames, fps, source_frames, source_flows, config.objective, flows=own_flows, source_fps=source_fps
    )
    values.update(models.compute(frames))
    return values


def run_metrics(
    cases: list[BenchmarkCase],
    methods: list[MethodOutputs],
    config: MetricsRunConfig,
    out_dir: str | Path,
    *,
    read_frames: Callable[[Path], tuple[np.ndarray, float]] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Measure the sources and every method's edits; returns the records per row name."""
    out_dir = Path(out_dir) / "metrics"
    cache = ResultCache(out_dir / "cache")
    digests = FileDigests()
    models = VBenchModels(config.features)
    models.check()  # a wrong weights path stops the run here, not as a failure on every clip
    unavailable = models.unavailable()
    reader = read_frames or frames_from_file
    identity = config.identity()
    rows: dict[str, list[dict[str, Any]]] = {SOURCE: [], **{m.name: [] for m in methods}}

    for case in cases:
        source_digest = digests(case.source)
        source = _SourceClip(case.source, reader)

        targets: list[tuple[str, Path | None, str | None]] = [(SOURCE, case.source, None)]
        for method in methods:
            path = method.edited_video(case.id)
            targets.append(
                (method.name, path, None if path else f"no edited video for this case in {method.directory}")
            )

        for name, path, failure in targets:
            record: dict[str, Any] = {
                "case_id": case.id,
                "method": name,
                "task": case.task,
                "status": MISSING,
                "failure": failure,
                "metrics": None,
                "frames": None,
                "fps": None,
                "warning": None,
                "unavailable": unavailable,
                "video_sha256": None,
                "source_sha256": source_digest,
            }
            if path is not None:
                record["video_sha256"] = digests(path)
                key = cache_key(
                    {"settings": identity, "video": record["video_sha256"], "source": source_digest}
                )
                hit = cache.get(key)
                if hit is not None:
                    record.update(status=OK, **hit)
                else:
                    try:
                        source_frames, source_fps = source.get()
                        frames, fps = (source_frames, source_fps) if name == SOURCE else reader(path)
                        measured = {
                            "metrics": measure_clip(frames, fps, source, config, models),
                            "frames": len(frames),
                            "fps": fps,
                            "warning": timing_warning(len(frames), fps, len(source_frames), source_fps),
                        }
                        record.update(status=OK, **measured)
                        cache.put(key, measured)
                    except UserError as error:
                        record["failure"] = str(error)
            rows[name].append(record)
            if on_record is not None:
                on_record(record)

    for name, records in rows.items():
        write_jsonl(out_dir / f"{name}.jsonl", records)
    atomic_write_text(
        out_dir / "run.json",
        json.dumps({"settings": identity, "unavailable": unavailable, "rows": list(rows)}, indent=2) + "\n",
    )
    return rows


def timing_warning(frames: int, fps: float, source_frames: int, source_fps: float) -> str | None:
    """A note for an edit that does not cover its source's time span, or has one frame; else None.

    Such an edit is still measured, over the span both cover (`align_in_time`), but its numbers
    do not describe the whole clip, and with one frame the temporal metrics are undefined.
    """
    if frames < 2:
        return "the edit has a single frame: its temporal metrics are undefined"
    duration, source_duration = frames / fps, source_frames / source_fps
    if abs(duration - source_duration) > 1.0 / source_fps:
        return (
            f"the edit covers {duration:.2f} s ({frames} frames at {fps:g} fps), the source "
            f"{source_duration:.2f} s ({source_frames} at {source_fps:g}): compared over the first "
            f"{min(duration, source_duration):.2f} s"
        )
    return None


class _SourceClip:
    """A case's source, decoded and its flows computed on first use only, at most once.

    Cached results need neither; every method's edit of the case shares both.
    """

    def __init__(self, path: Path, reader: Callable[[Path], tuple[np.ndarray, float]]) -> None:
        self._path, self._reader = path, reader
        self._value: tuple[np.ndarray, float] | None = None
        self._error: str | None = None
        self._flows: ClipFlows | None = None

    def flows(self, config: ObjectiveConfig) -> ClipFlows:
        if self._flows is None:
            self._flows = clip_flows(self.get()[0], config)
        return self._flows

    def get(self) -> tuple[np.ndarray, float]:
        if self._value is None and self._error is None:
            try:
                self._value = self._reader(self._path)
            except UserError as error:
                self._error = f"unreadable source video: {error}"
        if self._value is None:
            raise UserError(self._error)
        return self._value


def frames_from_file(path: Path) -> tuple[np.ndarray, float]:
    """(frames (T, H, W, 3) uint8, fps) decoded by the project's reader."""
    from imvideoedit.video.reader import read_video

    video = read_video(path)
    return video.frames, video.fps
