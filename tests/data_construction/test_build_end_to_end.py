"""The whole build from the command line, against a misbehaving OpenAI-compatible server on
127.0.0.1 and tiny diffusers pipelines; and a build killed with SIGKILL, then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from build_support import TINY_CONFIG, jsonl_ids
from scripted_models import OpenAIServer

from imvideoedit.cli import main as cli_main
from imvideoedit.data.check import check_dataset
from imvideoedit.data_construction.config import load_build_config
from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.records import read_records
from imvideoedit.data_construction.scenes import plan_scenes


def _args(tmp_path, server, tiny_pipelines=None) -> list[str]:
    args = [
        "--set",
        f"run.output_dir={tmp_path / 'build'}",
        "--set",
        f"judge.base_url={server.base_url}",
        "--set",
        f"writer.base_url={server.base_url}",
    ]
    if tiny_pipelines:
        args += [
            "--set",
            f"images.t2i_model={tiny_pipelines[0]}",
            "--set",
            f"images.edit_model={tiny_pipelines[1]}",
        ]
    return args


def test_build_all_stages_from_the_cli_through_a_loopback_server(
    tmp_path, tiny_pipelines, capsys, monkeypatch
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    first_scene = plan_scenes(load_build_config(TINY_CONFIG))[0]
    with OpenAIServer(misbehave=True, never_valid=(first_scene.description,)) as server:
        args = _args(tmp_path, server, tiny_pipelines)
        assert cli_main(["data", "build", str(TINY_CONFIG), "--stage", "all", *args]) == 0
        out = capsys.readouterr().out
        # Every way of misbehaving happened, and was survived.
        assert set(server.requests) == {
            "valid",
            "prose",
            "fenced",
            "missing_key",
            "out_of_range",
            "http_429",
            "http_500",
            "garbage",
        }
        requests = sum(server.requests.values())
        assert cli_main(["data", "build", str(TINY_CONFIG), "--stage", "all", *args]) == 0
        assert sum(server.requests.values()) == requests, "a finished build asks nothing again"

    layout = BuildLayout(tmp_path / "build")
    scenes = {r["id"]: r for r in read_records(layout.scenes)}
    assert scenes[first_scene.id]["status"] == "failed"
    assert "no valid answer after 2 repair requests" in scenes[first_scene.id]["failure"]
    assert {r["status"] for r in scenes.values()} == {"accepted", "rejected", "failed"}
    for stage_file in (layout.scenes, layout.prompts, layout.images(), layout.filter):
        ids = jsonl_ids(stage_file)
        assert len(ids) == len(set(ids)), f"duplicates in {stage_file.name}"
    assert all(r["status"] == "ok" for r in read_records(layout.prompts))
    assert {r["status"] for r in read_records(layout.filter)} == {"scored"}
    for body in server.bodies:
        assert body["model"] in ("tiny-judge", "tiny-writer")
    dataset = tmp_path / "build" / "dataset"
    assert check_dataset(dataset).report.ok
    assert len((dataset / "metadata.jsonl").read_text().splitlines()) > 0
    assert "export: " in out and "scenes: " in out and (tmp_path / "build" / "build_config.json").is_file()


def test_build_cli_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[images]\nsteps = 4\n")
    assert cli_main(["data", "build", str(bad), "--stage", "scenes"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith("imvideoedit: error: unknown key(s) steps in [images]; valid keys:")
        and "\n" not in err
    )
    assert cli_main(["data", "build", str(TINY_CONFIG), "--stage", "scenes", "--shard", "0/2"]) == 2
    assert "only the images stage runs sharded" in capsys.readouterr().err
    # No server listening: retried, then a clear per-item failure (not a crash).
    args = [
        "--set",
        f"run.output_dir={tmp_path / 'b'}",
        "--set",
        "judge.base_url=http://127.0.0.1:9/v1",
        "--set",
        "judge.max_attempts=2",
        "--set",
        "scenes.max_environments=1",
        "--set",
        "scenes.scenes_per_environment=1",
    ]
    assert cli_main(["data", "build", str(TINY_CONFIG), "--stage", "scenes", *args]) == 0
    record = read_records(tmp_path / "b" / "scenes.jsonl")[0]
    assert record["status"] == "failed" and record["failure"].startswith(
        "server unreachable after 2 attempts"
    )


def test_build_killed_with_sigkill_resumes_without_duplicates(tmp_path):
    config = load_build_config(TINY_CONFIG, ["scenes.scenes_per_environment=5"])
    expected = {scene.id for scene in plan_scenes(config)}
    path = tmp_path / "build" / "scenes.jsonl"
    with OpenAIServer(misbehave=False, delay_s=0.25) as server:
        command = [
            sys.executable,
            "-m",
            "imvideoedit",
            "data",
            "build",
            str(TINY_CONFIG),
            "--stage",
            "scenes",
            "--set",
            "scenes.scenes_per_environment=5",
            *_args(tmp_path, server),
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (not path.exists() or len(jsonl_ids(path)) < 3):
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        killed_at = jsonl_ids(path)
        assert 3 <= len(killed_at) < len(expected)

        time.sleep(2 * server.delay_s)  # let the server finish answering the dead process's requests
        server.delay_s = 0.0
        asked_before = sum(server.requests.values())
        resumed = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
    ids = jsonl_ids(path)
    assert sorted(ids) == sorted(expected), "every scene exactly once"
    # The resumed run asked only about the scenes not yet recorded.
    assert sum(server.requests.values()) - asked_before == len(expected) - len(killed_at)
    assert f"{len(killed_at)} already done" in resumed.stdout
    for line in path.read_text().splitlines():
        json.loads(line)
