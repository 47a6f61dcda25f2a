"""JSON extraction, answer validation, repairs and backoff, with the scripted fake backend."""

from __future__ import annotations

import pytest

from imvideoedit.eval.rubric import parse_judge_answer
from imvideoedit.vlm import (
    AnswerInvalid,
    BackendConfigError,
    BackendRequestRejected,
    BackendTimeout,
    FakeBackend,
    Message,
    RateLimited,
    RetryPolicy,
    ServerError,
    extract_json,
    structured_call,
)

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.002)


def ask(backend, **kwargs):
    return structured_call(backend, [Message.user("score it")], parse_judge_answer, retry=FAST, **kwargs)


def test_extract_json_plain_fenced_and_in_prose(answer):
    body = answer(1, 2, 3, 4)
    assert extract_json(body)["Scores"]["Visual_Fidelity"] == 3
    assert extract_json(f"```json\n{body}\n```")["Scores"]["Artifact_Absence"] == 4
    assert (
        extract_json(f"Sure! Here is my verdict:\n{body}\nHope this helps {{not json}}.")["Scores"][
            "Instruction_Adherence"
        ]
        == 1
    )
    assert extract_json(f"```\n{body}\n```")["Reasoning"]


@pytest.mark.parametrize("text", ["", "   ", "I cannot help with that.", "[1, 2, 3]", "{broken json"])
def test_extract_json_rejects_answers_without_an_object(text):
    with pytest.raises(AnswerInvalid):
        extract_json(text)


def test_valid_answer_is_accepted_on_the_first_call(answer):
    backend = FakeBackend([answer(21, 25, 18, 12)])
    result = ask(backend)
    assert result.ok and result.value.scores == {"IA": 21, "TC": 25, "VF": 18, "AA": 12}
    assert result.value.total == 76
    assert result.model_calls == 1 and result.repairs == 0


def test_fenced_and_prose_wrapped_answers_are_accepted(answer):
    backend = FakeBackend([f"```json\n{answer(5, 6, 7, 8)}\n```"])
    assert ask(backend).value.total == 26
    backend = FakeBackend([f"My analysis follows.\n{answer(30, 30, 25, 15)}\nThat is all."])
    assert ask(backend).value.total == 100


def test_out_of_range_score_is_repaired_not_clamped(answer):
    backend = FakeBackend([answer(31, 25, 18, 12), answer(30, 25, 18, 12)])
    result = ask(backend)
    assert result.value.scores["IA"] == 30
    assert result.repairs == 1
    repair_request = backend.calls[1][-1].text
    assert "Instruction_Adherence must be between 0 and 30, got 31" in repair_request
    assert backend.calls[1][-2].role == "assistant"  # the model sees its own bad answer


def test_missing_keys_wrong_types_and_order_are_named(answer):
    cases = [
        ('{"Reasoning": "x"}', "missing key: Scores"),
        (
            '{"Reasoning": "x", "Scores": {"Instruction_Adherence": 1, "Temporal_Consistency": 2, '
            '"Visual_Fidelity": 3}}',
            "Artifact_Absence is missing",
        ),
        (
            '{"Reasoning": "x", "Scores": {"Instruction_Adherence": 1.5, "Temporal_Consistency": 2, '
            '"Visual_Fidelity": 3, "Artifact_Absence": 4}}',
            "must be an integer",
        ),
        (
            '{"Reasoning": "x", "Scores": {"Instruction_Adherence": true, "Temporal_Consistency": 2, '
            '"Visual_Fidelity": 3, "Artifact_Absence": 4}}',
            "must be an integer",
        ),
        (
            '{"Reasoning": "x", "Scores": {"Instruction_Adherence": "7", "Temporal_Consistency": 2, '
            '"Visual_Fidelity": 3, "Artifact_Absence": 4}}',
            "must be an integer",
        ),
        (
            '{"Scores": {"Instruction_Adherence": 1, "Temporal_Consistency": 2, "Visual_Fidelity": 3, '
            '"Artifact_Absence": 4}, "Reasoning": "after the fact"}',
            "Reasoning must come before Scores",
        ),
        ('{"Reasoning": "", "Scores": {}}', "Reasoning must be a non-empty string"),
        (
            '{"Reasoning": "x", "Scores": {"Instruction_Adherence": -1, "Temporal_Consistency": 2, '
            '"Visual_Fidelity": 26, "Artifact_Absence": 4}}',
            "between 0 and 25, got 26",
        ),
    ]
    for text, reason in cases:
        with pytest.raises(AnswerInvalid, match=reason):
            parse_judge_answer(extract_json(text))


