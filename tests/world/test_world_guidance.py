"""The guidance benchmark runs end to end on a small base, on either fixed set of edits."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from benchmark_scripts import load_benchmark
from diffusers import WanTransformer3DModel

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.adapter_io import save_adapter
from imvideoedit.injection import attach_adapter
from imvideoedit.world.ablation import AblationPlan
from imvideoedit.world.pairs import heldout_edits
from imvideoedit.world.proving_ground import EDIT_GUIDANCE


def test_guidance_benchmark_prints_one_row_per_scale(small_world_base, tmp_path, monkeypatch, capsys):
    torch.set_num_threads(1)
    transformer = WanTransformer3DModel.from_pretrained(str(small_world_base / "transformer"))
    attach_adapter(transformer, AdapterConfig(variant="full"))
    adapter = save_adapter(transformer, tmp_path / "adapter.safetensors")
    argv = ["world_guidance.py", "--base", str(small_world_base), "--adapter", str(adapter)]
    argv += ["--set", "validation", "--heldout", "2", "--edit-steps", "2", "--scales", "1,1.5"]
    monkeypatch.setattr(sys, "argv", argv)
    load_benchmark("world_guidance").main()
    lines = capsys.readouterr().out.strip().splitlines()
    record = json.loads(lines[-1])
    assert list(record["psnr"]) == ["copy", "guidance 1", "guidance 1.5"]
    assert record["psnr"]["guidance 1"] != record["psnr"]["guidance 1.5"]  # the negative pass counts
    assert any(line.startswith("| guidance 1.5 |") for line in lines)


def test_bad_scales_are_one_line_errors(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["world_guidance.py", "--adapter", "x", "--scales", "1,two"])
    with pytest.raises(SystemExit) as exit_info:
        load_benchmark("world_guidance").main()
    assert exit_info.value.code == 2


def test_the_validation_set_is_not_the_held_out_set():
    from imvideoedit.world.pairs import VALIDATION_SEED

    heldout, validation = heldout_edits(100), heldout_edits(50, seed=VALIDATION_SEED)
    assert not {e.source for e in heldout} & {e.source for e in validation}
    assert [e.kind for e in validation] == [e.kind for e in heldout[:50]]  # every kind, in turn


def test_the_ablation_guides_away_from_the_source_caption_by_default():
    plan = AblationPlan(base="b")
    assert plan.guidance == EDIT_GUIDANCE > 1 and plan.negative == "source"
    with pytest.raises(ValueError, match="negative"):
        AblationPlan(base="b", negative="target")
