"""`imvideoedit eval ...` end to end on tiny MP4s, with the judge served from loopback."""

from __future__ import annotations

import json

import pytest

from imvideoedit.cli import main
from imvideoedit.eval.judge_prompt import load_prompt

SECRET = "sk-cli-secret-4242"


def test_judge_metrics_report_agreement(
    tiny_benchmark, chat_server, reply, answer, monkeypatch, capsys, tmp_path
):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    calls = {"n": 0}

    def script(body):
        calls["n"] += 1
        if calls["n"] == 2:
            return reply(status=429, headers={"Retry-After": "0"})
        return reply(f"Here you go:\n```json\n{answer(20, 24, 18, 11)}\n```")

    chat_server.script = script
    out = tiny_benchmark["root"] / "results"
    prompt_file = tmp_path / "paper_prompt.txt"
    prompt_file.write_text(
        'Original Video: {source_video}\nEdited Video: {edited_video}\nInstruction: "{instruction}"\n'
        "Answer as JSON with Reasoning first, then Scores."
    )
    benchmark = [
        "--spec",
        str(tiny_benchmark["spec"]),
        "--method",
        f"good={tiny_benchmark['good']}",
        "--method",
        f"partial={tiny_benchmark['partial']}",
        "--out",
        str(out),
    ]
    code = main(
        [
            "eval",
            "judge",
            *benchmark,
            "--backend",
            "openai",
            "--model",
            "judge-m",
            "--base-url",
            chat_server.base_url,
            "--backoff",
            "0.001",
            "--max-backoff",
            "0.01",
            "--concurrency",
            "2",
            "--frames",
            "2",
            "--prompt-file",
            str(prompt_file),
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "good: 3/3 scored (100.0% coverage)" in printed.out
    assert "partial: 2/3 scored (66.7% coverage)" in printed.out
    run = json.loads((out / "judge" / "run.json").read_text())
    assert run["prompt_version"] == load_prompt(prompt_file).version and run["prompt_origin"] == str(
        prompt_file
    )
    first_request = chat_server.requests[0]["body"]["messages"][0]["content"]
    assert first_request[0]["text"] == "Original Video:"
    assert sum(part["type"] == "image_url" for part in first_request) == 4  # 2 frames x 2 videos

    assert main(["eval", "metrics", *benchmark, "--max-side", "48"]) == 0
    printed_metrics = capsys.readouterr().out
    assert "subject_consistency: unavailable" in printed_metrics
    assert "partial/c3: missing" in printed_metrics

    assert (
        main(
            [
                "eval",
                "report",
                "--spec",
                str(tiny_benchmark["spec"]),
                "--out",
                str(out),
                "--published",
                "imvideoedit",
                "--published",
                "vace-1.3b",
            ]
        )
        == 0
    )
    report_out = capsys.readouterr().out
    assert "| measured | good | 73.0 |" in report_out  # 20 + 24 + 18 + 11 on every case
    report = (out / "report" / "report.md").read_text()
    assert "| published | VACE (1.3B) |" in report and "| source | 3/3 |" in report
    for name in (
        "task_totals.csv",
        "dimensions.csv",
        "per_task.csv",
        "coverage.csv",
        "metrics.csv",
        "vbench_published.csv",
        "task_totals.png",
    ):
        assert (out / "report" / name).is_file(), name
    everything = printed.out + printed.err + printed_metrics + report_out
    everything += "".join(
        p.read_text(errors="replace")
        for p in out.rglob("*")
        if p.suffix in (".json", ".jsonl", ".md", ".csv")
    )
    assert SECRET not in everything

    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(
        "".join(json.dumps({"id": str(i), "score": s}) + "\n" for i, s in enumerate([2, 7, 8, 5, 9]))
    )
    second.write_text(
        "".join(json.dumps({"id": str(i), "score": s}) + "\n" for i, s in enumerate([3, 6, 4, 6, 9]))
    )
    assert main(["eval", "agreement", str(first), str(second), "--out", str(tmp_path / "agree.json")]) == 0
    agreement_out = capsys.readouterr().out
    assert (
        "pearson (raw scores): 0.681" in agreement_out and "MAE (binarised at >= 6): 0.400" in agreement_out
    )
    assert json.loads((tmp_path / "agree.json").read_text())["variance"] == pytest.approx(0.24)


def test_bad_input_is_one_line_and_non_zero(tiny_benchmark, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cases = [
        (
            [
                "eval",
                "metrics",
                "--spec",
                str(tmp_path / "none.jsonl"),
                "--method",
                f"a={tmp_path}",
                "--out",
                str(tmp_path),
            ],
            "benchmark spec not found",
        ),
        (
            [
                "eval",
                "judge",
                "--spec",
                str(tiny_benchmark["spec"]),
                "--method",
                f"a={tmp_path / 'nope'}",
                "--out",
                str(tmp_path),
                "--backend",
                "openai",
                "--model",
                "m",
            ],
            "folder not found",
        ),
        (
            [
                "eval",
                "judge",
                "--spec",
                str(tiny_benchmark["spec"]),
                "--method",
                f"a={tmp_path}",
                "--out",
                str(tmp_path),
                "--backend",
                "openai",
                "--model",
                "m",
                "--base-url",
                "https://api.example.com/v1",
            ],
            "OPENAI_API_KEY is not set",
        ),
        (
            [
                "eval",
                "judge",
                "--spec",
                str(tiny_benchmark["spec"]),
                "--method",
                f"a={tmp_path}",
                "--out",
                str(tmp_path),
                "--backend",
                "local",
                "--model",
                str(tmp_path / "no-model"),
            ],
            "local VLM folder not found",
        ),
        (
            ["eval", "report", "--spec", str(tiny_benchmark["spec"]), "--out", str(tmp_path / "empty")],
            "nothing to report",
        ),
        (
            ["eval", "agreement", str(tmp_path / "x.jsonl"), str(tmp_path / "y.jsonl")],
            "results file not found",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_nonsense_numbers_and_files_are_refused_before_any_work(tiny_benchmark, tmp_path, capsys):
    judge = [
        "eval",
        "judge",
        "--spec",
        str(tiny_benchmark["spec"]),
        "--method",
        f"a={tiny_benchmark['good']}",
    ]
    judge += ["--out", str(tmp_path / "out"), "--backend", "openai", "--model", "m"]
    for flag, value in [("--frames", "0"), ("--timeout", "0"), ("--temperature", "-1"), ("--frames", "-3")]:
        with pytest.raises(SystemExit) as stop:
            main([*judge, flag, value])
        assert stop.value.code == 2
        assert "Traceback" not in capsys.readouterr().err

    (tmp_path / "afile").write_text("")
    metrics = [
        "eval",
        "metrics",
        "--spec",
        str(tiny_benchmark["spec"]),
        "--method",
        f"a={tiny_benchmark['good']}",
    ]
    assert main([*metrics, "--out", str(tmp_path / "afile")]) == 2
    assert "is a file, not a results folder" in capsys.readouterr().err
    (tmp_path / "latin1.jsonl").write_bytes(b"\xff\xfe bad")
    assert (
        main([*metrics[:2], "--spec", str(tmp_path / "latin1.jsonl"), *metrics[4:], "--out", str(tmp_path)])
        == 2
    )
    assert "is not UTF-8 text" in capsys.readouterr().err
