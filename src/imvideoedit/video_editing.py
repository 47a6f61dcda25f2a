"""Editing real videos to files: one clip, or a batch of jobs that survives being killed.

`edit_one` is what `imvideoedit edit INPUT PROMPT -o OUT` runs: it checks the cheap things first
(prompt, output name, the video itself), then loads the models, edits, and writes the MP4 and its
sidecar JSON (`OUT` with suffix `.json`: prompt, settings, frame/geometry mapping, versions, base
and adapter fingerprints). Both files appear atomically, the video first: a job counts as done
only when both exist.

`run_batch` is `imvideoedit edit --jobs jobs.jsonl --out-dir D`: the models load once; done jobs
are skipped, so a killed batch resumes where it stopped; a failing job is recorded with its error
in the results JSONL and the batch goes on. `--shard i/n` and `accelerate launch` (one process per
GPU) split the jobs; every process writes its own results file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imvideoedit.atomic_write import atomic_write_text
from imvideoedit.errors import UserError
from imvideoedit.json_lines import numbered_objects
from imvideoedit.text_encoding import clean_prompt
from imvideoedit.video.clip import ClipSpec, PreparedClip, is_finite_number, is_whole_number, load_clip
from imvideoedit.video.render import OutputSpec, write_edit

SIDECAR_FORMAT = "imvideoedit.edit/1"
# Keys a jobs JSONL line may carry; anything else is refused before the batch starts.
JOB_KEYS = {
    "id",
    "input",
    "prompt",
    "output",
    "negative_prompt",
    "seed",
    "steps",
    "guidance",
    "strength",
    "num_frames",
    "height",
    "width",
    "fps",
}


@dataclass(frozen=True)
class ModelSpec:
    """Which models to load and where. `dtype` "auto": bfloat16 on GPUs, float32 on CPU."""

    base: str
    adapter: str
    device: str | None = None  # None: the accelerator if there is one, else CPU
    dtype: str = "auto"  # "auto", "float32", "bfloat16", "float16"
    cpu_offload: bool = False  # diffusers' enable_model_cpu_offload (GPU memory for time)
    vae_tiling: bool = False
    check_base_weights: bool = True


@dataclass(frozen=True)
class EditJob:
    """One edit: a source video, the edited prompt, the sampling settings, the output."""

    input: str
    output: str
    prompt: str
    negative_prompt: str | None = None
    seed: int = 0
    steps: int = 50
    guidance: float = 5.0
    strength: float = 1.0
    clip: ClipSpec = field(default_factory=ClipSpec)
    output_spec: OutputSpec = field(default_factory=OutputSpec)
    job_id: str | None = None

    @property
    def sidecar(self) -> Path:
        return sidecar_path(self.output)

    def is_done(self) -> bool:
        return is_done(self.output)


@dataclass
class EditResult:
    output: str
    sidecar: str
    record: dict[str, Any]  # the sidecar's content


@dataclass
class BatchSummary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    assigned: int = 0
    results_path: str = ""
    failures: list[tuple[str, str]] = field(default_factory=list)  # (job id, error)


def sidecar_path(output: str | Path) -> Path:
    return Path(output).with_suffix(".json")


def is_done(output: str | Path) -> bool:
    """A finished edit has its video and a readable sidecar (the sidecar is written last)."""
    output, sidecar = Path(output), sidecar_path(output)
    if not (output.is_file() and sidecar.is_file()):
        return False
    try:
        return json.loads(sidecar.read_text()).get("format") == SIDECAR_FORMAT
    except (OSError, json.JSONDecodeError):
        return False


def check_job(job: EditJob) -> None:
    """The checks that need no model and no decoding: fail fast, before anything is loaded."""
    if not isinstance(job.prompt, str) or not clean_prompt(job.prompt):
        raise UserError("the edit prompt is empty; describe the edited video")
    if Path(job.output).suffix.lower() != ".mp4":
        raise UserError(f"output must be an .mp4 file, got {job.output}")
    if Path(job.output).resolve() == Path(job.input).resolve():
        raise UserError(f"output {job.output} would overwrite the input video")
    _check_output_location(Path(job.output))
    if not is_whole_number(job.steps) or job.steps < 1:
        raise UserError(f"steps must be a positive integer, got {job.steps!r}")
    if not is_whole_number(job.seed) or not 0 <= job.seed < 2**63:
        raise UserError(f"seed must be an integer in [0, 2**63), got {job.seed!r}")
    if not is_finite_number(job.strength) or not 0.0 < job.strength <= 1.0:
        raise UserError(f"strength must be in (0, 1], got {job.strength!r}")
    if int(job.steps * job.strength) < 1:
        raise UserError(f"strength {job.strength} keeps no step of {job.steps}; raise one of them")
    if not is_finite_number(job.guidance) or job.guidance < 1:
        raise UserError(f"guidance must be a finite number >= 1 (1: no guidance), got {job.guidance!r}")
    if job.negative_prompt is not None and not isinstance(job.negative_prompt, str):
        raise UserError(f"negative_prompt must be a string, got {job.negative_prompt!r}")
    job.clip.check()
    job.output_spec.check()


def _check_output_location(output: Path) -> None:
    """The output and its sidecar can be written: refused now, not after the edit has run."""
    for path in (output, sidecar_path(output)):
        if path.is_dir():
            raise UserError(f"{path} is a folder; the edit writes a file there")
    folder = output.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise UserError(f"cannot create the output folder {folder}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to {existing} (permission denied)")


class VideoEditor:
    """The loaded pipeline plus the provenance every sidecar records (computed once)."""

    def __init__(self, spec: ModelSpec, progress: bool = True) -> None:
        import torch

        from imvideoedit.pipeline import ImVideoEditPipeline

        self.spec = spec
        self.device = spec.device or ("cuda" if torch.cuda.is_available() else "cpu")
        _check_device(self.device)
        self.dtype = _resolve_dtype(spec.dtype, self.device)
        adapter_metadata = _adapter_metadata(spec.adapter)
        if not progress:
            from diffusers.utils import logging as diffusers_logging
            from transformers.utils import logging as transformers_logging

            diffusers_logging.disable_progress_bar()
            transformers_logging.disable_progress_bar()
        self.pipe = ImVideoEditPipeline.from_pretrained(
            spec.base,
            adapter=spec.adapter,
            check_base_weights=spec.check_base_weights,
            # Wan's VAE is kept in float32, as its authors recommend; the rest follows `dtype`.
            dtype={"default": self.dtype, "vae": torch.float32},
        )
        if spec.cpu_offload:
            self.pipe.enable_model_cpu_offload(device=self.device)
        else:
            self.pipe.to(self.device)
        if spec.vae_tiling:
            self.pipe.enable_vae_tiling()
        self.pipe.set_progress_bar_config(disable=not progress, leave=False, desc="steps")
        self.provenance = {
            "base": _base_record(spec.base, self.pipe.transformer),
            "adapter": {**adapter_metadata, "config": self.pipe.adapter_config.to_dict()},
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "cpu_offload": spec.cpu_offload,
            "versions": library_versions(),
        }

    def edit(self, job: EditJob, clip: PreparedClip | None = None) -> EditResult:
        """Edit `job.input` and write `job.output` plus its sidecar (atomically, video first)."""
        import torch

        check_job(job)
        started = time.perf_counter()
        clip = clip if clip is not None else load_clip(job.input, job.clip)
        generator = torch.Generator(device="cpu").manual_seed(job.seed)
        result = self.pipe(
            clip,
            job.prompt,
            negative_prompt=job.negative_prompt,
            num_inference_steps=job.steps,
            guidance_scale=job.guidance,
            strength=job.strength,
            generator=generator,
            output_type="uint8",
        )
        edit = result.frames[0]  # (T, height, width, 3) uint8
        try:
            written = write_edit(job.output, edit, clip, job.output_spec)
        except OSError as error:  # a full disk, a folder gone since the check: one line, nothing left
            raise UserError(f"cannot write {job.output}: {error.strerror or error}") from None
        record = {
            "format": SIDECAR_FORMAT,
            "id": job.job_id,
            "input": str(job.input),
            "output": str(job.output),
            "prompt": job.prompt,
            "negative_prompt": job.negative_prompt,
            "seed": job.seed,
            "steps": job.steps,
            "guidance_scale": job.guidance,
            "strength": job.strength,
            "clip_spec": job.clip.to_dict(),
            "output_spec": job.output_spec.to_dict(),
            "mapping": clip.mapping(),
            "written": dataclasses.asdict(written),
            # The model's frames before encoding: equal for equal seeds and settings on the same
            # software and hardware, whatever the encoder does with them.
            "frames_sha256": hashlib.sha256(np.ascontiguousarray(edit).tobytes()).hexdigest(),
            **self.provenance,
            "seconds": round(time.perf_counter() - started, 3),
        }
        try:
            atomic_write_text(job.sidecar, json.dumps(record, indent=2, default=_json_default) + "\n")
        except OSError as error:  # a video without its sidecar is not done: take it back
            Path(job.output).unlink(missing_ok=True)
            raise UserError(f"cannot write {job.sidecar}: {error.strerror or error}") from None
        return EditResult(output=str(job.output), sidecar=str(job.sidecar), record=record)


def edit_one(spec: ModelSpec, job: EditJob, progress: bool = True) -> EditResult:
    """Edit one video: check the job and decode the video before loading any model."""
    check_job(job)
    clip = load_clip(job.input, job.clip)
    editor = VideoEditor(spec, progress=progress)
    _remove_stale_temporaries(Path(job.output))  # what a killed run of the same edit left
    _remove_stale_temporaries(job.sidecar)
    return editor.edit(job, clip=clip)


# ---------------------------------------------------------------------------- batches


def read_jobs(jobs_path: str | Path, out_dir: str | Path, defaults: EditJob) -> list[EditJob]:
    """Parse and check every line of a jobs JSONL before anything runs.

    Each line is an object with `input` and `prompt`, and optionally `id`, `output` (a file
    name inside `out_dir`), `negative_prompt`, `seed`, `steps`, `guidance`, `strength`,
    `num_frames`, `height`, `width`, `fps`. Missing keys take `defaults`. Relative inputs are
    relative to the jobs file's folder.
    """
    jobs_path, out_dir = Path(jobs_path), Path(out_dir)
    if not jobs_path.is_file():
        raise UserError(f"jobs file not found: {jobs_path}")
    jobs: list[EditJob] = []
    outputs: dict[str, int] = {}  # case-folded output and sidecar paths -> line
    ids: dict[str, int] = {}  # job id -> line
    for number, entry in numbered_objects(jobs_path):
        where = f"{jobs_path}:{number}"
        unknown = sorted(set(entry) - JOB_KEYS)
        if unknown:
            raise UserError(f"{where}: unknown keys {unknown}; allowed: {sorted(JOB_KEYS)}")
        for key in ("input", "prompt"):
            if not isinstance(entry.get(key), str):
                raise UserError(f"{where}: {key!r} (a string) is required")
        source = Path(entry["input"])
        source = source if source.is_absolute() else jobs_path.parent / source
        try:
            given_id, given_output = entry.get("id"), entry.get("output")
            if isinstance(given_id, int) and not isinstance(given_id, bool):
                given_id = str(given_id)  # generated files often number their jobs
            job_id = (
                _file_name(given_id, "id") if given_id not in (None, "") else f"{len(jobs):05d}_{source.stem}"
            )
            if job_id in ids:  # ids name the records of results.jsonl
                raise UserError(f"id {job_id!r} is also the id of line {ids[job_id]}")
            ids[job_id] = number
            output = out_dir / (
                _file_name(given_output, "output") if given_output not in (None, "") else f"{job_id}.mp4"
            )
            # Outputs may not share a file or a sidecar, whatever the case (A.mp4 and A.MP4 share A.json
            # on a case-insensitive file system, and A.json either way).
            for path in (output, sidecar_path(output)):
                key = str(path.resolve()).lower()
                if key in outputs:
                    raise UserError(f"output {output.name} collides with the output of line {outputs[key]}")
                outputs[key] = number
            output_overrides = {"fps": _parse_fps(entry["fps"])} if "fps" in entry else {}
            job = dataclasses.replace(
                defaults,
                input=str(source),
                output=str(output),
                prompt=entry["prompt"],
                negative_prompt=entry.get("negative_prompt", defaults.negative_prompt),
                seed=_whole(entry.get("seed", defaults.seed)),
                steps=_whole(entry.get("steps", defaults.steps)),
                guidance=entry.get("guidance", defaults.guidance),
                strength=entry.get("strength", defaults.strength),
                clip=dataclasses.replace(
                    defaults.clip,
                    **{k: _whole(entry[k]) for k in ("num_frames", "height", "width") if k in entry},
                ),
                output_spec=dataclasses.replace(defaults.output_spec, **output_overrides),
                job_id=job_id,
            )
            check_job(job)  # types included: a jobs file's 2.7 steps or "9" frames are refused, not rounded
        except UserError as error:
            raise UserError(f"{where}: {error}") from None
        jobs.append(job)
    if not jobs:
        raise UserError(f"jobs file {jobs_path} has no jobs")
    return jobs


def _whole(value: Any) -> Any:
    """30.0 -> 30 (JSON writers often print whole numbers as floats); anything else unchanged, for
    `check_job` to accept or refuse (2.7 steps and "9" frames are refused, not rounded)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _file_name(value: Any, key: str) -> str:
    """A jobs line's `id` or `output`: a plain file name, so that every output stays in --out-dir."""
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{key!r} must be a non-empty string, got {value!r}")
    if value != Path(value).name or value in (".", "..") or value.startswith("."):
        raise UserError(f"{key!r} must be a plain file name (no folders, not hidden), got {value!r}")
    return value


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UserError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise UserError(f"--shard {text}: need 0 <= i < n")
    return index, count


