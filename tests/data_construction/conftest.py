"""Fixtures for the data-construction tests: tiny pipelines on disk and tiny build configs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the helper modules beside the tests

from build_support import TINY_CONFIG  # noqa: E402


@pytest.fixture(scope="session")
def tiny_pipelines(tmp_path_factory) -> tuple[Path, Path]:
    """(t2i folder, edit folder): tiny random-weight diffusers pipelines, written once.

    Torch runs on one thread meanwhile: for models this small, more threads only spin, and on a
    busy machine they slow the tests down many times over.
    """
    import torch
    from tiny_pipelines import write_tiny_image_pipelines

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield write_tiny_image_pipelines(tmp_path_factory.mktemp("tiny-image-pipelines"))
    torch.set_num_threads(threads)


@pytest.fixture
def make_config(tmp_path):
    """make_config(*overrides) -> the tiny build config writing under tmp_path/build."""
    from imvideoedit.data_construction.config import load_build_config

    def make(*overrides: str):
        return load_build_config(TINY_CONFIG, [f"run.output_dir={tmp_path / 'build'}", *overrides])

    return make


@pytest.fixture(scope="session")
def built_pairs(tmp_path_factory, tiny_pipelines) -> Path:
    """A build folder whose scenes, prompts and images stages are done (scripted models, tiny pipelines)."""
    from build_support import build_prompts

    from imvideoedit.data_construction.config import load_build_config
    from imvideoedit.data_construction.images import run_images

    t2i, edit = tiny_pipelines
    root = tmp_path_factory.mktemp("built-pairs") / "build"
    config = load_build_config(
        TINY_CONFIG, [f"run.output_dir={root}", f"images.t2i_model={t2i}", f"images.edit_model={edit}"]
    )
    build_prompts(config)
    run_images(config)
    return root


@pytest.fixture
def pairs_config(tmp_path, built_pairs):
    """pairs_config(*overrides) -> a tiny config on a private copy of `built_pairs`."""
    import shutil

    from imvideoedit.data_construction.config import load_build_config

    root = tmp_path / "build"
    shutil.copytree(built_pairs, root)

    def make(*overrides: str):
        return load_build_config(TINY_CONFIG, [f"run.output_dir={root}", *overrides])

    return make
