"""The OpenAI-compatible backend and the judge against a loopback chat-completions server."""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imvideoedit.errors import UserError
from imvideoedit.eval.judge import JudgeRunConfig, run_judge
from imvideoedit.eval.judge_prompt import default_prompt
from imvideoedit.eval.rubric import parse_judge_answer
from imvideoedit.eval.spec import load_spec, parse_methods
from imvideoedit.vlm import (
    BackendConfigError,
    BackendTimeout,
    Message,
    RateLimited,
    RetryPolicy,
    ServerError,
    VideoPart,
    structured_call,
)
from imvideoedit.vlm.factory import BackendChoice, build_backend
from imvideoedit.vlm.openai_compat import OpenAICompatibleBackend, OpenAIConfig

SECRET = "sk-test-DO-NOT-LEAK-7f3a9c"
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.01)


def backend_for(server, *, timeout_s: float = 5.0, key: str | None = SECRET) -> OpenAICompatibleBackend:
    config = OpenAIConfig(
        model="judge-model",
        base_url=server.base_url,
        timeout_s=timeout_s,
        frames_per_video=3,
        image_max_side=32,
    )
    return OpenAICompatibleBackend(config, api_key=key)


def judge_once(backend, max_repairs: int = 2):
    video = VideoPart(np.zeros((4, 16, 16, 3), np.uint8), fps=8.0, label="clip")
    return structured_call(
        backend, [Message.user("Score this.", video)], parse_judge_answer, max_repairs=max_repairs, retry=FAST
    )