def select_shard(jobs: list[EditJob], shard: tuple[int, int], process: tuple[int, int]) -> list[EditJob]:
    """Jobs for shard i of n, then for process p of P within it (round robin, stable order)."""
    (index, count), (rank, world) = shard, process
    mine = jobs[index::count]
    return mine[rank::world]


def run_batch(
    spec: ModelSpec,
    jobs_path: str | Path,
    out_dir: str | Path,
    defaults: EditJob,
    shard: tuple[int, int] = (0, 1),
    progress: bool = True,
) -> BatchSummary:
    """Run this process's share of a jobs file; see the module docstring for the guarantees."""
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    jobs = read_jobs(jobs_path, out_dir, defaults)
    rank, world, device = _process_slot(spec.device)
    mine = select_shard(jobs, shard, (rank, world))
    results_path = out_dir / _results_name(shard, (rank, world))
    _remove_stale_temporaries(results_path)
    results = _read_results(results_path)
    summary = BatchSummary(assigned=len(mine), results_path=str(results_path))

    pending = [job for job in mine if not job.is_done()]
    for job in mine:
        if job.is_done():
            summary.skipped += 1
            results.append(
                {"id": job.job_id, "output": job.output, "status": "skipped", "reason": "output exists"}
            )
    if pending:
        editor = VideoEditor(dataclasses.replace(spec, device=device), progress=progress)
        for job in tqdm(pending, desc="jobs", disable=not progress, position=0):
            started = time.perf_counter()
            _remove_stale_temporaries(Path(job.output))
            _remove_stale_temporaries(job.sidecar)
            try:
                editor.edit(job)
            except KeyboardInterrupt:
                raise
            except Exception as error:  # noqa: BLE001 - one bad job must not stop the batch
                message = " ".join(str(error).split()) or type(error).__name__
                kind = "bad input" if isinstance(error, UserError) else type(error).__name__
                summary.failed += 1
                summary.failures.append((str(job.job_id), message))
                results.append(
                    {
                        "id": job.job_id,
                        "input": job.input,
                        "output": job.output,
                        "status": "failed",
                        "error": message,
                        "error_type": kind,
                    }
                )
            else:
                summary.done += 1
                results.append(
                    {
                        "id": job.job_id,
                        "input": job.input,
                        "output": job.output,
                        "status": "done",
                        "seconds": round(time.perf_counter() - started, 3),
                    }
                )
            _write_results(results_path, results)
    _write_results(results_path, results)
    return summary


