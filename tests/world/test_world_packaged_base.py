"""The world base that ships with the package: small, self-describing, and usable as it is.

Without it (a broken install), the demo fails with a one-line hint before writing anything.
"""

from __future__ import annotations

import json

import torch
from safetensors import safe_open

from imvideoedit.cli import main
from imvideoedit.world.base_model import COMMITTED_BASE, WorldModelConfig, committed_base

MAX_BYTES = 10 * 1024 * 1024  # the budget for committed weights


def test_packaged_base_is_small_safetensors_with_its_recipe():
    base = committed_base()
    weights = sorted(base.rglob("*.safetensors"))
    assert {w.parent.name for w in weights} <= {"transformer", "text_encoder", "vae"}
    assert not list(base.rglob("*.bin")) and not list(base.rglob("*.pt"))
    assert sum(w.stat().st_size for w in weights) <= MAX_BYTES

    (transformer,) = [w for w in weights if w.parent.name == "transformer"]
    with safe_open(str(transformer), framework="pt") as handle:
        metadata = handle.metadata()
    assert "scripts/train_world_backbone.py" in metadata["command"]
    assert int(metadata["training_steps"]) > 0
    config = WorldModelConfig(**json.loads(metadata["world_model_config"]))
    transformer_config = json.loads((base / "transformer" / "config.json").read_text())
    assert transformer_config["num_layers"] == config.num_layers
    assert json.loads(metadata["training_config"])["max_steps"] >= int(metadata["training_steps"])


def test_packaged_base_edits_a_world_clip_through_the_ordinary_pipeline(tmp_path):
    """A fresh (identity) adapter on the packaged base: the whole edit path runs, frames kept."""
    from diffusers import WanTransformer3DModel

    from imvideoedit.adapter_io import save_adapter
    from imvideoedit.injection import attach_adapter
    from imvideoedit.pipeline import ImVideoEditPipeline
    from imvideoedit.video.clip import ClipSpec
    from imvideoedit.world.pairs import heldout_edits
    from imvideoedit.world.render import render

    torch.set_num_threads(1)
    transformer = WanTransformer3DModel.from_pretrained(str(COMMITTED_BASE / "transformer"))
    adapter = save_adapter(attach_adapter(transformer), tmp_path / "init.safetensors")
    pipe = ImVideoEditPipeline.from_pretrained(str(committed_base()), adapter=str(adapter))
    pipe.set_progress_bar_config(disable=True)
    edit = heldout_edits(1)[0]
    source = render(edit.source)  # (9, 32, 32, 3)
    result = pipe(
        video=source,
        prompt=edit.target_caption,
        num_inference_steps=2,
        generator=torch.Generator().manual_seed(0),
        clip_spec=ClipSpec(model_fps=None, num_frames=len(source), height=32, width=32),
        output_type="uint8",
    )
    assert result.frames[0].shape == source.shape


def test_demo_without_a_packaged_base_says_what_to_do(tmp_path, capsys, monkeypatch):
    import imvideoedit.world.base_model as base_model

    monkeypatch.setattr(base_model, "COMMITTED_BASE", tmp_path / "no-base-here")
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--base" in error
    assert not (tmp_path / "demo").exists()
