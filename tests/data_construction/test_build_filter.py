"""Stage 4: the pair judge sees both images and the texts; scores, threshold, failures, resume."""

from __future__ import annotations

import json

import pytest
from build_support import CrashAfter, SimulatedCrash, jsonl_ids
from scripted_models import fake_backend_answer

from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.pair_filter import judge_accepts, parse_scores, run_filter
from imvideoedit.data_construction.records import read_records
from imvideoedit.vlm import AnswerInvalid, FakeBackend, ImagePart


def test_build_score_schema():
    scores = parse_scores(
        {"instruction_faithfulness": 7.0, "visual_quality": 6, "unedited_consistency": 10, "reason": "ok"}
    )
    assert scores.as_dict() == {
        "instruction_faithfulness": 7,
        "visual_quality": 6,
        "unedited_consistency": 10,
    }
    for bad in (
        {"instruction_faithfulness": 7, "visual_quality": 6, "reason": "x"},
        {"instruction_faithfulness": 11, "visual_quality": 6, "unedited_consistency": 1, "reason": "x"},
        {"instruction_faithfulness": 6.5, "visual_quality": 6, "unedited_consistency": 1, "reason": "x"},
        {"instruction_faithfulness": True, "visual_quality": 6, "unedited_consistency": 1, "reason": "x"},
        {"instruction_faithfulness": "7", "visual_quality": 6, "unedited_consistency": 1, "reason": "x"},
    ):
        with pytest.raises(AnswerInvalid):
            parse_scores(bad)
    record = {"status": "scored", "scores": scores.as_dict()}
    assert judge_accepts(record, 6) is True and judge_accepts(record, 7) is False
    assert judge_accepts({"status": "failed"}, 6) is None and judge_accepts(None, 6) is None


def test_build_filter_scores_every_pair_with_both_images(pairs_config):
    config = pairs_config("judge.workers=2")
    layout = BuildLayout(config.output_dir)
    pairs = read_records(layout.images())
    backend = FakeBackend(fake_backend_answer)
    summary = run_filter(config, backend=backend)
    assert summary.done_now == len(pairs) == len(backend.calls)
    for messages in backend.calls:
        images = [part for part in messages[1].parts if isinstance(part, ImagePart)]
        assert len(images) == 2 and images[0].image.size == (32, 32)
        assert "Instruction given to the editor" in messages[1].text
    records = {r["id"]: r for r in read_records(layout.filter)}
    assert {r["status"] for r in records.values()} == {"scored"}
    verdicts = [judge_accepts(r, 6) for r in records.values()]
    assert True in verdicts and False in verdicts  # the scripted judge fails about a quarter
    assert any("pass threshold 6" in note for note in summary.notes)


def test_build_filter_resume_after_crash_and_record_failures(pairs_config):
    config = pairs_config("judge.workers=2", "judge.max_repairs=1")
    layout = BuildLayout(config.output_dir)
    pairs = [r["id"] for r in read_records(layout.images())]
    with pytest.raises(SimulatedCrash):
        run_filter(config, backend=FakeBackend(CrashAfter(fake_backend_answer, calls=2)))
    assert 1 <= len(jsonl_ids(layout.filter)) < len(pairs)

    doomed = next(r for r in read_records(layout.prompts) if r["id"] == pairs[-1])

    def out_of_range_for_one_pair(messages):
        answer = json.loads(fake_backend_answer(messages))
        text = messages[1].text
        if doomed["instruction"] in text and doomed["source_prompt"] in text:
            answer["visual_quality"] = 12
        return json.dumps(answer)

    run_filter(config, backend=FakeBackend(out_of_range_for_one_pair))
    assert sorted(jsonl_ids(layout.filter)) == sorted(pairs), "every pair once, none twice"
    failed = [r for r in read_records(layout.filter) if r["status"] == "failed"]
    assert [r["id"] for r in failed] == [doomed["id"]]
    assert "visual_quality must be within 0..10, got 12" in failed[0]["failure"]
    assert failed[0]["model_calls"] == 2 and failed[0]["repairs"] == 1