# ---------------------------------------------------------------------------- provenance


def library_versions() -> dict[str, str]:
    import av
    import diffusers
    import torch
    import transformers

    from imvideoedit import __version__

    return {
        "imvideoedit": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "av": av.__version__,
        "numpy": np.__version__,
        "ffmpeg_libavcodec": ".".join(str(v) for v in av.library_versions.get("libavcodec", ())),
    }


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _adapter_metadata(path: str) -> dict[str, Any]:
    """The adapter's identity: its file hash and the provenance its safetensors metadata holds."""
    from imvideoedit.adapter_io import read_adapter_metadata

    metadata = read_adapter_metadata(path)
    return {
        "path": str(path),
        "sha256": file_sha256(path),
        "base_config_fingerprint": metadata.get("base_config_fingerprint"),
        "base_weight_probe": json.loads(metadata["base_weight_probe"])
        if "base_weight_probe" in metadata
        else None,
        "imvideoedit_version": metadata.get("imvideoedit_version"),
    }


def _base_record(base: str, transformer) -> dict[str, Any]:
    from imvideoedit.base_fingerprint import base_config_fingerprint, base_weight_probe, base_weight_values

    return {
        "path": str(base),
        "config_fingerprint": base_config_fingerprint(transformer),
        "weight_probe": base_weight_probe(transformer),
        "weight_values": base_weight_values(transformer),
    }


