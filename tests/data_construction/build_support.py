"""Paths and small helpers shared by the data-construction tests."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "configs" / "data_build" / "tiny.toml"
DEFAULT_CONFIG = REPO / "configs" / "data_build" / "default.toml"


def jsonl_ids(path: Path) -> list[str]:
    """Every record id in a stage file, duplicates included (complete lines only)."""
    text = path.read_text()
    return [
        json.loads(line)["id"]
        for line in text.splitlines(keepends=True)
        if line.endswith("\n") and line.strip()
    ]


class CrashAfter:
    """Wraps a callable; raises `SimulatedCrash` on call number `calls + 1` and after."""

    def __init__(self, fn, calls: int) -> None:
        self.fn = fn
        self.calls_left = calls
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls > self.calls_left:
            raise SimulatedCrash(f"simulated crash on call {self.calls}")
        return self.fn(*args, **kwargs)


class SimulatedCrash(RuntimeError):
    pass


def crashing_pipeline(pipe, calls: int):
    """`pipe` behind a stand-in that raises `SimulatedCrash` from call `calls + 1` on.

    The stand-in's `__call__` carries the pipeline's signature, so the images stage's argument
    checks see the real pipeline.
    """
    import inspect

    signature = inspect.signature(pipe.__call__)
    state = {"calls": 0}

    class Crashing:
        def __call__(self, **kwargs):
            state["calls"] += 1
            if state["calls"] > calls:
                raise SimulatedCrash(f"simulated crash in pipeline call {state['calls']}")
            return pipe(**kwargs)

    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    Crashing.__call__.__signature__ = signature.replace(
        parameters=[self_parameter, *signature.parameters.values()]
    )
    return Crashing()


def build_prompts(config) -> None:
    """Run the scenes and prompts stages with the scripted models (no network)."""
    from scripted_models import fake_backend_answer

    from imvideoedit.data_construction.prompts import run_prompts
    from imvideoedit.data_construction.scenes import run_scenes
    from imvideoedit.vlm import FakeBackend

    run_scenes(config, backend=FakeBackend(fake_backend_answer))
    run_prompts(config, backend=FakeBackend(fake_backend_answer))
