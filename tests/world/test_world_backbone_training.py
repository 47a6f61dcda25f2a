"""Short version of the world base's training: it runs, writes a loadable base, resumes exactly."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from imvideoedit.world.backbone_training import BackboneTrainingConfig, base_from_state, train_backbone


def _weights(base):
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel.from_pretrained(str(base), subfolder="transformer").state_dict()


def test_backbone_trains_writes_a_base_and_resumes_exactly(tmp_path, small_world_config):
    torch.set_num_threads(1)
    config = BackboneTrainingConfig(
        model=small_world_config, batch_size=2, max_steps=4, warmup_steps=2, image_step_every=2
    )
    straight = train_backbone(
        config, tmp_path / "run-a", tmp_path / "base-a", command="test", log=lambda m: None
    )

    assert (
        train_backbone(config, tmp_path / "run-b", tmp_path / "base-b", log=lambda m: None, stop_at=2) is None
    )
    assert not (tmp_path / "base-b").exists()  # killed mid-run: nothing half-written at the output
    resumed = train_backbone(
        config, tmp_path / "run-b", tmp_path / "base-b", command="test", log=lambda m: None
    )

    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)

    weights = next((straight / "transformer").glob("*.safetensors"))
    with safe_open(str(weights), "pt") as handle:
        metadata = handle.metadata()
    assert metadata["command"] == "test" and metadata["training_steps"] == "4"
    assert json.loads(metadata["world_model_config"])["num_layers"] == small_world_config.num_layers
    scheduler = json.loads((straight / "scheduler" / "scheduler_config.json").read_text())
    assert scheduler["shift"] == config.sigma_shift  # the base samples with the shift it trained with

    # A run's state file read back as a base (how a run in progress is looked at): its EMA
    # weights are exactly the base the run wrote, its raw weights are not.
    from_state = base_from_state(tmp_path / "run-a" / "state.pt", tmp_path / "from-state")
    ema, raw = (
        _weights(from_state),
        _weights(base_from_state(tmp_path / "run-a" / "state.pt", tmp_path / "raw", "modules")),
    )
    for name in a:
        torch.testing.assert_close(ema[name], a[name], rtol=0, atol=0)
    assert any(not torch.equal(raw[name], a[name]) for name in a)


def test_image_steps_take_their_own_batch_size_and_can_come_first(tmp_path, small_world_config, monkeypatch):
    """`image_batch_size` sets how many single frames an image step trains on;
    `image_only_steps` makes the first steps image steps."""
    import imvideoedit.world.backbone_training as training

    torch.set_num_threads(1)
    real = training.to_latents

    def steps_of(**overrides) -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []

        def recording(videos, device="cpu", vae=None):
            seen.append((videos.shape[0], videos.shape[1]))  # (clips, frames)
            return real(videos, device, vae)

        monkeypatch.setattr(training, "to_latents", recording)
        config = BackboneTrainingConfig(
            model=small_world_config, batch_size=2, image_batch_size=5, max_steps=3, **overrides
        )
        name = "-".join(f"{k}{v}" for k, v in overrides.items())
        training.train_backbone(config, tmp_path / name, tmp_path / f"{name}-base", log=lambda m: None)
        return seen

    assert steps_of(image_step_every=2) == [(2, 9), (5, 1), (2, 9)]
    assert steps_of(image_step_every=100, image_only_steps=2) == [(5, 1), (5, 1), (2, 9)]


def test_worker_processes_draw_the_same_batches_and_the_same_run(tmp_path, small_world_config):
    """A per-step-data run's batches depend only on (seed, step): drawn ahead by worker
    processes they are the same arrays, and the run (killed and resumed, too) the same weights."""
    import numpy as np
    import pytest

    from imvideoedit.text_encoding import tokenize_prompts
    from imvideoedit.world.base_model import build_world_tokenizer
    from imvideoedit.world.training_batches import PrefetchedBatches, step_batch

    torch.set_num_threads(1)
    config = BackboneTrainingConfig(
        model=small_world_config,
        batch_size=2,
        image_batch_size=3,
        max_steps=4,
        warmup_steps=2,
        image_step_every=2,
        per_step_data=True,
    )
    with PrefetchedBatches(config, workers=2) as prefetched:
        drawn = [prefetched.get(step) for step in range(4)]
    tokenizer = build_world_tokenizer()
    for step, (videos, prompts, masks, (ids, mask)) in enumerate(drawn):
        expected_videos, expected_prompts, expected_masks, _ = step_batch(config, step)
        np.testing.assert_array_equal(videos, expected_videos)
        assert prompts == expected_prompts
        assert masks is None and expected_masks is None  # drawn only for an object_loss_weight
        expected_ids, expected_mask = tokenize_prompts(tokenizer, prompts)  # the workers tokenize, too
        np.testing.assert_array_equal(ids, expected_ids.numpy())
        np.testing.assert_array_equal(mask, expected_mask.numpy())
    assert [v.shape[:2] for v, *_ in drawn] == [(2, 9), (3, 1), (2, 9), (3, 1)]
    assert not np.array_equal(drawn[0][0], drawn[2][0])  # each step draws its own clips

    quiet = lambda m: None  # noqa: E731
    in_process = train_backbone(config, tmp_path / "run-a", tmp_path / "base-a", log=quiet)
    assert (
        train_backbone(config, tmp_path / "run-b", tmp_path / "base-b", log=quiet, stop_at=2, data_workers=2)
        is None
    )
    with_workers = train_backbone(config, tmp_path / "run-b", tmp_path / "base-b", log=quiet, data_workers=2)
    a, b = _weights(in_process), _weights(with_workers)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)

    shared_stream = BackboneTrainingConfig(model=small_world_config, max_steps=1)
    with pytest.raises(ValueError, match="per_step_data"):
        train_backbone(shared_stream, tmp_path / "run-c", tmp_path / "base-c", log=quiet, data_workers=2)


def test_training_script_takes_the_model_sizes_and_refuses_workers_on_a_shared_stream(tmp_path):
    """scripts/train_world_backbone.py end to end: --model-* flags reach the written base, and
    --data-workers without --per-step-data is a one-line usage error, not a traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "train_world_backbone.py"
    sizes = ["--model-dim-heads", "2", "--model-head-dim", "16", "--model-num-layers", "1"]
    sizes += ["--model-ffn-dim", "32", "--model-text-dim", "16", "--model-text-layers", "1"]
    sizes += ["--model-text-heads", "2", "--model-text-ffn", "16"]
    common = [sys.executable, str(script), "--max-steps", "2", "--batch-size", "1", "--warmup-steps", "1"]
    refused = subprocess.run(common + ["--data-workers", "2"], capture_output=True, text=True)
    assert refused.returncode == 2 and "needs --per-step-data" in refused.stderr
    assert "Traceback" not in refused.stderr
    for flag, value in (("--precision", "fp16"), ("--optimizer", "sgd")):
        refused = subprocess.run(common + [flag, value], capture_output=True, text=True)
        assert refused.returncode == 2 and "invalid choice" in refused.stderr

    done = subprocess.run(
        common
        + sizes
        + ["--per-step-data", "--precision", "bf16", "--optimizer", "muon"]
        + ["--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "base")],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    weights = next((tmp_path / "base" / "transformer").glob("*.safetensors"))
    with safe_open(str(weights), "pt") as handle:
        metadata = handle.metadata()
    model = json.loads(metadata["world_model_config"])
    assert (model["dim_heads"], model["head_dim"], model["num_layers"]) == (2, 16, 1)
    assert json.loads(metadata["training_config"])["per_step_data"] is True
    assert json.loads(metadata["training_config"])["precision"] == "bf16"
    assert json.loads(metadata["training_config"])["optimizer"] == "muon"
    with safe_open(str(weights), "pt") as handle:  # autocast: the weights themselves stay float32
        assert {handle.get_tensor(name).dtype for name in handle.keys()} == {torch.float32}  # noqa: SIM118
    assert "--per-step-data" in metadata["command"]

    # Starting from a base of other sizes (the defaults here): one line, not a traceback.
    other = subprocess.run(
        common + ["--init-base", str(tmp_path / "base"), "--run-dir", str(tmp_path / "run-2")],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert other.returncode != 0 and "has model sizes" in other.stderr
    assert "Traceback" not in other.stderr and len(other.stderr.strip().splitlines()) == 1


def test_precision_and_object_weight_are_checked():
    import pytest

    with pytest.raises(ValueError, match="precision"):
        BackboneTrainingConfig(precision="fp16")
    with pytest.raises(ValueError, match="object_loss_weight"):
        BackboneTrainingConfig(object_loss_weight=0.0)


def test_object_weighted_loss_tilts_toward_the_shapes_pixels_and_keeps_mses_scale():
    import numpy as np

    from imvideoedit.world.backbone_training import flow_loss

    target = torch.zeros(2, 3, 1, 4, 4)
    masks = np.zeros((2, 1, 4, 4), dtype=bool)
    masks[:, :, :2, :2] = True  # a quarter of the pixels are a shape's
    on_object = torch.where(torch.from_numpy(masks)[:, None], 1.0, 0.0).expand(-1, 3, -1, -1, -1)
    everywhere = torch.ones_like(target)

    plain = torch.nn.functional.mse_loss(on_object, target)
    assert flow_loss(on_object, target, None, 4.0) == plain
    assert flow_loss(on_object, target, masks, 1.0) == plain
    # Weight 4 on a quarter of the pixels: they hold 4 / (4 + 3) of the loss instead of 1 / 4.
    torch.testing.assert_close(flow_loss(on_object, target, masks, 4.0), torch.tensor(4 / 7))
    torch.testing.assert_close(flow_loss(everywhere, target, masks, 4.0), torch.tensor(1.0))  # MSE's scale


def test_object_masks_come_with_the_same_batches(tmp_path, small_world_config):
    """An `object_loss_weight` run draws the same clips and prompts (the masks take nothing from
    the random streams), with each clip's shape pixels, on video and image steps, shared and
    per-step streams alike; and it trains."""
    import dataclasses

    import numpy as np

    from imvideoedit.world.training_batches import draw_batch, step_batch

    torch.set_num_threads(1)
    plain = BackboneTrainingConfig(
        model=small_world_config,
        batch_size=2,
        image_batch_size=3,
        max_steps=2,
        warmup_steps=1,
        image_step_every=2,
    )
    weighted = dataclasses.replace(plain, object_loss_weight=4.0)
    for step in (0, 1):  # a video step, an image step
        for draw in (
            lambda c, s=step: draw_batch(np.random.default_rng(7), c, s),
            lambda c, s=step: step_batch(dataclasses.replace(c, per_step_data=True), s),
        ):
            a, b = draw(plain), draw(weighted)
            np.testing.assert_array_equal(a.videos, b.videos)
            assert a.prompts == b.prompts and a.object_masks is None
            assert b.object_masks.shape == b.videos.shape[:4] and b.object_masks.dtype == bool
            assert all(m.any() for m in b.object_masks)  # every clip has a shape in view
    base = train_backbone(weighted, tmp_path / "run", tmp_path / "base", log=lambda m: None)
    weights = _weights(base)
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_a_run_can_start_from_a_base_and_records_where_it_started(tmp_path, small_world_config):
    """`init_base`: the run's weights start as the base's (a 0-step run writes them back
    unchanged), its provenance names the base's steps, and a base of other sizes is refused in
    one line."""
    import dataclasses

    import pytest

    from imvideoedit.errors import UserError

    torch.set_num_threads(1)
    config = BackboneTrainingConfig(model=small_world_config, batch_size=1, max_steps=3, warmup_steps=1)
    first = train_backbone(
        config, tmp_path / "run-a", tmp_path / "base-a", command="first", log=lambda m: None
    )
    again = dataclasses.replace(config, max_steps=0, init_base=str(first), seed=5)
    second = train_backbone(again, tmp_path / "run-b", tmp_path / "base-b", log=lambda m: None)
    a, b = _weights(first), _weights(second)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    with safe_open(str(next((second / "transformer").glob("*.safetensors"))), "pt") as handle:
        metadata = handle.metadata()
    assert metadata["init_base_training_steps"] == "3" and metadata["init_base_command"] == "first"

    # Killed, the init base moved away, resumed: the state holds the weights, so the run ends
    # and writes its base; only the provenance it can no longer read is "unknown".
    longer = dataclasses.replace(again, max_steps=2)
    assert train_backbone(longer, tmp_path / "run-e", tmp_path / "e", log=lambda m: None, stop_at=1) is None
    first.rename(tmp_path / "moved")
    resumed = train_backbone(longer, tmp_path / "run-e", tmp_path / "e", log=lambda m: None)
    with safe_open(str(next((resumed / "transformer").glob("*.safetensors"))), "pt") as handle:
        assert handle.metadata()["init_base_training_steps"] == "unknown"
    again = dataclasses.replace(again, init_base=str(tmp_path / "moved"))

    wider = dataclasses.replace(small_world_config, ffn_dim=small_world_config.ffn_dim * 2)
    with pytest.raises(UserError, match="model sizes"):
        train_backbone(
            dataclasses.replace(again, model=wider),
            tmp_path / "run-c",
            tmp_path / "base-c",
            log=lambda m: None,
        )
    with pytest.raises(UserError, match="not a world base"):
        train_backbone(
            dataclasses.replace(again, init_base=str(tmp_path)),
            tmp_path / "run-d",
            tmp_path / "d",
            log=lambda m: None,
        )


def test_step_benchmark_times_every_part(monkeypatch, capsys):
    """benchmarks/world_base_step.py runs on the CPU at tiny batches and reports each part."""
    import sys

    from benchmark_scripts import load_benchmark

    torch.set_num_threads(1)
    argv = ["world_base_step.py", "--video-batch", "1", "--image-batch", "2", "--repeats", "1"]
    monkeypatch.setattr(sys, "argv", argv + ["--workers", "1", "--precisions", "fp32"])
    load_benchmark("world_base_step").main()
    report = json.loads(capsys.readouterr().out)
    for part in ("render_s", "tokenize_s", "text_encoder_s", "step_fp32_s"):
        assert set(report[part]) == {"video", "image"} and min(report[part].values()) > 0
    assert report["noise_cpu_s"] > 0 and report["bound_steps_per_s_fp32"] > 0
    assert "step_bf16_s" not in report


def test_a_resumed_optimizer_keeps_its_moments_and_takes_this_runs_settings():
    """A state saved by another run (unfused, another text learning-rate scale) resumes with its
    moments and step counts, but with the settings of the run that resumes it."""
    from imvideoedit.world.backbone_training import with_settings_of

    weights = [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))]

    def optimizer(scale: float, betas: tuple[float, float]) -> torch.optim.AdamW:
        groups = [{"params": [weights[0]], "scale": 1.0}, {"params": [weights[1]], "scale": scale}]
        return torch.optim.AdamW(groups, lr=1e-3, betas=betas)

    old = optimizer(scale=1.0, betas=(0.9, 0.999))
    sum(w.sum() for w in weights).backward()
    old.step()
    new = optimizer(scale=3.0, betas=(0.9, 0.99))
    new.load_state_dict(with_settings_of(new, old.state_dict()))
    assert [g["scale"] for g in new.param_groups] == [1.0, 3.0]
    assert all(g["betas"] == (0.9, 0.99) for g in new.param_groups)
    for weight in weights:
        torch.testing.assert_close(new.state[weight]["exp_avg"], old.state[weight]["exp_avg"])
        assert float(new.state[weight]["step"]) == 1.0


def test_reading_a_missing_or_corrupt_run_state_is_a_one_line_error(tmp_path):
    import pytest

    from imvideoedit.errors import UserError

    with pytest.raises(UserError, match="no run state"):
        base_from_state(tmp_path / "absent.pt", tmp_path / "base")
    garbage = tmp_path / "state.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(UserError, match="cannot read the run state"):
        base_from_state(garbage, tmp_path / "base")
    torch.save({"step": 3}, garbage)
    with pytest.raises(UserError, match="not a world base training state"):
        base_from_state(garbage, tmp_path / "base")
    assert not (tmp_path / "base").exists()


def test_zero_init_starts_every_block_as_the_identity_and_then_trains(tmp_path, small_world_config):
    """`zero_init`: the fresh transformer predicts exactly zero (every residual branch and the
    final projection start at zero), and a few steps move those projections off zero."""
    from imvideoedit.world.backbone_training import build_trainer

    torch.set_num_threads(1)
    config = BackboneTrainingConfig(
        model=small_world_config,
        batch_size=2,
        max_steps=3,
        warmup_steps=1,
        image_step_every=2,
        zero_init=True,
    )
    components, _, _, _ = build_trainer(config, "cpu")
    transformer = components["transformer"]
    latents = torch.randn(1, 3, 1, 32, 32)
    text = torch.randn(1, 8, small_world_config.text_dim)
    out = transformer(hidden_states=latents, timestep=torch.tensor([500.0]), encoder_hidden_states=text)[0]
    assert torch.count_nonzero(out) == 0
    assert torch.count_nonzero(transformer.blocks[0].ffn.net[2].weight) == 0

    base = train_backbone(config, tmp_path / "run", tmp_path / "base", log=lambda m: None)
    trained = _weights(base)
    assert torch.count_nonzero(trained["proj_out.weight"]) > 0
    assert torch.count_nonzero(trained["blocks.0.attn1.to_out.0.weight"]) > 0


def test_a_base_samples_with_the_shift_it_trained_with(tmp_path, small_world_config):
    """A run with another sigma shift writes that shift into the base's scheduler, and so does a
    base read from its run state (the prior then samples as the run trained)."""
    torch.set_num_threads(1)
    config = BackboneTrainingConfig(
        model=small_world_config, batch_size=1, max_steps=1, warmup_steps=1, sigma_shift=2.0
    )
    written = train_backbone(config, tmp_path / "run", tmp_path / "base", log=lambda m: None)
    from_state = base_from_state(tmp_path / "run" / "state.pt", tmp_path / "from-state")
    for base in (written, from_state):
        assert json.loads((base / "scheduler" / "scheduler_config.json").read_text())["shift"] == 2.0


def test_muon_steps_the_hidden_matrices_adamw_the_rest_and_a_run_resumes_exactly(
    tmp_path, small_world_config
):
    """`--optimizer muon`: every trained parameter is stepped by exactly one of the two parts
    (Muon: the blocks' 2D weights), a killed run resumes to the same weights, and a run resumed
    with the other optimizer is refused in one line."""
    import dataclasses

    import pytest

    from imvideoedit.errors import UserError
    from imvideoedit.world.backbone_training import build_trainer
    from imvideoedit.world.muon_optimizer import MuonWithAdamW, is_hidden_matrix

    torch.set_num_threads(1)
    config = BackboneTrainingConfig(
        model=small_world_config,
        batch_size=2,
        max_steps=4,
        warmup_steps=2,
        image_step_every=2,
        optimizer="muon",
    )
    _, modules, _, optimizer = build_trainer(config, "cpu")
    assert isinstance(optimizer, MuonWithAdamW)
    stepped = [id(p) for group in optimizer.param_groups for p in group["params"]]
    assert sorted(stepped) == sorted(id(p) for p in modules.parameters())  # each once, none left out
    muon_params = {id(p) for group in optimizer.parts["muon"].param_groups for p in group["params"]}
    hidden = {id(p) for n, p in modules["transformer"].named_parameters() if is_hidden_matrix(n, p)}
    assert muon_params == hidden and all(
        p.ndim == 2 for group in optimizer.parts["muon"].param_groups for p in group["params"]
    )
    assert [g["scale"] for g in optimizer.param_groups] == [1.0, 1.0, config.text_lr_scale]

    straight = train_backbone(config, tmp_path / "run-a", tmp_path / "base-a", log=lambda m: None)
    assert (
        train_backbone(config, tmp_path / "run-b", tmp_path / "base-b", log=lambda m: None, stop_at=2) is None
    )
    resumed = train_backbone(config, tmp_path / "run-b", tmp_path / "base-b", log=lambda m: None)
    a, b = _weights(straight), _weights(resumed)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    adamw_run = dataclasses.replace(config, optimizer="adamw")
    with pytest.raises(UserError, match="started with --optimizer muon"):
        train_backbone(adamw_run, tmp_path / "run-b", tmp_path / "base-c", log=lambda m: None)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        BackboneTrainingConfig(optimizer="sgd")


def test_world_trainers_refuse_numbers_out_of_range():
    from imvideoedit.world.world_vae import VAETrainingConfig

    for bad, message in [
        ({"batch_size": 0}, "batch_size must be positive"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number"),
        ({"max_steps": -5}, "max_steps must be 0 or more"),
        ({"max_steps": 0}, "0 only rewrites an init_base"),
        ({"ema_decay": 1.5}, "ema_decay must lie within"),
    ]:
        with pytest.raises(ValueError, match=message):
            BackboneTrainingConfig(**bad)
    for bad, message in [
        ({"frames": 0}, "frames must be positive"),
        ({"clips_per_step": 0}, "clips_per_step must be positive"),
    ]:
        with pytest.raises(ValueError, match=message):
            VAETrainingConfig(**bad)