def _check_device(device: str) -> None:
    """A device torch knows and this machine has, or a one-line error before any model loads."""
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise UserError(f"unknown device {device!r} (e.g. cpu, cuda, cuda:1, mps)") from None
    available = {
        "cuda": torch.cuda.is_available,
        "mps": lambda: torch.backends.mps.is_available(),
        "xpu": lambda: hasattr(torch, "xpu") and torch.xpu.is_available(),
    }.get(kind)
    if available is not None and not available():
        raise UserError(f"device {device!r} is not available on this machine")


def _resolve_dtype(name: str, device: str):
    import torch

    if name == "auto":
        return torch.bfloat16 if not str(device).startswith("cpu") else torch.float32
    choices = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if name not in choices:
        raise UserError(f"dtype must be one of auto, {', '.join(choices)}; got {name!r}")
    return choices[name]


def _parse_fps(value: Any) -> str | float:
    """A jobs line's `fps`: "source", "model" or a number (its range is `OutputSpec.check`'s)."""
    if value in ("source", "model") or is_finite_number(value):
        return value
    try:
        return float(value)  # "24", as the command line's --fps takes it
    except (TypeError, ValueError):
        raise UserError(f"fps must be 'source', 'model' or a number, got {value!r}") from None


def _process_slot(device: str | None) -> tuple[int, int, str | None]:
    """(process index, process count, device) from accelerate: (0, 1, ...) without a launcher.

    A launcher's RANK / WORLD_SIZE count too: accelerate reports a single process for CPU-only
    torchrun launches, and every process would then run every job.
    """
    from accelerate import PartialState

    state = PartialState()
    if state.num_processes > 1:
        return state.process_index, state.num_processes, device or str(state.device)
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world > 1:
        return int(os.environ.get("RANK", "0") or 0), world, device
    return 0, 1, device


