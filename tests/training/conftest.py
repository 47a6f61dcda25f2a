"""Fixtures for the data and training tests: a tiny base, generated pair folders, configs.

Everything is built in code and small: 32x32 images (2x2 latent tokens per stream after
patching), the tiny random-weight Wan base, a handful of pairs. These functions reach the tests as
fixtures (never `import conftest`, which would clash with other test folders' conftest files).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SHARED_PAIRS = REPO / ".." / "shared" / "data" / "pairs"

PROMPTS = [
    "a red square on a blue floor, seen from above",
    "a green circle in front of a white wall",
    "a yellow triangle in a dark room",
    "a purple square on the grass at sunset",
]


def make_image(seed: int, size: tuple[int, int] = (32, 32)) -> Image.Image:
    """A smooth random colour pattern (width, height)."""
    rng = np.random.default_rng(seed)
    width, height = size
    coarse = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)


def edit_image(image: Image.Image) -> Image.Image:
    """The edit the tiny model learns: swap colour channels and mirror."""
    array = np.asarray(image)[:, ::-1, ::-1]
    return Image.fromarray(np.ascontiguousarray(array))


def write_pairs(folder: Path, count: int = 4, size: tuple[int, int] = (32, 32), prompts=None) -> Path:
    """A pair folder with `metadata.jsonl`: p0..p{count-1}, PNG source/target."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(count):
        source = make_image(index, size)
        source.save(folder / f"p{index}_source.png")
        edit_image(source).save(folder / f"p{index}_target.png")
        prompt = (prompts or PROMPTS)[index % len(prompts or PROMPTS)]
        rows.append(
            {
                "id": f"p{index}",
                "source": f"p{index}_source.png",
                "target": f"p{index}_target.png",
                "prompt": prompt,
            }
        )
    (folder / "metadata.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread; on a busy shared CPU, spinning OpenMP threads can
    slow each op a thousandfold. Subprocesses get OMP_NUM_THREADS=1 (see `cli_env`)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_base(tiny_base_dir) -> Path:
    """The session's tiny random-weight Wan base (tests/conftest.py writes it once)."""
    return tiny_base_dir


@pytest.fixture(scope="session")
def pair_folder(tmp_path_factory) -> Path:
    return write_pairs(tmp_path_factory.mktemp("pairs") / "pairs")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One latent cache for all runs on `pair_folder` (entries are content-keyed)."""
    return tmp_path_factory.mktemp("cache") / "latent_cache"


@pytest.fixture
def fresh_accelerate():
    """Each in-process training run starts from a clean accelerate singleton state."""
    from accelerate.state import AcceleratorState, GradientState

    def reset() -> None:
        AcceleratorState._reset_state(True)
        GradientState._reset_state()

    reset()  # whatever an earlier test in the session left behind
    yield
    reset()


def tiny_overrides(base: Path, data: Path, cache: Path, output: Path, **extra) -> list[str]:
    """`--set` style overrides turning configs/tiny_cpu.toml into a fast test run."""
    values = {
        "model.base": base,
        "data.path": data,
        "data.cache_dir": cache,
        "data.height": 32,
        "data.width": 32,
        "train.output_dir": output,
        "train.logger": "none",
        "validation.every_steps": 0,
    }
    values.update(extra)
    return [f"{key}={value}" for key, value in values.items()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_env() -> dict[str, str]:
    """Environment for `python -m imvideoedit` subprocesses: the package importable, quiet."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["TQDM_DISABLE"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture(scope="session")
def kit():
    """The functions above, as one namespace (the test kit)."""

    class Kit:
        repo = REPO
        shared_pairs = SHARED_PAIRS
        python = sys.executable
        prompts = PROMPTS

    for function in (make_image, edit_image, write_pairs, tiny_overrides, free_port, cli_env):
        setattr(Kit, function.__name__, staticmethod(function))
    return Kit
