"""End-to-end training on the tiny base: learning, exact resume after SIGKILL, two processes."""

from __future__ import annotations

import importlib.util
import json
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from imvideoedit.data.encoders import encoders_fingerprint, load_tokenizer
from imvideoedit.data.latent_cache import LatentCache
from imvideoedit.data.metadata import read_pair_table
from imvideoedit.data.preprocess import ResizeSettings, plan_pairs
from imvideoedit.data.validation import validate_pairs
from imvideoedit.errors import UserError
from imvideoedit.injection import adapter_parameters
from imvideoedit.text_encoding import text_length
from imvideoedit.training.batches import flow_matching_loss, load_pairs
from imvideoedit.training.config import load_training_config
from imvideoedit.training.trainer import train


def tiny_config(kit, tiny_base, data, cache, output, **extra):
    overrides = kit.tiny_overrides(tiny_base, data, cache, output, **extra)
    return load_training_config(kit.repo / "configs" / "tiny_cpu.toml", overrides)


def fixed_loss(model, config) -> float:
    """The loss over every pair at fixed noise levels and noise: comparable across models."""
    d = config.data
    report = validate_pairs(read_pair_table(d.path))
    settings = ResizeSettings(d.height, d.width, d.bucket_step, d.max_aspect)
    length = text_length(load_tokenizer(config.model.base), d.max_tokens)
    planned = plan_pairs(
        report.good, settings, encoders_fingerprint(config.model.base), d.cache_dtype, length
    )
    cache = LatentCache(d.cache_dir)
    total = 0.0
    with torch.no_grad():
        for index, pair in enumerate(planned):
            batch = load_pairs(cache, [pair], length)
            for sigma in (0.3, 0.6, 0.9):
                noise = torch.randn(
                    batch.target.shape, generator=torch.Generator().manual_seed(index * 10 + int(sigma * 10))
                )
                total += flow_matching_loss(model, batch, torch.tensor([sigma]), noise, torch.float32).item()
    return total


def adapter_weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def test_tiny_run_learns_and_changes_only_adapter_weights(
    kit, tiny_base, pair_folder, shared_cache, tmp_path, fresh_accelerate
):
    from accelerate.utils import set_seed

    from imvideoedit.training.model_setup import build_trainable_transformer

    output = tmp_path / "run"
    config = tiny_config(
        kit,
        tiny_base,
        pair_folder,
        shared_cache,
        output,
        **{
            "optim.learning_rate": 3e-3,
            "optim.warmup_steps": 0,
            "train.max_steps": 30,
            "train.checkpoint_every": 10,
            "train.logger": "tensorboard",
            "validation.every_steps": 30,
            "validation.num_pairs": 2,
        },
    )
    result = train(config)
    assert result.steps == 30 and len(result.losses) == 30 and result.peak_memory_bytes > 0

    set_seed(config.train.seed)
    initial = build_trainable_transformer(config.model, config.adapter)  # the run's starting point
    before, after = fixed_loss(initial, config), fixed_loss(result.model, config)
    assert after < 0.85 * before, (before, after)

    trained = dict(result.model.named_parameters())
    adapter_names = {id(p) for p in adapter_parameters(result.model).values()}
    changed_backbone = [
        name
        for name, p in initial.named_parameters()
        if id(trained[name]) not in adapter_names and not torch.equal(p, trained[name])
    ]
    assert changed_backbone == []
    changed_adapter = [
        name
        for name, p in adapter_parameters(initial).items()
        if not torch.equal(p, adapter_parameters(result.model)[name])
    ]
    assert len(changed_adapter) == len(adapter_parameters(initial))

    # The adapter file: exactly the trainable weights, with the resolved config inside.
    saved = adapter_weights(result.adapter_path)
    assert set(saved) == set(adapter_parameters(result.model))
    with safe_open(str(result.adapter_path), framework="pt") as handle:
        metadata = handle.metadata()
    assert json.loads(metadata["training_config"]) == config.to_dict()
    assert metadata["training_step"] == "30"
    assert (output / "config.yaml").is_file()
    assert [p.name for p in sorted((output / "checkpoints").iterdir())] == ["step-00000020", "step-00000030"]
    assert list((output / "logs").rglob("events.out.tfevents.*"))
    assert (output / "validation" / "pairs-step-00000030.png").is_file()


