"""Short version of the ablation: jobs run, resume by skipping, shard, and tabulate with CIs."""

from __future__ import annotations

import json

import pytest
import torch

from imvideoedit.errors import UserError
from imvideoedit.world.ablation import AblationPlan, collect, format_tables, mean_ci, run_ablation
from imvideoedit.world.proving_ground import AdapterRecipe


def test_mean_ci_uses_the_t_interval():
    mean, half = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.303 * 1.0 / 3**0.5, rel=1e-3)
    assert mean_ci([5.0]) == (5.0, 0.0)


def test_ablation_runs_resumes_and_tabulates(small_world_base, tmp_path):
    torch.set_num_threads(1)
    plan = AblationPlan(
        base=str(small_world_base),
        variants=("full", "no_gate"),
        seeds=(0, 1),
        pairs=8,
        heldout=3,
        recipe=AdapterRecipe(steps=2, batch_size=4),
        edit_steps=2,
    )
    out = tmp_path / "ablation"
    messages: list[str] = []
    run_ablation(plan, out, shard=(0, 2), log=messages.append)  # copy, no_gate-s0, no_gate-s1
    run_ablation(plan, out, shard=(1, 2), log=messages.append)  # full-s0, full-s1
    for name in ("copy", "full-s0", "full-s1", "no_gate-s0", "no_gate-s1"):
        rows = (out / name / "metrics.jsonl").read_text().splitlines()
        assert len(rows) == 3 and {"psnr", "ssim", "flicker", "trajectory_error"} <= set(json.loads(rows[0]))
    assert (out / "full-s0" / "per_frame.jsonl").exists() and not (
        out / "no_gate-s0" / "per_frame.jsonl"
    ).exists()

    before = (out / "full-s0" / "metrics.jsonl").stat().st_mtime_ns
    messages.clear()
    run_ablation(plan, out, log=messages.append)  # everything is done: nothing reruns
    assert all("done already" in m for m in messages) and len(messages) == 5
    assert (out / "full-s0" / "metrics.jsonl").stat().st_mtime_ns == before

    results = collect(out)
    assert set(results) == {"copy", "full", "no_gate", "per_frame"}
    assert len(results["full"].seeds) == 2 and len(results["per_frame"].seeds) == 2
    tables = format_tables(results)
    assert "| ImVideoEdit (full) | 2 |" in tables and "| w/o Text Gate | 2 |" in tables
    assert "| Copy the source | 1 |" in tables and "±" in tables
    assert "recolour" in tables  # the per-kind PSNR table

    with pytest.raises(UserError, match="another plan"):
        run_ablation(AblationPlan(base=str(small_world_base), pairs=9), out)
