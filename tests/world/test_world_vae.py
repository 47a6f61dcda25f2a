"""The world VAE and a world base that learns in its latents: short runs, exact resumes, and the
ordinary loaders and samplers on the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from imvideoedit.errors import UserError
from imvideoedit.world.world_vae import (
    VAETrainingConfig,
    WorldVAEConfig,
    load_world_vae,
    reconstruction_report,
    train_world_vae,
    vae_provenance,
)

TINY_VAE = VAETrainingConfig(
    vae=WorldVAEConfig(base_dim=8, z_dim=4, temporal=True),  # Wan's causal 4x in time
    clips_per_step=2,
    images_per_step=3,
    max_steps=4,
    warmup_steps=2,
    stats_clips=4,
)
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("vae")
    return train_world_vae(TINY_VAE, folder / "run", folder / "vae", command="test", log=lambda m: None)


def test_vae_trains_resumes_exactly_and_writes_a_diffusers_folder(tmp_path, tiny_vae):
    torch.set_num_threads(1)
    assert (
        train_world_vae(TINY_VAE, tmp_path / "run", tmp_path / "vae", log=lambda m: None, stop_at=2) is None
    )
    assert not (tmp_path / "vae").exists()  # stopped mid-run: nothing half-written
    resumed = train_world_vae(
        TINY_VAE, tmp_path / "run", tmp_path / "vae", command="test", log=lambda m: None
    )
    straight, again = load_world_vae(tiny_vae), load_world_vae(resumed)
    for (name, a), (_, b) in zip(straight.state_dict().items(), again.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)

    # 4x in space and (causal) 4x in time, as Wan's VAE; an image is a 1-frame video.
    from imvideoedit.vae_latents import encode_pixels

    assert encode_pixels(straight, torch.zeros(2, 3, 9, 32, 32)).shape == (2, 4, 3, 8, 8)
    assert encode_pixels(straight, torch.zeros(2, 3, 1, 32, 32)).shape == (2, 4, 1, 8, 8)
    # The latent statistics are measured, so encoded latents are near unit scale.
    assert straight.config.latents_mean != [0.0] * 4 and straight.config.latents_std != [1.0] * 4
    provenance = vae_provenance(tiny_vae)
    assert provenance["command"] == "test" and provenance["training_steps"] == "4"
    assert json.loads(provenance["world_vae_training_config"])["vae"]["z_dim"] == 4

    # Another run's settings in the same folder are refused, in one line.
    with pytest.raises(UserError, match="other settings"):
        train_world_vae(
            VAETrainingConfig(vae=WorldVAEConfig(base_dim=8, z_dim=4, temporal=True), max_steps=5),
            tmp_path / "run",
            tmp_path / "vae-2",
            log=lambda m: None,
        )
    # A longer --max-steps continues the ended run from where it stopped.
    from dataclasses import replace

    said: list[str] = []
    longer = train_world_vae(
        replace(TINY_VAE, max_steps=6), tmp_path / "run", tmp_path / "vae-3", log=said.append
    )
    assert said[0].startswith("resumed at step 4") and vae_provenance(longer)["training_steps"] == "6"


def test_reconstruction_report_reads_the_bar_on_the_vaes_reconstructions(tiny_vae):
    report = reconstruction_report(load_world_vae(tiny_vae), count=4)
    assert report["videos"] == 4 and report["present_truth"] > 0.5
    assert 0.0 <= report["present"] <= 1.0 and report["psnr"] > 0.0


def test_bad_vae_settings_and_folders_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="4k\\+1"):
        VAETrainingConfig(vae=WorldVAEConfig(temporal=True), frames=8)
    with pytest.raises(ValueError, match="multiple of 4"):
        VAETrainingConfig(size=30)
    with pytest.raises(UserError, match="not a VAE folder"):
        load_world_vae(tmp_path)
    refused = subprocess.run(
        [sys.executable, str(SCRIPTS / "train_world_vae.py"), "--vae-temporal", "--frames", "8"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "4k+1" in refused.stderr and "Traceback" not in refused.stderr


def test_a_base_learns_in_the_vaes_latents_and_samples_videos(tmp_path, tiny_vae, small_world_config):
    """--vae: the transformer denoises the VAE's latents (a third of the frames, a quarter of the
    side), the base is written with the VAE, and diffusers' WanPipeline samples whole videos."""
    from dataclasses import replace

    from imvideoedit.world.backbone_training import BackboneTrainingConfig, base_from_state, train_backbone
    from imvideoedit.world.temporal_prior import load_base_pipeline, prior_scenes, sample_videos

    torch.set_num_threads(1)
    model = replace(small_world_config, patch=1, latent_channels=4)
    config = BackboneTrainingConfig(
        model=model, vae=str(tiny_vae), batch_size=2, max_steps=4, warmup_steps=2, image_step_every=2
    )
    straight = train_backbone(
        config, tmp_path / "run-a", tmp_path / "base-a", command="test", log=lambda m: None
    )
    assert (
        train_backbone(config, tmp_path / "run-b", tmp_path / "base-b", log=lambda m: None, stop_at=2) is None
    )
    resumed = train_backbone(
        config, tmp_path / "run-b", tmp_path / "base-b", command="test", log=lambda m: None
    )

    with pytest.raises(UserError, match="started with --vae"):  # resumed on pixels: refused
        train_backbone(replace(config, vae="", model=small_world_config), tmp_path / "run-b", tmp_path / "x")

    # --init-base takes a base that learned in the same VAE's latents, and only such a base.
    from imvideoedit.world.backbone_training import same_latents

    again = train_backbone(
        replace(config, max_steps=0, init_base=str(straight)),
        tmp_path / "run-c",
        tmp_path / "base-c",
        log=lambda m: None,
    )
    other = load_world_vae(tiny_vae)
    assert same_latents(straight, other) and not same_latents(straight, None)
    with torch.no_grad():
        next(other.parameters()).add_(1e-3)
    assert not same_latents(straight, other)

    pipe = load_base_pipeline(straight)
    assert type(pipe.vae).__name__ == "AutoencoderKLWan" and pipe.transformer.config.in_channels == 4
    for other_base in (resumed, again):  # resumed exactly; started from `straight` exactly
        weights = load_base_pipeline(other_base).transformer.state_dict()
        for name, weight in pipe.transformer.state_dict().items():
            torch.testing.assert_close(weight, weights[name], rtol=0, atol=0, msg=name)
    videos = sample_videos(pipe, prior_scenes(2), steps=2)
    assert [v.shape for v in videos] == [(9, 32, 32, 3)] * 2 and videos[0].dtype == np.uint8

    from imvideoedit.world.base_model import base_metadata

    metadata = base_metadata(straight)
    assert metadata["vae_command"] == "test" and metadata["vae_training_steps"] == "4"
    # The run's state carries the VAE: a base is written from it without the VAE's folder.
    moved = tmp_path / "moved"
    os.rename(tiny_vae, moved)
    try:
        from_state = load_base_pipeline(
            base_from_state(tmp_path / "run-a" / "state.pt", tmp_path / "from-state")
        )
        for name, weight in pipe.vae.state_dict().items():
            torch.testing.assert_close(weight, from_state.vae.state_dict()[name], rtol=0, atol=0)
    finally:
        os.rename(moved, tiny_vae)


