"""`imvideoedit edit`: bad input handling, batches that fail, get sharded, get killed and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from imvideoedit.cli import main
from imvideoedit.video_editing import EditJob, is_done, parse_shard, select_shard

SMALL = ["--steps", "2", "--height", "32", "--num-frames", "5", "--no-progress"]


def _models(tiny_base_dir: Path, adapter: Path) -> list[str]:
    return ["--base", str(tiny_base_dir), "--adapter", str(adapter)]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("imvideoedit: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("media", "extra", "message"),
    [
        ("missing", [], "video not found"),
        ("not_a_video", [], "not a video file"),
        ("truncated_no_index", [], "truncated or corrupt"),
        ("truncated_frames", [], "truncated"),
        ("zero_frames_mp4", [], "no frames"),
        ("one_frame", [], "1 frame; at least 2"),
        ("audio_only", [], "audio-only"),
        ("kitten", ["--max-pixels", "4096", "--height", "96", "--width", "96"], "beyond the pixel budget"),
        ("kitten_no_size", ["--max-pixels", "4096"], "beyond the pixel budget"),
        ("kitten_empty_prompt", [], "prompt is empty"),
        ("kitten_other_base", [], "made for another base"),
        ("kitten", ["--model-fps", "0"], "model frame rate must be a number in (0, 240]"),
        ("kitten", ["--model-fps", "nan"], "model frame rate must be a number"),
        ("kitten", ["--fps", "inf"], "output fps must be"),
        ("kitten", ["--fps", "100000"], "output fps must be"),
        ("kitten", ["--guidance", "0.5"], "guidance must be a finite number >= 1"),
        ("kitten", ["--seed", "99999999999999999999"], "seed must be an integer in [0, 2**63)"),
        ("kitten", ["--crf", "99"], "crf must be an integer in 0..51"),
        ("kitten", ["--num-frames", "1"], "num_frames must be 4k+1"),
        ("kitten", ["--device", "foo"], "unknown device 'foo'"),
    ],
)
def test_bad_input_gets_one_line_and_no_output(
    capsys,
    tmp_path,
    shared_data,
    bad_media,
    tiny_base_dir,
    random_adapter,
    other_base_adapter,
    media,
    extra,
    message,
):
    kitten = shared_data / "videos" / "kitten.mp4"
    source = {"missing": tmp_path / "missing.mp4"}.get(media) or bad_media.get(media) or kitten
    prompt = "   " if media == "kitten_empty_prompt" else "a cat on the grass"
    adapter = other_base_adapter if media == "kitten_other_base" else random_adapter
    sizes = ["--steps", "2", "--no-progress"] if media == "kitten_no_size" else SMALL
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = main(
        [
            "edit",
            *_models(tiny_base_dir, adapter),
            str(source),
            prompt,
            "-o",
            str(out_dir / "edit.mp4"),
            *sizes,
            *extra,
        ]
    )
    assert code == 2
    assert message in _one_line_error(capsys)
    assert list(out_dir.iterdir()) == []  # no video, no sidecar, no temporary file


def test_cli_edit_downscales_on_request(capsys, tmp_path, shared_data, tiny_base_dir, random_adapter):
    output = tmp_path / "small.mp4"
    code = main(
        [
            "edit",
            *_models(tiny_base_dir, random_adapter),
            str(shared_data / "videos" / "kitten.mp4"),
            "a cat",
            "-o",
            str(output),
            "--steps",
            "1",
            "--num-frames",
            "5",
            "--no-progress",
            "--max-pixels",
            "4096",
            "--downscale",
            "--fps",
            "model",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "wrote" in capsys.readouterr().out
    with av.open(str(output)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 64)
    sidecar = json.loads(output.with_suffix(".json").read_text())
    assert sidecar["clip_spec"]["downscale"] is True and sidecar["written"]["fps"] == 16.0


def test_cli_error_in_a_real_process(tmp_path, tiny_base_dir, random_adapter):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "imvideoedit",
            "edit",
            *_models(tiny_base_dir, random_adapter),
            str(tmp_path / "nope.mp4"),
            "a cat",
            "-o",
            str(tmp_path / "out.mp4"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"imvideoedit: error: video not found: {tmp_path / 'nope.mp4'}"
    ]
    assert not (tmp_path / "out.mp4").exists()


def _write_jobs(path: Path, entries: list[dict]) -> Path:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return path


def _results(out_dir: Path, name: str = "results.jsonl") -> list[dict]:
    return [json.loads(line) for line in (out_dir / name).read_text().splitlines()]


def test_batch_records_a_failing_job_and_goes_on(
    capsys, tmp_path, shared_data, bad_media, tiny_base_dir, random_adapter
):
    videos = shared_data / "videos"
    jobs = _write_jobs(
        tmp_path / "jobs.jsonl",
        [
            {"id": "kitten", "input": str(videos / "kitten.mp4"), "prompt": "a cat in the snow"},
            {"id": "broken", "input": str(bad_media["truncated_no_index"]), "prompt": "a cat"},
            {
                "id": "wolf",
                "input": str(videos / "wolf.mp4"),
                "prompt": "a robot wolf",
                "seed": 3,
                "fps": "model",
            },
        ],
    )
    out_dir = tmp_path / "out"
    code = main(
        [
            "edit",
            *_models(tiny_base_dir, random_adapter),
            "--jobs",
            str(jobs),
            "--out-dir",
            str(out_dir),
            *SMALL,
        ]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert "2 edited, 0 already done, 1 failed of 3 jobs" in captured.out
    assert "failed: broken: video is truncated or corrupt" in captured.err
    records = {r["id"]: r for r in _results(out_dir)}
    assert records["kitten"]["status"] == records["wolf"]["status"] == "done"
    assert records["broken"]["status"] == "failed" and "truncated" in records["broken"]["error"]
    assert is_done(out_dir / "kitten.mp4") and is_done(out_dir / "wolf.mp4")
    assert not (out_dir / "broken.mp4").exists()
    assert json.loads((out_dir / "wolf.json").read_text())["seed"] == 3


def test_bad_jobs_files_are_refused_before_anything_runs(capsys, tmp_path, tiny_base_dir, random_adapter):
    for content, message in [
        ('{"input": "a.mp4", "prompt": "x", "colour": 1}\n', "unknown keys"),
        ("not json\n", "not valid JSON"),
        ('{"input": "a.mp4"}\n', "'prompt' (a string) is required"),
        ('{"input": "a.mp4", "prompt": ""}\n', "prompt is empty"),
        (
            '{"input": "a.mp4", "prompt": "x", "output": "same.mp4"}\n' * 2,
            "collides with the output of line 1",
        ),
        (
            '{"input": "a.mp4", "prompt": "x", "output": "A.mp4"}\n'
            '{"input": "a.mp4", "prompt": "y", "output": "A.MP4"}\n',
            "collides with the output of line 1",
        ),
        ('{"input": "a.mp4", "prompt": "x", "id": "x/../../escape"}\n', "'id' must be a plain file name"),
        (
            '{"input": "a.mp4", "prompt": "x", "output": "/tmp/abs.mp4"}\n',
            "'output' must be a plain file name",
        ),
        ('{"input": "a.mp4", "prompt": "x", "steps": 2.7}\n', "steps must be a positive integer"),
        ('{"input": "a.mp4", "prompt": "x", "num_frames": "9"}\n', "num_frames must be 4k+1"),
        ('{"input": "a.mp4", "prompt": "x", "height": 33}\n', "height must be a positive multiple of 16"),
        ('{"input": "a.mp4", "prompt": "x", "guidance": true}\n', "guidance must be a finite number >= 1"),
        ('{"input": "a.mp4", "prompt": "x", "fps": "fast"}\n', "fps must be 'source', 'model' or a number"),
        (
            '{"input": "a.mp4", "prompt": "x", "id": 7}\n{"input": "a.mp4", "prompt": "y", "id": 7, "output": "b.mp4"}\n',
            "id '7' is also the id of line 1",
        ),
    ]:
        jobs = tmp_path / "jobs.jsonl"
        jobs.write_text(content)
        code = main(
            [
                "edit",
                *_models(tiny_base_dir, random_adapter),
                "--jobs",
                str(jobs),
                "--out-dir",
                str(tmp_path / "out"),
            ]
        )
        assert code == 2
        assert message in _one_line_error(capsys)
        assert not (tmp_path / "out").exists()


def test_shards_split_the_jobs(capsys, tmp_path, shared_data, tiny_base_dir, random_adapter):
    assert parse_shard("1/4") == (1, 4)
    jobs = [EditJob(input=f"{i}.mp4", output=f"{i}.mp4", prompt="p") for i in range(7)]
    picked = [select_shard(jobs, (s, 2), (p, 2)) for s in range(2) for p in range(2)]
    assert sorted(j.input for group in picked for j in group) == sorted(j.input for j in jobs)
    assert [j.input for j in picked[1]] == ["2.mp4", "6.mp4"]  # shard 0 of 2, process 1 of 2

    kitten = str(shared_data / "videos" / "kitten.mp4")
    jobs_file = _write_jobs(
        tmp_path / "jobs.jsonl", [{"id": f"job{i}", "input": kitten, "prompt": "a cat"} for i in range(3)]
    )
    out_dir = tmp_path / "out"
    code = main(
        [
            "edit",
            *_models(tiny_base_dir, random_adapter),
            "--jobs",
            str(jobs_file),
            "--out-dir",
            str(out_dir),
            "--shard",
            "1/2",
            *SMALL,
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert [r["id"] for r in _results(out_dir, "results.shard1of2.proc0of1.jsonl")] == ["job1"]
    assert sorted(p.name for p in out_dir.glob("*.mp4")) == ["job1.mp4"]


def _any_done(out_dir: Path) -> bool:
    return any(is_done(path) for path in out_dir.glob("[!.]*.mp4"))


def test_killed_batch_resumes_without_redoing_or_corrupting(
    capsys, tmp_path, shared_data, tiny_base_dir, random_adapter
):
    videos = shared_data / "videos"
    names = ["kitten", "wolf", "man_walking", "old_man_exercise_audio"]
    jobs = _write_jobs(
        tmp_path / "jobs.jsonl",
        [
            {
                "id": f"{i}_{name}",
                "input": str(videos / f"{name}.mp4"),
                "prompt": "a painting of the scene",
                "seed": i,
            }
            for i, name in enumerate(names)
        ],
    )
    out_dir = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "imvideoedit",
        "edit",
        *_models(tiny_base_dir, random_adapter),
        "--jobs",
        str(jobs),
        "--out-dir",
        str(out_dir),
        *SMALL,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not _any_done(out_dir) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # mid-batch, with no chance to clean up
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()

    finished = {p.stem: p.stat() for p in out_dir.glob("[!.]*.mp4") if is_done(p)}
    assert 1 <= len(finished) < len(names), "the kill should land mid-batch"
    for path in out_dir.glob("[!.]*.mp4"):  # whatever is at an output path is a complete video
        with av.open(str(path)) as container:
            assert sum(1 for _ in container.decode(video=0)) > 0

    code = main(
        [
            "edit",
            *_models(tiny_base_dir, random_adapter),
            "--jobs",
            str(jobs),
            "--out-dir",
            str(out_dir),
            *SMALL,
        ]
    )
    assert code == 0, capsys.readouterr().err
    for stem, before in finished.items():  # done jobs were not redone
        after = (out_dir / f"{stem}.mp4").stat()
        assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
            before.st_ino,
            before.st_mtime_ns,
            before.st_size,
        )
    assert all(is_done(out_dir / f"{i}_{name}.mp4") for i, name in enumerate(names))
    statuses = {r["id"]: r["status"] for r in _results(out_dir)}
    assert {k for k, v in statuses.items() if v == "skipped"} == set(finished)
    assert {k for k, v in statuses.items() if v == "done"} == {f"{i}_{n}" for i, n in enumerate(names)} - set(
        finished
    )
    assert [p.name for p in out_dir.iterdir() if p.name.startswith(".")] == []  # no temporaries left


def test_results_keep_one_record_per_job_and_launcher_ranks_split_the_jobs(tmp_path, monkeypatch):
    from imvideoedit.video_editing import _process_slot, _read_results, _write_results

    path = tmp_path / "results.jsonl"
    _write_results(
        path, [{"id": "a", "status": "failed"}, {"id": "b", "status": "done"}, {"id": "a", "status": "done"}]
    )
    assert _read_results(path) == [{"id": "b", "status": "done"}, {"id": "a", "status": "done"}]

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert _process_slot(None)[:2] == (1, 2)  # a CPU torchrun launch accelerate counts as one process


def test_jobs_take_whole_floats_numeric_ids_and_empty_names_as_not_given(tmp_path):
    from imvideoedit.video_editing import EditJob, read_jobs

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        '{"input": "a.mp4", "prompt": "x", "id": 7, "steps": 30.0, "fps": "24"}\n'
        '{"input": "b.mp4", "prompt": "y", "id": null, "output": ""}\n'
    )
    first, second = read_jobs(jobs, tmp_path / "out", EditJob(input="", output="", prompt=""))
    assert first.job_id == "7" and first.steps == 30 and first.output_spec.fps == 24.0
    assert Path(second.output).name == "00001_b.mp4"


def test_jobs_files_are_read_as_utf8_json_lines(tmp_path):
    from imvideoedit.errors import UserError
    from imvideoedit.video_editing import EditJob, read_jobs

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        '{"input": "a.mp4", "prompt": "a wolf\u2028in snow"}\n', encoding="utf-8"
    )  # U+2028 kept raw
    (job,) = read_jobs(jobs, tmp_path / "out", EditJob(input="", output="", prompt=""))
    assert job.prompt == "a wolf\u2028in snow"
    jobs.write_bytes(b"\xff\xfe not utf-8\n")
    with pytest.raises(UserError, match="is not UTF-8 text"):
        read_jobs(jobs, tmp_path / "out", EditJob(input="", output="", prompt=""))
