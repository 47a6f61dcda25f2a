"""Where a resumable world run stands, kept the same way by every world trainer (the base's
and the VAE's): its random streams, its step, the time spent and the config it runs with.

A trainer's state file is these entries plus its own weights and optimizer, written atomically,
so that a killed run resumes on the same draws and reaches the same weights.
"""

from __future__ import annotations

import os
from dataclasses import asdict

import numpy as np
import torch

from imvideoedit.atomic_write import atomic_path


def progress(rng: np.random.Generator, generator: torch.Generator, step: int, elapsed: float, config) -> dict:
    """The state entries a run's progress needs (`config`: a dataclass, saved as a dict)."""
    return {
        "numpy_rng": rng.bit_generator.state,
        "torch_rng": generator.get_state(),
        "step": step,
        "elapsed": elapsed,
        "config": asdict(config),
    }


def restore_progress(
    state: dict, rng: np.random.Generator, generator: torch.Generator, log=print
) -> tuple[int, float]:
    """Put a saved run's random streams back in place; returns (step, seconds spent)."""
    rng.bit_generator.state = state["numpy_rng"]
    generator.set_state(state["torch_rng"])
    step, elapsed = state["step"], state["elapsed"]
    log(f"resumed at step {step} ({elapsed / 60:.1f} min done)")
    return step, elapsed


def save_state(path: str | os.PathLike, state: dict) -> None:
    """Write a run's state file whole or not at all (a kill mid-write keeps the previous one)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