def test_a_vae_run_checks_its_latent_channels_and_refuses_pixel_weighting(tiny_vae, small_world_config):
    from dataclasses import replace

    from imvideoedit.world.backbone_training import BackboneTrainingConfig, build_trainer

    with pytest.raises(ValueError, match="object_loss_weight"):
        BackboneTrainingConfig(vae=str(tiny_vae), object_loss_weight=4.0)
    config = BackboneTrainingConfig(model=replace(small_world_config, patch=1), vae=str(tiny_vae))
    with pytest.raises(UserError, match="4 latent channels"):
        build_trainer(config, "cpu")


def test_the_training_scripts_take_a_vae_end_to_end(tmp_path, tiny_vae):
    """scripts/train_world_vae.py writes a VAE and reads its reconstructions;
    scripts/train_world_backbone.py --vae sets the model's latent channels from it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    vae_run = subprocess.run(
        [sys.executable, str(SCRIPTS / "train_world_vae.py"), "--run-dir", str(tmp_path / "vrun")]
        + ["--out", str(tmp_path / "vae"), "--max-steps", "2", "--vae-base-dim", "8", "--vae-z-dim", "4"]
        + ["--clips-per-step", "1", "--images-per-step", "2", "--stats-clips", "2", "--report-videos", "2"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert vae_run.returncode == 0, vae_run.stderr[-2000:]
    assert '"present_truth"' in vae_run.stdout and (tmp_path / "vae" / "config.json").is_file()

    sizes = [
        "--model-dim-heads",
        "2",
        "--model-head-dim",
        "16",
        "--model-num-layers",
        "1",
        "--model-patch",
        "1",
    ]
    base_run = subprocess.run(
        [sys.executable, str(SCRIPTS / "train_world_backbone.py"), "--max-steps", "2", "--batch-size", "1"]
        + sizes
        + [
            "--vae",
            str(tmp_path / "vae"),
            "--run-dir",
            str(tmp_path / "run"),
            "--out",
            str(tmp_path / "base"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert base_run.returncode == 0, base_run.stderr[-2000:]
    from imvideoedit.world.base_model import base_model_config

    assert base_model_config(tmp_path / "base").latent_channels == 4
    missing = subprocess.run(
        [sys.executable, str(SCRIPTS / "train_world_backbone.py"), "--vae", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0 and "not a VAE folder" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


def test_object_weighted_reconstruction_keeps_the_plain_loss_without_shapes_and_trains(tmp_path, tiny_vae):
    """`object_weight`: no shape pixels leaves the plain loss and shape pixels change it; a run
    draws the same clips with or without the masks, and trains."""
    from dataclasses import replace

    from imvideoedit.world.world_vae import draw_vae_batch, vae_loss

    torch.set_num_threads(1)
    vae = load_world_vae(tiny_vae)
    pixels = torch.rand(2, 3, 1, 32, 32) * 2 - 1
    none = np.zeros((2, 1, 32, 32), dtype=bool)
    plain = vae_loss(vae, pixels, torch.Generator().manual_seed(0), 0.0)
    assert torch.allclose(plain, vae_loss(vae, pixels, torch.Generator().manual_seed(0), 0.0, none, 4.0))
    some = none.copy()
    some[:, :, :8, :8] = True
    weighted = vae_loss(vae, pixels, torch.Generator().manual_seed(0), 0.0, some, 4.0)
    assert not torch.allclose(plain, weighted)

    config = replace(TINY_VAE, object_weight=4.0, max_steps=2)
    clips, masks = draw_vae_batch(np.random.default_rng(3), config, 0)
    same, no_masks = draw_vae_batch(np.random.default_rng(3), TINY_VAE, 0)
    assert no_masks is None and masks.shape == clips.shape[:4] and masks.any() and (clips == same).all()
    assert train_world_vae(config, tmp_path / "run", tmp_path / "vae", log=lambda m: None).is_dir()
    with pytest.raises(ValueError, match="object_weight"):
        replace(TINY_VAE, object_weight=0.0)