def test_request_carries_text_frames_as_images_model_and_key(chat_server, reply, answer):
    chat_server.script = [reply(answer())]
    frames = np.zeros((5, 20, 40, 3), np.uint8)
    frames[..., 0] = np.arange(5)[:, None, None] * 50  # a different red per frame
    backend = backend_for(chat_server)
    text = backend.complete(
        [
            Message.system("be strict"),
            Message.user("Judge:", VideoPart(frames, fps=10.0, label="edited video")),
        ]
    )
    assert json.loads(text)["Scores"]["Temporal_Consistency"] == 25
    request = chat_server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"
    body = request["body"]
    assert body["model"] == "judge-model" and body["temperature"] == 0.0
    assert body["messages"][0] == {"role": "system", "content": "be strict"}
    content = body["messages"][1]["content"]
    assert content[0] == {"type": "text", "text": "Judge:"}
    assert "edited video: 3 frames sampled evenly from 5 frames" in content[1]["text"]
    images = [part["image_url"]["url"] for part in content if part["type"] == "image_url"]
    assert len(images) == 3
    reds = []
    for url in images:
        assert url.startswith("data:image/jpeg;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        assert max(image.size) <= 32
        reds.append(int(np.asarray(image)[..., 0].mean()))
    assert reds[0] < 10 and abs(reds[1] - 100) < 10 and reds[2] > 190  # frames 0, 2, 4 in order


@pytest.mark.parametrize(
    "content",
    [
        "{answer}",
        "```json\n{answer}\n```",
        "After careful review of both clips, here is my assessment.\n{answer}\nLet me know if you need more.",
    ],
    ids=["plain", "fenced", "prose"],
)
def test_valid_answers_in_any_wrapping_are_scored(chat_server, reply, answer, content):
    chat_server.script = [reply(content.replace("{answer}", answer(11, 22, 13, 14)))]
    result = judge_once(backend_for(chat_server))
    assert result.value.scores == {"IA": 11, "TC": 22, "VF": 13, "AA": 14}
    assert len(chat_server.requests) == 1


def test_out_of_range_then_repaired(chat_server, reply, answer):
    chat_server.script = [reply(answer(40, 25, 18, 12)), reply(answer(28, 25, 18, 12))]
    result = judge_once(backend_for(chat_server))
    assert result.value.scores["IA"] == 28 and result.repairs == 1
    repair_messages = chat_server.requests[1]["body"]["messages"]
    assert repair_messages[-2] == {"role": "assistant", "content": answer(40, 25, 18, 12)}
    assert "between 0 and 30, got 40" in repair_messages[-1]["content"][0]["text"]


def test_missing_keys_every_time_is_recorded_missing(chat_server, reply):
    chat_server.script = [reply('{"Reasoning": "fine", "Scores": {"Instruction_Adherence": 3}}')] * 3
    result = judge_once(backend_for(chat_server), max_repairs=2)
    assert result.value is None
    assert "Temporal_Consistency is missing" in result.failure
    assert len(chat_server.requests) == 3


def test_refusal_is_recorded_missing(chat_server, reply):
    chat_server.script = [reply(refusal="I can't help with evaluating this content.")] * 2
    result = judge_once(backend_for(chat_server), max_repairs=1)
    assert result.value is None and "no JSON object found" in result.failure
    assert "I can't help" in result.answers[0]


def test_http_429_is_retried_honouring_retry_after(chat_server, reply, answer):
    chat_server.script = [reply(status=429, headers={"Retry-After": "0"}), reply(answer())]
    result = judge_once(backend_for(chat_server))
    assert result.ok and len(chat_server.requests) == 2
    chat_server.script = [reply(status=429, headers={"Retry-After": "0"})]
    with pytest.raises(RateLimited):
        backend_for(chat_server).complete([Message.user("x")])


def test_http_500_is_retried_then_given_up(chat_server, reply, answer):
    chat_server.script = [reply(status=500), reply(answer())]
    assert judge_once(backend_for(chat_server)).ok
    chat_server.script = [reply(status=500, body=b"upstream exploded")] * 3
    result = judge_once(backend_for(chat_server))
    assert result.value is None
    assert result.failure.startswith("server error after 3 attempts: HTTP 500")
    with pytest.raises(ServerError):
        chat_server.script = [reply(status=200, body=b"<html>not json</html>")]
        backend_for(chat_server).complete([Message.user("x")])


def test_timeouts_are_retried(chat_server, reply, answer):
    chat_server.script = [reply(answer(), delay_s=1.0), reply(answer(1, 2, 3, 4))]
    result = judge_once(backend_for(chat_server, timeout_s=0.2))
    assert result.value.total == 10
    chat_server.script = [reply(answer(), delay_s=1.0)]
    with pytest.raises(BackendTimeout):
        backend_for(chat_server, timeout_s=0.2).complete([Message.user("x")])


def test_auth_failure_stops_the_run_with_a_user_error(chat_server, reply):
    chat_server.script = [reply(status=401, body=json.dumps({"error": f"bad key {SECRET}"}).encode())]
    with pytest.raises(BackendConfigError) as caught:
        judge_once(backend_for(chat_server))
    assert isinstance(caught.value, UserError)
    assert SECRET not in str(caught.value)


def test_server_echoing_the_key_is_scrubbed(chat_server, reply):
    chat_server.script = [reply(status=400, body=f"invalid request for key {SECRET}".encode())]
    result = judge_once(backend_for(chat_server))
    assert result.value is None and "HTTP 400" in result.failure and SECRET not in result.failure


def test_factory_reads_the_key_from_the_environment_only(chat_server):
    env = {"OPENAI_API_KEY": SECRET}
    backend = build_backend(BackendChoice("openai", model="m", base_url=chat_server.base_url), env=env)
    assert SECRET not in repr(backend) and SECRET not in json.dumps(backend.identity())
    with pytest.raises(BackendConfigError, match="OPENAI_API_KEY is not set"):
        build_backend(BackendChoice("openai", model="m", base_url="https://api.example.com/v1"), env={})
    with pytest.raises(BackendConfigError, match="--model"):
        build_backend(BackendChoice("openai", base_url=chat_server.base_url), env={})
    with pytest.raises(BackendConfigError, match="GEMINI_API_KEY"):
        build_backend(BackendChoice("gemini", model="gemini-2.5-pro"), env={})


def test_judge_run_over_a_benchmark_never_leaks_the_key(
    chat_server, reply, answer, tiny_benchmark, caplog, capsys
):
    """429s, 500s, a refusal and a repair along the way; then every output is searched for the key."""
    state = {"calls": 0}

    def script(body):
        state["calls"] += 1
        n = state["calls"]
        if n % 5 == 1:
            return reply(
                status=429, headers={"Retry-After": "0"}, body=f'{{"error": "slow down {SECRET}"}}'.encode()
            )
        if n % 5 == 2:
            return reply(status=500)
        if n % 7 == 3:
            return reply(refusal="I cannot do that.")
        return reply(answer(20, 20, 20, 10))

    chat_server.script = script
    caplog.set_level(logging.DEBUG)
    out = tiny_benchmark["root"] / "out"
    cases = load_spec(tiny_benchmark["spec"])
    methods = parse_methods([f"good={tiny_benchmark['good']}", f"partial={tiny_benchmark['partial']}"])
    config = JudgeRunConfig(
        max_repairs=2, retry=RetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.01), concurrency=2
    )
    results = run_judge(cases, methods, backend_for(chat_server), default_prompt(), config, out)
    assert [r.status for r in results["good"]] == ["scored"] * 3
    partial = {r.case_id: r for r in results["partial"]}
    assert partial["c3"].status == "missing" and "no edited video" in partial["c3"].failure
    assert partial["c3"].scores is None and partial["c3"].total is None
    captured = capsys.readouterr()
    texts = [caplog.text, captured.out, captured.err]
    texts += [path.read_text() for path in out.rglob("*") if path.is_file()]
    assert all(SECRET not in text for text in texts)
    assert "retry" in caplog.text  # the backoff did happen and was logged


