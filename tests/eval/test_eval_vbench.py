"""VBench's feature-model dimensions: the published formulas, preprocessing, model checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import CLIPConfig, CLIPVisionConfig, CLIPVisionModelWithProjection, ViTConfig, ViTModel

from imvideoedit.errors import UserError
from imvideoedit.eval import vbench_dimensions as vb


def tiny_vit() -> ViTModel:
    torch.manual_seed(0)
    config = ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=224,
        patch_size=16,
    )
    return ViTModel(config, add_pooling_layer=False).eval()


def tiny_clip(projection_dim: int = 16) -> CLIPVisionModelWithProjection:
    torch.manual_seed(0)
    config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=224,
        patch_size=32,
        projection_dim=projection_dim,
    )
    return CLIPVisionModelWithProjection(config).eval()


def test_consistency_formula_matches_hand_computation():
    # t=1: cos to previous 1, to first 1 -> 1; t=2: orthogonal to both -> 0; mean 0.5
    assert vb.consistency_score([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]]) == pytest.approx(0.5)
    # t=1: cos(prev)=cos(first)=0.6 -> 0.6; t=2: cos(prev)=0.96, cos(first)=0.8 -> 0.88; mean 0.74
    assert vb.consistency_score([[1.0, 0.0], [0.6, 0.8], [0.8, 0.6]]) == pytest.approx(0.74)
    assert vb.consistency_score([[1.0, 0.0], [-1.0, 0.0]]) == 0.0  # negative similarity counts as 0
    assert vb.consistency_score([[1.0, 0.0]]) is None


def test_preprocessing_follows_vbench_transforms():
    frames = np.full((2, 100, 200, 3), 128, np.uint8)
    dino = vb.dino_inputs(frames)
    assert tuple(dino.shape) == (2, 3, 224, 448)  # shorter side 224, aspect kept, no crop
    expected_red = (128 / 255 - 0.485) / 0.229
    assert float(dino[0, 0, 10, 10]) == pytest.approx(expected_red, abs=1e-5)
    clip = vb.clip_inputs(np.full((1, 300, 120, 3), 255, np.uint8))
    assert tuple(clip.shape) == (1, 3, 224, 224)
    assert float(clip[0, 2, 100, 100]) == pytest.approx((1.0 - 0.40821073) / 0.27577711, abs=1e-4)


def test_identical_frames_are_perfectly_consistent_and_changes_lower_it(make_frames):
    still = np.repeat(make_frames(1, 64, 96), 4, axis=0)
    changing = make_frames(4, 64, 96, seed=3, shift=(0, 12))
    changing[2:] = 255 - changing[2:]
    vit, clip = tiny_vit(), tiny_clip()
    assert vb.consistency_score(vb.dino_features(vit, still)) == pytest.approx(1.0, abs=1e-5)
    assert vb.consistency_score(vb.clip_features(clip, still)) == pytest.approx(1.0, abs=1e-5)
    assert vb.consistency_score(vb.dino_features(vit, changing)) < 0.999


def test_without_weights_every_feature_dimension_is_unavailable():
    models = vb.VBenchModels(vb.FeatureModelPaths())
    reasons = models.unavailable()
    assert set(reasons) == set(vb.VBENCH_DIMENSIONS)
    assert "DINO ViT-B/16" in reasons["subject_consistency"] and "AMT-S" in reasons["motion_smoothness"]
    assert models.compute(np.zeros((3, 32, 32, 3), np.uint8)) == {}


def test_model_checks_accept_the_named_architectures_only(tmp_path):
    vb.check_dino_vitb16_config(ViTConfig(patch_size=16, hidden_size=768, num_hidden_layers=12), "dino")
    with pytest.raises(UserError, match="patch_size=8"):
        vb.check_dino_vitb16_config(
            ViTConfig(patch_size=8, hidden_size=768, num_hidden_layers=12), "dino-vits8"
        )
    classifier = ViTConfig(
        patch_size=16, hidden_size=768, num_hidden_layers=12, architectures=["ViTForImageClassification"]
    )
    with pytest.raises(UserError, match="supervised ViT classifier"):
        vb.check_dino_vitb16_config(classifier, "google/vit-base-patch16-224")
    b32 = CLIPConfig(
        vision_config={"patch_size": 32, "hidden_size": 768, "image_size": 224}, projection_dim=512
    )
    vb.check_clip_vision_config(b32, "b32", patch=32, hidden=768, projection=512)
    with pytest.raises(UserError, match="CLIP ViT-L/14"):
        vb.check_clip_vision_config(b32, "b32", patch=14, hidden=1024, projection=768)
    # A real folder with the wrong (tiny) model is refused before its weights are used.
    tiny_vit().save_pretrained(tmp_path / "tiny-vit")
    with pytest.raises(UserError, match="defined with DINO ViT-B/16"):
        vb.load_dino_vitb16(tmp_path / "tiny-vit")
    with pytest.raises(UserError, match="folder not found"):
        vb.load_dino_vitb16(tmp_path / "nowhere")


def test_aesthetic_head_is_loaded_and_applied(tmp_path, make_frames):
    head_path = tmp_path / "sa_0_4_vit_l_14_linear.pth"
    torch.save({"weight": torch.full((1, 768), 0.01), "bias": torch.tensor([5.0])}, head_path)
    head = vb.load_aesthetic_head(head_path)
    clip = tiny_clip(projection_dim=768)
    frames = make_frames(3, 64, 64)
    features = torch.nn.functional.normalize(vb.clip_features(clip, frames), dim=-1)
    expected = float(((features @ torch.full((768,), 0.01) + 5.0) / 10).mean())
    assert vb.aesthetic_score(clip, head, frames) == pytest.approx(expected, abs=1e-5)
    torch.save({"weight": torch.zeros(1, 512), "bias": torch.zeros(1)}, tmp_path / "wrong.pth")
    with pytest.raises(UserError, match="not LAION"):
        vb.load_aesthetic_head(tmp_path / "wrong.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read"):
        vb.load_aesthetic_head(tmp_path / "junk.pth")


def test_compute_runs_the_available_dimensions(monkeypatch, tmp_path, make_frames):
    monkeypatch.setattr(vb, "load_dino_vitb16", lambda path: tiny_vit())
    models = vb.VBenchModels(vb.FeatureModelPaths(dino_vitb16=tmp_path))
    values = models.compute(np.repeat(make_frames(1, 48, 64), 3, axis=0))
    assert set(values) == {"subject_consistency"}
    assert values["subject_consistency"] == pytest.approx(1.0, abs=1e-5)
    assert "subject_consistency" not in models.unavailable()
