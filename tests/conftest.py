"""Fixtures shared by every test folder: the tiny base on disk and the shared real media."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def tiny_base_dir(tmp_path_factory) -> Path:
    """A complete tiny random-weight Wan base in diffusers layout, written once per session."""
    from imvideoedit.tiny_base import write_tiny_base

    return write_tiny_base(tmp_path_factory.mktemp("tiny-base") / "base", seed=0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`shared/data` beside the checkout (real videos and image pairs); skipped if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test media not found at {SHARED_DATA}")
    return SHARED_DATA
