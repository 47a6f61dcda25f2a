"""Parameter counts on the real Wan2.1 configs (meta device) equal docs/adapter.md's formulas."""

from __future__ import annotations

import pytest

from imvideoedit import AdapterConfig
from imvideoedit.param_report import build_meta_transformer, count_parameters

D = 1536
BLOCKS = 30
FULL_MODE = {
    "full": 15 * D * D + 25 * D,
    "no_gate": 9 * D * D + 15 * D,
    "no_update": 5 * D * D + 7 * D,
    "parallel": 8 * D * D + 12 * D,
}
LINEARS = {"full": 15, "no_gate": 9, "no_update": 5, "parallel": 8}
NORM_PARAMS = {"full": 10 * D, "no_gate": 6 * D, "no_update": 2 * D, "parallel": 4 * D}


@pytest.mark.parametrize("variant", list(FULL_MODE))
def test_full_mode_counts_match_formulas(variant):
    counts = count_parameters(build_meta_transformer("wan2.1-t2v-1.3b"), AdapterConfig(variant=variant))
    assert counts.per_block_trainable == FULL_MODE[variant]
    assert counts.trainable == BLOCKS * FULL_MODE[variant]
    assert counts.adapter_total == counts.trainable


def test_full_variant_is_about_as_large_as_the_backbone():
    counts = count_parameters(build_meta_transformer("wan2.1-t2v-1.3b"), AdapterConfig())
    assert counts.trainable == 1_062_835_200
    assert counts.backbone == 1_418_996_800  # Wan2.1-T2V-1.3B's transformer


@pytest.mark.parametrize("rank", [32, 8])
@pytest.mark.parametrize("variant", list(FULL_MODE))
def test_lora_mode_counts_match_formulas(variant, rank):
    config = AdapterConfig(variant=variant, mode="lora", lora_rank=rank)
    counts = count_parameters(build_meta_transformer("wan2.1-t2v-1.3b"), config)
    assert counts.per_block_trainable == LINEARS[variant] * 2 * rank * D + NORM_PARAMS[variant]
    assert counts.adapter_total == BLOCKS * (FULL_MODE[variant] + LINEARS[variant] * 2 * rank * D)


def test_14b_config_attaches_on_meta():
    counts = count_parameters(build_meta_transformer("wan2.1-t2v-14b"), AdapterConfig())
    assert counts.per_block_trainable == 15 * 5120 * 5120 + 25 * 5120
    assert counts.num_blocks == 40
