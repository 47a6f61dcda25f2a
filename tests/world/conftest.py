"""A small random-weight world base (the real architecture, tiny sizes), written once per session."""

from __future__ import annotations

import pytest

from imvideoedit.world.base_model import WorldModelConfig, build_world_components, save_world_base

SMALL = WorldModelConfig(
    dim_heads=2, head_dim=16, num_layers=2, ffn_dim=64, text_dim=32, text_layers=1, text_heads=2, text_ffn=32
)


@pytest.fixture(scope="session")
def small_world_base(tmp_path_factory):
    components = build_world_components(SMALL, seed=0)
    return save_world_base(components, tmp_path_factory.mktemp("world") / "base", {"command": "test"})


@pytest.fixture(scope="session")
def small_world_config() -> WorldModelConfig:
    return SMALL
