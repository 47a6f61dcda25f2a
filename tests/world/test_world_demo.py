"""`imvideoedit demo` end to end (few steps): world videos, contact sheet, metrics, a real clip."""

from __future__ import annotations

import json

import av
import numpy as np
import torch
from PIL import Image

from imvideoedit.cli import main


def test_demo_writes_videos_sheet_metrics_and_edits_a_real_clip(
    small_world_base, shared_data, tmp_path, capsys
):
    torch.set_num_threads(1)
    out = tmp_path / "demo"
    code = main(
        [
            "demo",
            "--out",
            str(out),
            "--base",
            str(small_world_base),
            "--pairs",
            "8",
            "--steps",
            "2",
            "--videos",
            "2",
            "--edit-steps",
            "2",
            "--video",
            str(shared_data / "videos" / "kitten.mp4"),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "contact sheet:" in printed and "| all | 2 |" in printed

    videos = sorted((out / "videos").glob("*.mp4"))
    assert [v.name for v in videos] == ["00_recolour.mp4", "01_style.mp4"]
    with av.open(str(videos[0])) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 9 and frames[0].shape == (128, 4 * (3 * 32 + 2 * 2), 3)  # source | edit | truth, 4x

    sheet = np.asarray(Image.open(out / "contact_sheet.png"))
    assert sheet.shape[0] == 2 * (14 + 128)
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"recolour", "style", "all"} <= set(metrics["per_kind"])
    assert metrics["per_kind"]["all"]["copy"]["psnr"] > 0

    real = out / "real" / "kitten.mp4"
    sidecar = json.loads((out / "real" / "kitten.json").read_text())
    assert real.is_file() and sidecar["prompt"] == "dim light"
    assert not list(out.rglob("*.tmp*"))  # nothing half-written left behind

    # A rerun reuses the adapter only for the settings it was trained with; one video leaves one.
    again = ["demo", "--out", str(out), "--base", str(small_world_base), "--pairs", "8", "--edit-steps", "2"]
    assert main([*again, "--steps", "3", "--videos", "1"]) == 2
    assert "trained with other settings (steps 2 -> 3)" in capsys.readouterr().err
    assert main([*again, "--steps", "2", "--videos", "1"]) == 0
    assert "reusing" in capsys.readouterr().out
    assert [v.name for v in (out / "videos").glob("*.mp4")] == ["00_recolour.mp4"]


def test_demo_refuses_a_missing_video(small_world_base, tmp_path, capsys):
    code = main(
        ["demo", "--out", str(tmp_path / "d"), "--base", str(small_world_base), "--video", "nope.mp4"]
    )
    assert code == 2
    assert "nope.mp4" in capsys.readouterr().err


def test_demo_refuses_a_keep_share_outside_zero_to_one(small_world_base, tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path / "d"), "--base", str(small_world_base), "--keep-share", "2"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--keep-share" in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()  # refused before anything was written


def test_demo_refuses_a_negative_guidance(small_world_base, tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path / "d"), "--base", str(small_world_base), "--guidance", "-1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--guidance" in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_a_demo_stopped_before_training_does_not_lock_its_folder(small_world_base, tmp_path, capsys):
    from imvideoedit.world.demo import DemoSettings, _claim_adapter_folder

    folder = tmp_path / "d" / "adapter"
    _claim_adapter_folder(folder, small_world_base, DemoSettings(steps=3000))  # then stopped: nothing trained
    _claim_adapter_folder(folder, small_world_base, DemoSettings(steps=300))  # another run takes it over
    assert json.loads((folder / "demo_settings.json").read_text())["steps"] == 300

    code = main(
        ["demo", "--out", str(tmp_path / "e"), "--base", str(small_world_base), "--video", str(tmp_path)]
    )
    assert code == 2 and "--video" in capsys.readouterr().err  # a folder, refused in one line