def test_killed_run_resumes_to_identical_weights(
    kit, tiny_base, pair_folder, shared_cache, tmp_path, fresh_accelerate
):
    extra = {"train.max_steps": 24, "train.checkpoint_every": 2, "train.keep_checkpoints": 2}
    reference = train(tiny_config(kit, tiny_base, pair_folder, shared_cache, tmp_path / "reference", **extra))

    output = tmp_path / "killed"
    overrides = kit.tiny_overrides(tiny_base, pair_folder, shared_cache, output, **extra)
    command = [kit.python, "-m", "imvideoedit", "train", str(kit.repo / "configs" / "tiny_cpu.toml")]
    command += [arg for override in overrides for arg in ("--set", override)]
    process = subprocess.Popen(command, env=kit.cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (output / "checkpoints" / "step-00000002").is_dir():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    time.sleep(random.uniform(0.0, 0.2))  # any moment: mid-step, mid-checkpoint, between files
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    process.stderr.close()
    assert not (output / "adapter.safetensors").exists()  # it really died mid-run

    resumed = subprocess.run([*command, "--resume"], env=kit.cli_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout + resumed.stderr
    a, b = adapter_weights(reference.adapter_path), adapter_weights(output / "adapter.safetensors")
    assert set(a) == set(b)
    assert all(torch.equal(a[name], b[name]) for name in a)  # bit-identical


def test_two_processes_match_one(kit, tiny_base, pair_folder, shared_cache, tmp_path, fresh_accelerate):
    # Global batch 4 per step: 1 process x 2 pairs x 2 accumulation, or 2 processes x 1 pair x 2.
    extra = {"train.max_steps": 3, "train.global_batch_size": 4, "train.checkpoint_every": 100}
    single = train(
        tiny_config(
            kit,
            tiny_base,
            pair_folder,
            shared_cache,
            tmp_path / "one",
            **extra,
            **{"train.per_device_batch_size": 2},
        )
    )
    overrides = kit.tiny_overrides(
        tiny_base, pair_folder, shared_cache, tmp_path / "two", **extra, **{"train.per_device_batch_size": 1}
    )
    command = [
        kit.python,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(kit.free_port()),
    ]
    command += ["-m", "imvideoedit", "train", str(kit.repo / "configs" / "tiny_cpu.toml")]
    command += [arg for override in overrides for arg in ("--set", override)]
    env = kit.cli_env() | {"ACCELERATE_USE_CPU": "1"}  # gloo backend on CPU
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "1 per device x 2 process(es) x 2 accumulation" in run.stdout
    one, two = adapter_weights(single.adapter_path), adapter_weights(tmp_path / "two" / "adapter.safetensors")
    initial_scale = max(t.abs().max().item() for t in one.values())
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=1e-5, atol=1e-6 * max(1.0, initial_scale))


def test_bad_rows_are_refused_before_training_or_skipped(kit, tiny_base, tmp_path, fresh_accelerate):
    folder = kit.write_pairs(tmp_path / "pairs", count=3)
    (folder / "p1_target.png").write_bytes(b"not a png")
    config = tiny_config(
        kit, tiny_base, folder, tmp_path / "cache", tmp_path / "run", **{"train.max_steps": 1}
    )
    with pytest.raises(UserError, match=r"1 bad row\(s\).*line 2 \(p1\): target: not an image file"):
        train(config)
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert not (tmp_path / "cache").exists()  # a refused run leaves no empty cache behind

    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)
    skipped = tiny_config(
        kit,
        tiny_base,
        folder,
        tmp_path / "cache",
        tmp_path / "run",
        **{"train.max_steps": 1, "data.skip_bad": True},
    )
    result = train(skipped)
    assert result.steps == 1 and result.adapter_path.is_file()


