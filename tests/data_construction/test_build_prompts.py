"""Stage 2: task assignment by the configured mix, the writer's schema, failures and resuming."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from build_support import CrashAfter, SimulatedCrash, jsonl_ids
from scripted_models import fake_backend_answer

from imvideoedit.data.tasks import TASK_SLUGS
from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.prompts import assign_tasks, make_parser, run_prompts, writer_messages
from imvideoedit.data_construction.records import read_records
from imvideoedit.data_construction.scenes import run_scenes
from imvideoedit.vlm import AnswerInvalid, FakeBackend


def test_build_task_assignment_follows_the_mix(make_config):
    config = make_config("prompts.tasks_per_scene=3")
    drawn = [assign_tasks(0, f"scene-{i}", config.prompts) for i in range(600)]
    assert all(len(set(tasks)) == 3 for tasks in drawn)
    assert drawn[5] == assign_tasks(0, "scene-5", config.prompts)
    counts = Counter(task for tasks in drawn for task in tasks)
    assert set(counts) == set(TASK_SLUGS) and min(counts.values()) > 120  # uniform: 180 each on average

    skewed = make_config(
        "prompts.tasks_per_scene=1", "prompts.task_mix.relighting=9", "prompts.task_mix.object_removal=0"
    )
    counts = Counter(assign_tasks(0, f"scene-{i}", skewed.prompts)[0] for i in range(900))
    assert "object_removal" not in counts
    assert 0.4 < counts["relighting"] / 900 < 0.6  # weight 9 of 17


def test_build_writer_schema(make_config):
    parse = make_parser(make_config().prompts)
    good = {
        "source_prompt": "A small wooden table stands in a bright kitchen by the window",
        "edited_prompt": "A small marble table stands in a bright kitchen by the window",
        "instruction": "Turn the table into marble.",
    }
    texts = parse(good)
    assert texts.instruction == "Turn the table into marble."
    bad_cases = {
        "missing key": {k: v for k, v in good.items() if k != "instruction"},
        "not a string": {**good, "instruction": 3},
        "too short": {**good, "source_prompt": "A table."},
        "too long": {**good, "edited_prompt": "word " * 200},
        "unchanged": {**good, "edited_prompt": good["source_prompt"].upper()},
        "instruction only": {
            **good,
            "edited_prompt": "Turn the small wooden table by the window into white marble",
            "instruction": "Turn the small wooden table by the window into white marble.",
        },
        "long instruction": {**good, "instruction": "do " * 40},
    }
    for name, answer in bad_cases.items():
        with pytest.raises(AnswerInvalid):
            parse(answer)
            pytest.fail(f"accepted the {name} case")


def test_build_writer_prompt_names_the_task_and_asks_for_the_whole_scene(make_config):
    from imvideoedit.data_construction.prompts import PromptItem

    messages = writer_messages(
        PromptItem("s-relighting", "s", "a barn, at dusk", "relighting"), make_config().prompts
    )
    text = messages[1].text
    assert "Lighting & Relighting Reconstruction" in text and '"a barn, at dusk"' in text
    assert "Describe the whole scene again, not the change" in text


def _scenes(config):
    run_scenes(config, backend=FakeBackend(fake_backend_answer))
    return [r for r in read_records(BuildLayout(config.output_dir).scenes) if r["status"] == "accepted"]


def test_build_prompts_written_failed_and_resumed(make_config):
    config = make_config("writer.workers=2", "scenes.scenes_per_environment=3")
    accepted = _scenes(config)
    expected = len(accepted) * config.prompts.tasks_per_scene
    doomed = accepted[0]["description"]

    def answer(messages):
        if doomed in messages[1].text:
            return '{"source_prompt": "too short"}'
        return fake_backend_answer(messages)

    with pytest.raises(SimulatedCrash):
        run_prompts(config, backend=FakeBackend(CrashAfter(answer, calls=4)))
    path = BuildLayout(config.output_dir).prompts
    # With two workers the crash may reach the writer before any finished answer does.
    before = jsonl_ids(path) if path.exists() else []
    assert len(before) < expected

    summary = run_prompts(config, backend=FakeBackend(answer))
    ids = jsonl_ids(path)
    assert len(ids) == len(set(ids)) == expected == summary.planned
    records = {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}
    failed = [r for r in records.values() if r["status"] == "failed"]
    assert len(failed) == config.prompts.tasks_per_scene  # the doomed scene's tasks
    assert all("missing key(s): edited_prompt, instruction" in r["failure"] for r in failed)
    ok = [r for r in records.values() if r["status"] == "ok"]
    for record in ok:
        assert record["id"] == f"{record['scene_id']}-{record['task']}"
        assert record["edited_prompt"] != record["source_prompt"] and record["instruction"]
        assert record["writer"]["backend"] == "fake"
    assert run_prompts(config, backend=FakeBackend([])).done_now == 0