def _results_name(shard: tuple[int, int], process: tuple[int, int]) -> str:
    index, count = shard
    rank, world = process
    if count == 1 and world == 1:
        return "results.jsonl"
    return f"results.shard{index}of{count}.proc{rank}of{world}.jsonl"


def _read_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _write_results(path: Path, records: list[dict]) -> None:
    """One record per job: its latest (a job that failed and was then done reads "done")."""
    latest: dict[Any, dict] = {}
    for record in records:
        latest.pop(record.get("id"), None)
        latest[record.get("id")] = record  # re-inserted: the file lists jobs in the order they last ran
    atomic_write_text(path, "".join(json.dumps(r, default=_json_default) + "\n" for r in latest.values()))


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary siblings of `path` that a killed run left behind (they are never the file itself)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp*"):
        stale.unlink(missing_ok=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def describe_summary(summary: BatchSummary) -> str:
    return (
        f"{summary.done} edited, {summary.skipped} already done, {summary.failed} failed "
        f"of {summary.assigned} jobs; results in {summary.results_path}"
    )


__all__ = [
    "BatchSummary",
    "EditJob",
    "EditResult",
    "ModelSpec",
    "VideoEditor",
    "check_job",
    "describe_summary",
    "edit_one",
    "is_done",
    "parse_shard",
    "read_jobs",
    "run_batch",
    "sidecar_path",
]
