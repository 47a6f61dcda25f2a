"""The command line: `info`, `tiny-base`, and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imvideoedit.cli import main


def test_info_on_named_configs(capsys):
    assert main(["info", "--base", "wan2.1-t2v-1.3b"]) == 0
    out = capsys.readouterr().out
    assert "1,062,835,200" in out and "1,418,996,800" in out and "30 blocks, dim 1536" in out
    assert main(["info", "--base", "wan2.1-t2v-14b", "--mode", "lora", "--lora-rank", "16"]) == 0
    out = capsys.readouterr().out
    assert "40 blocks, dim 5120" in out and "rank=16" in out


def test_info_on_a_local_folder(tiny_base_dir, capsys):
    assert main(["info", "--base", str(tiny_base_dir), "--variant", "no_update"]) == 0
    out = capsys.readouterr().out
    assert "2 blocks, dim 32" in out and f"{2 * (5 * 32 * 32 + 7 * 32):,}" in out


def test_tiny_base_loads_like_the_real_one(tiny_base_dir):
    from diffusers import WanPipeline

    pipe = WanPipeline.from_pretrained(tiny_base_dir)
    assert {"transformer", "vae", "text_encoder", "tokenizer", "scheduler"} <= set(pipe.components)
    frames = pipe(
        "a red dog", num_inference_steps=2, height=32, width=32, num_frames=5, output_type="np"
    ).frames
    assert frames.shape == (1, 5, 32, 32, 3)


def test_tiny_base_refuses_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert main(["tiny-base", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("imvideoedit: error:") and "not empty" in err and "Traceback" not in err
    assert (tmp_path / "keep.txt").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "--base", "/no/such/folder"], "base not found"),
        (["info", "--base", "wan2.1-t2v-1.3b", "--lora-rank", "0"], "lora_rank must be a positive integer"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message):
    result = subprocess.run([sys.executable, "-m", "imvideoedit", *argv], capture_output=True, text=True)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_atomic_files_get_the_usual_permissions(tmp_path):
    import os

    from imvideoedit.atomic_write import atomic_write_text

    atomic_write_text(tmp_path / "out.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_closed_pipe_is_a_quiet_exit_not_an_internal_error(monkeypatch, capsys):
    """`imvideoedit ... | head`: the reader leaving is reported as SIGPIPE's status, silently."""
    import imvideoedit.cli.info as info

    def reader_went_away(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(info, "run", reader_went_away)
    assert main(["info", "--base", "wan2.1-t2v-1.3b"]) == 141
    assert capsys.readouterr().err == ""
