"""Stage 1: scene sampling, the judge's verdicts, failures recorded, and resuming after a crash."""

from __future__ import annotations

import json

import pytest
from build_support import CrashAfter, SimulatedCrash, jsonl_ids
from scripted_models import fake_backend_answer

from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.lists import parse_list
from imvideoedit.data_construction.scenes import parse_verdict, plan_scenes, run_scenes
from imvideoedit.errors import UserError
from imvideoedit.vlm import AnswerInvalid, FakeBackend, RateLimited


def test_build_scene_sampling_is_seeded_and_mixes_groups(make_config, tmp_path):
    config = make_config(
        "scenes.max_environments=5", "scenes.scenes_per_environment=4", "scenes.conditions_per_scene=3"
    )
    scenes = plan_scenes(config)
    assert len(scenes) == 20 and len({scene.id for scene in scenes}) == 20
    for scene in scenes:
        assert len(scene.conditions) == 3 and len(set(scene.condition_groups)) == 3
        assert scene.description.startswith(scene.environment + ", ")
    assert [s.id for s in plan_scenes(config)] == [s.id for s in scenes]
    assert [
        s.id
        for s in plan_scenes(
            make_config(
                "scenes.max_environments=5",
                "scenes.scenes_per_environment=4",
                "scenes.conditions_per_scene=3",
                "run.seed=1",
            )
        )
    ] != [s.id for s in scenes]
    # Another environment list: the environments both lists share keep their scenes.
    envs = tmp_path / "envs.txt"
    envs.write_text(
        "[mine]\na red barn in a field\n" + "\n".join(sorted({s.environment for s in scenes})) + "\n"
    )
    mine = plan_scenes(
        make_config(
            f"scenes.environments_file={envs}",
            "scenes.scenes_per_environment=4",
            "scenes.conditions_per_scene=3",
            "scenes.max_environments=none",
        )
    )
    assert {s.id for s in scenes} <= {s.id for s in mine}


def test_build_lists_parse_and_refuse_bad_lines(make_config, tmp_path):
    entries = parse_list("# c\n[a]\none\ntwo\n\n[b]\nthree\n", "x")
    assert [(e.text, e.group) for e in entries] == [("one", "a"), ("two", "a"), ("three", "b")]
    with pytest.raises(UserError, match="x:3: duplicate entry 'one'"):
        parse_list("one\ntwo\none\n", "x")
    with pytest.raises(UserError, match=r"x:1: a group heading looks like \[name\]"):
        parse_list("[oops\n", "x")
    conditions = tmp_path / "conditions.txt"
    conditions.write_text("[only]\nat dusk\n")
    with pytest.raises(UserError, match="has only 1 condition group"):
        plan_scenes(make_config(f"scenes.conditions_file={conditions}"))
    with pytest.raises(UserError, match="list file not found"):
        plan_scenes(make_config(f"scenes.environments_file={tmp_path / 'none.txt'}"))


def test_build_default_lists_cover_diverse_scenes(make_config):
    scenes = plan_scenes(make_config("scenes.max_environments=none"))
    groups = {scene.environment_group for scene in scenes}
    assert {"indoor", "outdoor nature", "urban", "people", "animals", "objects"} <= groups
    assert len({scene.environment for scene in scenes}) >= 80


def test_build_verdict_schema():
    verdict = parse_verdict(
        {"physically_plausible": True, "commonsense": False, "depictable": True, "reason": " no "}
    )
    assert not verdict.accepted and verdict.reason == "no"
    for bad in (
        {"physically_plausible": True, "commonsense": True, "depictable": True},
        {"physically_plausible": "yes", "commonsense": True, "depictable": True, "reason": "x"},
        {"physically_plausible": True, "commonsense": True, "depictable": True, "reason": ""},
    ):
        with pytest.raises(AnswerInvalid):
            parse_verdict(bad)


def test_build_scenes_records_verdicts_reasons_and_failures(make_config):
    config = make_config("judge.workers=1", "scenes.scenes_per_environment=4")
    scenes = plan_scenes(config)
    doomed = scenes[1].description

    def answer(messages):
        if doomed in messages[1].text:
            return "I'd rather not say."  # never valid, even after repair requests
        return fake_backend_answer(messages)

    summary = run_scenes(config, backend=FakeBackend(answer))
    records = BuildLayout(config.output_dir).scenes.read_text().splitlines()
    records = {r["id"]: r for r in map(json.loads, records)}
    assert len(records) == len(scenes) == summary.planned
    failed = records[scenes[1].id]
    assert failed["status"] == "failed" and "no valid answer after 2 repair requests" in failed["failure"]
    assert failed["model_calls"] == 3 and failed["last_answer"] == "I'd rather not say."
    rejected = [r for r in records.values() if r["status"] == "rejected"]
    accepted = [r for r in records.values() if r["status"] == "accepted"]
    assert rejected and accepted, "the scripted judge rejects about a fifth of the scenes"
    assert all(r["reason"] and r["verdict"]["physically_plausible"] is False for r in rejected)
    assert summary.statuses["failed"] == 1


def test_build_scenes_resume_after_crash_without_duplicates(make_config):
    config = make_config("judge.workers=2")
    scenes = plan_scenes(config)
    crashing = FakeBackend(CrashAfter(fake_backend_answer, calls=3))
    with pytest.raises(SimulatedCrash):
        run_scenes(config, backend=crashing)
    path = BuildLayout(config.output_dir).scenes
    done_before = jsonl_ids(path)
    assert 1 <= len(done_before) < len(scenes)

    working = FakeBackend(fake_backend_answer)
    summary = run_scenes(config, backend=working)
    ids = jsonl_ids(path)
    assert sorted(ids) == sorted(scene.id for scene in scenes), "every scene once, none twice"
    assert len(working.calls) == len(scenes) - len(done_before) == summary.done_now
    assert summary.already_done == len(done_before)

    again = FakeBackend([])  # a finished stage asks nothing
    assert run_scenes(config, backend=again).done_now == 0 and not again.calls


def test_build_scenes_rate_limits_are_retried_then_recorded(make_config):
    config = make_config(
        "judge.workers=1",
        "judge.max_attempts=3",
        "scenes.max_environments=1",
        "scenes.scenes_per_environment=1",
    )
    backend = FakeBackend([RateLimited("429", retry_after_s=0)] * 3)
    run_scenes(config, backend=backend)
    record = json.loads(BuildLayout(config.output_dir).scenes.read_text())
    assert record["status"] == "failed" and record["failure"].startswith("rate limited after 3 attempts")
    assert len(backend.calls) == 3
    # Failures are final unless retried on request.
    assert run_scenes(config, backend=FakeBackend([])).done_now == 0
    summary = run_scenes(config, backend=FakeBackend(fake_backend_answer), retry_failed=True)
    assert summary.done_now == 1
    latest = BuildLayout(config.output_dir).scenes.read_text().splitlines()
    assert len(latest) == 2 and json.loads(latest[-1])["status"] in ("accepted", "rejected")
