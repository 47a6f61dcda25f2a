"""Checkpoints for exact resume: written whole or not at all, the newest K kept.

A checkpoint is a folder `<run>/checkpoints/step-00000500/` holding
    adapter.safetensors   the adapter at that step (`save_adapter`, with the resolved config)
    optimizer.bin, scheduler.bin, random_states_<rank>.pkl, ...
                          accelerate's `save_state` (under DeepSpeed: the engine's own files)
    trainer_state.json    step, data-order position and batch layout; written last

It is assembled in a hidden sibling `.step-00000500.partial/` and renamed into place by the
main process once every process has written its part, so a kill at any moment leaves either
the previous checkpoints alone or a complete new one (a stale `.partial` folder is ignored and
removed by the next save). The model's backbone is never written: accelerate's own model file
is suppressed by state hooks, because the adapter file already holds every trained weight.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from imvideoedit.atomic_write import atomic_write_text
from imvideoedit.errors import UserError

ADAPTER_FILE = "adapter.safetensors"
STATE_FILE = "trainer_state.json"
_NAME = re.compile(r"^step-(\d{8})$")


@dataclass
class TrainerState:
    step: int  # optimizer steps done
    position: int  # micro-batches consumed (the data order's position)
    num_processes: int
    micro_batch_size: int  # pairs per micro-batch over all processes
    accumulation: int
    seed: int
    dataset: str = ""  # hash of the pairs' cache entries, in order: a changed dataset is noticed


def checkpoint_root(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def complete_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (a folder counts once it has its trainer_state.json)."""
    root = checkpoint_root(run_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if _NAME.match(p.name) and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: p.name)


def newest_checkpoint(run_dir: Path) -> Path | None:
    found = complete_checkpoints(run_dir)
    return found[-1] if found else None


def read_trainer_state(checkpoint: Path) -> TrainerState:
    try:
        return TrainerState(**json.loads((checkpoint / STATE_FILE).read_text()))
    except (OSError, ValueError, TypeError) as error:  # a TypeError: unknown or missing keys
        raise UserError(f"unreadable checkpoint state {checkpoint / STATE_FILE}: {error}") from None


def install_state_hooks(accelerator) -> None:
    """Keep the frozen backbone out of accelerate's checkpoints (the adapter file has the weights)."""
    accelerator.register_save_state_pre_hook(lambda models, weights, output_dir: weights.clear())
    accelerator.register_load_state_pre_hook(lambda models, input_dir: models.clear())


def save_checkpoint(
    accelerator,
    write_adapter,
    run_dir: Path,
    state: TrainerState,
    keep: int,
) -> Path:
    """Write a checkpoint for `state.step` on every process; `write_adapter(path)` runs on the main one."""
    root = checkpoint_root(run_dir)
    name = f"step-{state.step:08d}"
    final, partial = root / name, root / f".{name}.partial"
    if accelerator.is_main_process:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
    accelerator.wait_for_everyone()

    extra = {"exclude_frozen_parameters": True} if uses_deepspeed(accelerator) else {}
    accelerator.save_state(str(partial), **extra)
    accelerator.wait_for_everyone()

    if accelerator.is_main_process:
        write_adapter(partial / ADAPTER_FILE)
        atomic_write_text(partial / STATE_FILE, json.dumps(asdict(state), indent=2))
        _fsync_tree(partial)
        old = root / f".{name}.old"
        if final.exists():  # the same step saved before (a resumed run re-saving): swap it out
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(partial, final)
        shutil.rmtree(old, ignore_errors=True)
        for old in complete_checkpoints(run_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator, checkpoint: Path) -> None:
    """Restore optimizer, scheduler, RNG (and DeepSpeed engine) state; adapter weights separately."""
    extra = {"load_module_strict": False} if uses_deepspeed(accelerator) else {}
    accelerator.load_state(str(checkpoint), **extra)


def uses_deepspeed(accelerator) -> bool:
    from accelerate.utils import DistributedType

    return accelerator.distributed_type == DistributedType.DEEPSPEED


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