def test_key_spelling_is_matched_loosely_and_extra_keys_ignored():
    verdict = parse_judge_answer(
        {
            "reasoning": "ok",
            "scores": {
                "instruction adherence": 1,
                "TEMPORAL_CONSISTENCY": 2,
                "Visual-Fidelity": 3,
                "artifact_absence": 4,
                "Total": 999,
            },
        }
    )
    assert verdict.scores == {"IA": 1, "TC": 2, "VF": 3, "AA": 4} and verdict.total == 10
    twice = {"Instruction_Adherence": 20, "Instruction Adherence": 29, "TC": 1}
    with pytest.raises(AnswerInvalid, match="Instruction_Adherence is given 2 times"):
        parse_judge_answer({"Reasoning": "ok", "Scores": twice})


def test_refusal_is_missing_after_bounded_repairs():
    backend = FakeBackend(["I'm sorry, but I can't evaluate videos."] * 3)
    result = ask(backend, max_repairs=2)
    assert result.value is None and not result.ok
    assert result.model_calls == 3 and result.repairs == 2
    assert "no JSON object found" in result.failure and "after 2 repair requests" in result.failure
    assert len(backend.calls) == 3  # bounded: nothing after the last repair


def test_rate_limits_and_timeouts_are_retried_with_backoff(answer):
    sleeps: list[float] = []
    backend = FakeBackend([RateLimited("429", retry_after_s=None), BackendTimeout("slow"), answer()])
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=1.0, jitter=0.0)
    result = structured_call(
        backend, [Message.user("x")], parse_judge_answer, retry=policy, sleep=sleeps.append
    )
    assert result.ok
    assert sleeps == [0.01, 0.02]  # exponential
    assert result.model_calls == 1  # failed calls are not answers


def test_retry_after_header_wins_and_is_capped():
    policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=5.0, jitter=0.0)
    sleeps: list[float] = []
    backend = FakeBackend([RateLimited("429", retry_after_s=3.0), RateLimited("429", retry_after_s=3.0)])
    result = structured_call(
        backend, [Message.user("x")], parse_judge_answer, retry=policy, sleep=sleeps.append
    )
    assert sleeps == [3.0]
    assert result.value is None and result.failure.startswith("rate limited after 2 attempts")
    backend = FakeBackend([RateLimited("429", retry_after_s=100.0), RateLimited("429")])
    sleeps.clear()
    structured_call(backend, [Message.user("x")], parse_judge_answer, retry=policy, sleep=sleeps.append)
    assert sleeps == [5.0]


def test_server_errors_exhausting_retries_give_a_reason_not_a_score():
    backend = FakeBackend([ServerError("HTTP 500")] * 3)
    result = ask(backend)
    assert result.value is None
    assert result.failure.startswith("server error after 3 attempts")


def test_rejected_request_is_not_retried_and_config_errors_propagate(answer):
    backend = FakeBackend([BackendRequestRejected("HTTP 400: too large"), answer()])
    result = ask(backend)
    assert result.value is None and "request rejected" in result.failure
    assert len(backend.calls) == 1
    with pytest.raises(BackendConfigError):
        ask(FakeBackend([BackendConfigError("bad key")]))


def test_fake_backend_reports_running_out_of_script():
    backend = FakeBackend([])
    with pytest.raises(AssertionError, match="ran out"):
        backend.complete([Message.user("x")])