def test_judge_uses_the_cache_and_retries_only_missing_items(chat_server, reply, answer, tiny_benchmark):
    cases = load_spec(tiny_benchmark["spec"])
    methods = parse_methods([f"good={tiny_benchmark['good']}"])
    out = tiny_benchmark["root"] / "out"
    config = JudgeRunConfig(max_repairs=0, retry=FAST, concurrency=1)
    # First run: c2's answer is invalid (no repairs allowed), so it is missing.
    chat_server.script = lambda body: reply(
        "no scores today" if "snow" in json.dumps(body) else answer(10, 10, 10, 10)
    )
    first = run_judge(cases, methods, backend_for(chat_server), default_prompt(), config, out)["good"]
    assert [r.status for r in first] == ["scored", "missing", "scored"]
    assert first[1].failure.startswith("invalid answer: no JSON object found")
    run = json.loads((out / "judge" / "run.json").read_text())
    assert run["coverage"]["good"] == {"items": 3, "scored": 2, "missing": 1, "coverage": 2 / 3}
    # Second run: only c2 is asked again.
    calls_before = len(chat_server.requests)
    chat_server.script = lambda body: reply(answer(1, 1, 1, 1))
    second = run_judge(cases, methods, backend_for(chat_server), default_prompt(), config, out)["good"]
    assert len(chat_server.requests) == calls_before + 1
    assert [r.cached for r in second] == [True, False, True]
    assert [r.total for r in second] == [40, 4, 40]
    # A different prompt version is a different cache key: everything is asked again.
    from imvideoedit.eval.judge_prompt import JudgePrompt

    other = JudgePrompt(default_prompt().template + "\n", "test")
    assert other.version != default_prompt().version
    third = run_judge(cases, methods, backend_for(chat_server), other, config, out)["good"]
    assert len(chat_server.requests) == calls_before + 4
    assert all(r.prompt_version == other.version for r in third)
    lines = [json.loads(line) for line in (out / "judge" / "good.jsonl").read_text().splitlines()]
    assert [line["case_id"] for line in lines] == ["c1", "c2", "c3"]
    assert all(line["judge"]["model"] == "judge-model" for line in lines)


def test_unreadable_edit_is_missing_not_fatal(chat_server, reply, answer, tiny_benchmark):
    (tiny_benchmark["good"] / "c1.mp4").write_bytes(b"this is not a video")
    chat_server.script = lambda body: reply(answer())
    cases = load_spec(tiny_benchmark["spec"])
    methods = parse_methods([f"good={tiny_benchmark['good']}"])
    records = run_judge(
        cases,
        methods,
        backend_for(chat_server),
        default_prompt(),
        JudgeRunConfig(retry=FAST, concurrency=1),
        Path(tiny_benchmark["root"]) / "out",
    )["good"]
    assert records[0].status == "missing" and records[0].failure.startswith("unreadable video")
    assert [r.status for r in records[1:]] == ["scored", "scored"]


def test_json_mode_and_server_default_temperature_shape_the_request():
    config = OpenAIConfig(
        model="m", base_url="http://127.0.0.1:9/v1", temperature=None, max_tokens=300, json_mode=True
    )
    body = OpenAICompatibleBackend(config).request_body([Message.user("hi")])
    assert body["response_format"] == {"type": "json_object"} and body["max_tokens"] == 300
    assert "temperature" not in body