def test_existing_run_needs_resume_and_partial_checkpoints_are_ignored(
    kit, tiny_base, pair_folder, shared_cache, tmp_path, fresh_accelerate
):
    from accelerate.state import AcceleratorState

    from imvideoedit.training.checkpoints import newest_checkpoint

    output = tmp_path / "run"
    config = tiny_config(
        kit,
        tiny_base,
        pair_folder,
        shared_cache,
        output,
        **{"train.max_steps": 2, "train.checkpoint_every": 1},
    )
    train(config)
    # What a kill during a checkpoint write leaves: a hidden partial folder, a folder without its state file.
    (output / "checkpoints" / ".step-00000003.partial").mkdir()
    (output / "checkpoints" / "step-00000009").mkdir()
    assert newest_checkpoint(output).name == "step-00000002"

    AcceleratorState._reset_state(True)
    with pytest.raises(UserError, match="already holds checkpoints: pass --resume"):
        train(config)
    AcceleratorState._reset_state(True)
    longer = tiny_config(
        kit,
        tiny_base,
        pair_folder,
        shared_cache,
        output,
        **{"train.max_steps": 3, "train.checkpoint_every": 1},
    )
    result = train(longer, resume=True)
    assert result.steps == 3 and len(result.losses) == 1

    # A resume may lengthen a run, not change how it trains, nor go back before its step.
    for change, message in [
        ({"optim.learning_rate": 0.5}, "trained with optim.learning_rate=0.001, this run has 0.5"),
        ({"adapter.variant": "no_gate"}, "trained with adapter.variant='full'"),
        ({"train.max_steps": 2}, "already at step 3, beyond this run's 2 steps"),
    ]:
        AcceleratorState._reset_state(True)
        extra = {"train.max_steps": 4, "train.checkpoint_every": 1, **change}
        with pytest.raises(UserError, match=re.escape(message)):
            train(tiny_config(kit, tiny_base, pair_folder, shared_cache, output, **extra), resume=True)


def test_a_diverged_run_stops_with_an_error_and_writes_no_adapter(
    kit, tiny_base, pair_folder, shared_cache, tmp_path, fresh_accelerate
):
    extra = {"train.max_steps": 12, "optim.learning_rate": 1e30}
    config = tiny_config(kit, tiny_base, pair_folder, shared_cache, tmp_path / "run", **extra)
    with pytest.raises(UserError, match=r"the loss is nan at step \d+: training diverged"):
        train(config)
    assert not (tmp_path / "run" / "adapter.safetensors").exists()


def test_validation_edits_pairs_and_a_video(
    kit, tiny_base, pair_folder, shared_cache, tmp_path, fresh_accelerate
):
    video = kit.shared_pairs / ".." / "videos" / "kitten.mp4"
    if not video.is_file():
        pytest.skip(f"shared test media not found at {video.resolve()}")
    output = tmp_path / "run"
    extra = {
        "train.max_steps": 1,
        "validation.every_steps": 1,
        "validation.num_pairs": 3,
        "validation.num_inference_steps": 2,
        "validation.video": video,
        "validation.video_prompt": "a cartoon kitten turning its head",
        "validation.video_frames": 5,
        "train.logger": "tensorboard",
    }
    train(tiny_config(kit, tiny_base, pair_folder, shared_cache, output, **extra))
    from PIL import Image

    pairs = Image.open(output / "validation" / "pairs-step-00000001.png")
    assert pairs.size == (3 * 256, 3 * 256)  # rows: 3 pairs; columns: source | edit | target
    video_strip = Image.open(output / "validation" / "video-step-00000001.png")
    assert video_strip.size == (3 * 256, 2 * 256)  # first / middle / last frame; source above edit

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(output / "logs"), size_guidance={"images": 0})
    events.Reload()
    assert {"validation/pairs", "validation/video"} <= set(events.Tags()["images"])
    assert "train/loss" in events.Tags()["scalars"]


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed")
def test_wandb_without_the_package_is_a_clear_error(kit, tiny_base, pair_folder, shared_cache, tmp_path):
    config = tiny_config(
        kit, tiny_base, pair_folder, shared_cache, tmp_path / "run", **{"train.logger": "wandb"}
    )
    with pytest.raises(UserError, match="needs the wandb package: pip install wandb"):
        train(config)


def test_cli_refuses_bad_config_in_one_line(kit, tmp_path, capsys):
    from imvideoedit.cli import main

    (tmp_path / "bad.toml").write_text("[train]\nbatch = 4\n")
    assert main(["train", str(tmp_path / "bad.toml"), "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key(s) batch in [train]; valid keys: output_dir, seed" in err
