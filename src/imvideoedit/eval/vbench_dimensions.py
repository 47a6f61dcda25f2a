"""VBench's feature-model dimensions, by their published definitions, from weights on disk.

VBench (Huang et al., CVPR 2024; code `vbench/*.py`) defines:

- subject consistency: DINO ViT-B/16 features of every frame (shorter side resized to 224,
  no crop, ImageNet normalisation); per frame t >= 1 the mean of max(0, cos(f_t, f_{t-1})) and
  max(0, cos(f_t, f_0)); averaged over those frames.
- background consistency: the same formula on CLIP ViT-B/32 image embeddings (bicubic resize
  of the shorter side to 224, centre crop 224, CLIP normalisation).
- aesthetic quality: the LAION aesthetic predictor, a linear layer (768 -> 1) on L2-normalised
  CLIP ViT-L/14 image embeddings, divided by 10, averaged over frames.

They are computed only when the user points to those exact models (transformers folders of
`facebook/dino-vitb16`, `openai/clip-vit-base-patch32`, `openai/clip-vit-large-patch14`, and
LAION's `sa_0_4_vit_l_14_linear.pth`); each folder's configuration is checked against the
architecture the definition names, and a different model is refused rather than reported under
the same name. Without weights the dimension is reported as unavailable, with the reason.

Motion smoothness (AMT-S frame interpolation) and imaging quality (MUSIQ via pyiqa) have no
transformers implementation and are always reported unavailable here.

Differences from VBench's code, stated so they are not hidden: DINO runs through transformers'
`ViTModel` (CLS token after the final layer norm, the same output as the torch.hub model, with
position embeddings interpolated by transformers for non-square frames), CLIP through
`CLIPVisionModelWithProjection` (the same weights as OpenAI's `clip` package); resizing uses
`torch.nn.functional.interpolate` without antialiasing, as torchvision does with
`antialias=False`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imvideoedit.errors import UserError

SUBJECT_CONSISTENCY = "subject_consistency"
BACKGROUND_CONSISTENCY = "background_consistency"
AESTHETIC_QUALITY = "aesthetic_quality"
MOTION_SMOOTHNESS = "motion_smoothness"
IMAGING_QUALITY = "imaging_quality"
VBENCH_DIMENSIONS = (
    SUBJECT_CONSISTENCY,
    BACKGROUND_CONSISTENCY,
    MOTION_SMOOTHNESS,
    AESTHETIC_QUALITY,
    IMAGING_QUALITY,
)

ALWAYS_UNAVAILABLE = {
    MOTION_SMOOTHNESS: "needs the AMT-S frame-interpolation model, which has no transformers implementation",
    IMAGING_QUALITY: "needs the MUSIQ model (pyiqa), which has no transformers implementation",
}

_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_CLIP_MEAN, _CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class FeatureModelPaths:
    dino_vitb16: Path | None = None
    clip_vit_b32: Path | None = None
    clip_vit_l14: Path | None = None
    laion_aesthetic_head: Path | None = None  # sa_0_4_vit_l_14_linear.pth
    device: str = "cpu"

    def identity(self) -> dict[str, str | None]:
        return {
            "dino_vitb16": str(self.dino_vitb16) if self.dino_vitb16 else None,
            "clip_vit_b32": str(self.clip_vit_b32) if self.clip_vit_b32 else None,
            "clip_vit_l14": str(self.clip_vit_l14) if self.clip_vit_l14 else None,
            "laion_aesthetic_head": str(self.laion_aesthetic_head) if self.laion_aesthetic_head else None,
        }


def consistency_score(features: Any) -> float | None:
    """VBench's consistency of per-frame features (T, D): see the module docstring."""
    import torch
    import torch.nn.functional as F

    features = F.normalize(torch.as_tensor(features, dtype=torch.float32), dim=-1)
    if features.shape[0] < 2:
        return None
    to_previous = (features[1:] * features[:-1]).sum(-1).clamp(min=0.0)
    to_first = (features[1:] * features[:1]).sum(-1).clamp(min=0.0)
    return float(((to_previous + to_first) / 2).mean())


def _resize_shorter(pixels: Any, size: int, mode: str) -> Any:
    """(T, 3, H, W) float -> shorter side `size`, longer side int(size * long / short)."""
    import torch.nn.functional as F

    height, width = pixels.shape[-2:]
    if width <= height:
        new_width, new_height = size, int(size * height / width)
    else:
        new_height, new_width = size, int(size * width / height)
    return F.interpolate(
        pixels, size=(new_height, new_width), mode=mode, align_corners=False, antialias=False
    )


def _normalise(pixels: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    import torch

    mean_t = torch.tensor(mean, dtype=pixels.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=pixels.dtype).view(1, 3, 1, 1)
    return (pixels / 255.0 - mean_t) / std_t


def dino_inputs(frames: np.ndarray) -> Any:
    """(T, H, W, 3) uint8 -> (T, 3, 224, W') float, VBench's `dino_transform(224)`."""
    import torch

    pixels = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    return _normalise(_resize_shorter(pixels, 224, "bilinear"), _IMAGENET_MEAN, _IMAGENET_STD)


def clip_inputs(frames: np.ndarray, size: int = 224) -> Any:
    """(T, H, W, 3) uint8 -> (T, 3, 224, 224) float, VBench's `clip_transform(224)`."""
    import torch

    pixels = _resize_shorter(
        torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float(), size, "bicubic"
    )
    height, width = pixels.shape[-2:]
    top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
    pixels = pixels[..., top : top + size, left : left + size]
    return _normalise(pixels, _CLIP_MEAN, _CLIP_STD)


def dino_features(model: Any, frames: np.ndarray, batch_size: int = 16) -> Any:
    """CLS features (T, D) of a transformers `ViTModel`."""
    import torch

    outputs = []
    with torch.inference_mode():
        for start in range(0, len(frames), batch_size):
            pixels = dino_inputs(frames[start : start + batch_size]).to(model.device, model.dtype)
            hidden = model(pixel_values=pixels, interpolate_pos_encoding=True).last_hidden_state
            outputs.append(hidden[:, 0].float().cpu())
    return torch.cat(outputs)


def clip_features(model: Any, frames: np.ndarray, batch_size: int = 16) -> Any:
    """Projected image embeddings (T, D) of a transformers `CLIPVisionModelWithProjection`."""
    import torch

    size = int(model.config.image_size)
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(frames), batch_size):
            pixels = clip_inputs(frames[start : start + batch_size], size).to(model.device, model.dtype)
            outputs.append(model(pixel_values=pixels).image_embeds.float().cpu())
    return torch.cat(outputs)


def aesthetic_score(clip_l14: Any, head: Any, frames: np.ndarray) -> float:
    """Mean over frames of LAION's linear head on normalised CLIP ViT-L/14 embeddings, / 10."""
    import torch
    import torch.nn.functional as F

    features = F.normalize(clip_features(clip_l14, frames), dim=-1)
    with torch.inference_mode():
        scores = head(features.to(head.weight.device, head.weight.dtype)).squeeze(-1).float().cpu()
    return float((scores / 10.0).mean())


class VBenchModels:
    """The feature models named by `FeatureModelPaths`, loaded (and checked) on first use."""

    def __init__(self, paths: FeatureModelPaths) -> None:
        self.paths = paths
        self._loaded: dict[str, Any] = {}

    def unavailable(self) -> dict[str, str]:
        """Dimensions that cannot be computed with the given paths, with the reason."""
        reasons = dict(ALWAYS_UNAVAILABLE)
        if self.paths.dino_vitb16 is None:
            reasons[SUBJECT_CONSISTENCY] = "needs DINO ViT-B/16 weights on disk (--dino-vitb16 PATH)"
        if self.paths.clip_vit_b32 is None:
            reasons[BACKGROUND_CONSISTENCY] = "needs CLIP ViT-B/32 weights on disk (--clip-vit-b32 PATH)"
        if self.paths.clip_vit_l14 is None or self.paths.laion_aesthetic_head is None:
            reasons[AESTHETIC_QUALITY] = (
                "needs CLIP ViT-L/14 weights and the LAION aesthetic head on disk "
                "(--clip-vit-l14 PATH --aesthetic-head sa_0_4_vit_l_14_linear.pth)"
            )
        return reasons

    def check(self) -> None:
        """Refuse, before any clip is measured, a weights path that is missing or holds another model.

        Only configurations are read here (and the aesthetic head, a few KB); weights load on first use.
        """
        p = self.paths
        if p.dino_vitb16 is not None:
            check_dino_vitb16_config(_local_config(p.dino_vitb16, "DINO ViT-B/16"), p.dino_vitb16)
        for path, patch, hidden, projection in (
            (p.clip_vit_b32, 32, 768, 512),
            (p.clip_vit_l14, 14, 1024, 768),
        ):
            if path is not None:
                config = _local_config(path, f"CLIP ViT (patch {patch})")
                check_clip_vision_config(config, path, patch=patch, hidden=hidden, projection=projection)
        if p.laion_aesthetic_head is not None:
            load_aesthetic_head(p.laion_aesthetic_head)

    def compute(self, frames: np.ndarray) -> dict[str, float | None]:
        """Every available dimension for one clip (T, H, W, 3) uint8."""
        unavailable = self.unavailable()
        values: dict[str, float | None] = {}
        if SUBJECT_CONSISTENCY not in unavailable:
            values[SUBJECT_CONSISTENCY] = consistency_score(dino_features(self._model("dino"), frames))
        if BACKGROUND_CONSISTENCY not in unavailable:
            values[BACKGROUND_CONSISTENCY] = consistency_score(clip_features(self._model("clip_b32"), frames))
        if AESTHETIC_QUALITY not in unavailable:
            values[AESTHETIC_QUALITY] = aesthetic_score(
                self._model("clip_l14"), self._model("aesthetic"), frames
            )
        return values

    def _model(self, name: str) -> Any:
        if name not in self._loaded:
            loaders = {
                "dino": lambda: load_dino_vitb16(self.paths.dino_vitb16),
                "clip_b32": lambda: load_clip_vision(
                    self.paths.clip_vit_b32, patch=32, hidden=768, projection=512
                ),
                "clip_l14": lambda: load_clip_vision(
                    self.paths.clip_vit_l14, patch=14, hidden=1024, projection=768
                ),
                "aesthetic": lambda: load_aesthetic_head(self.paths.laion_aesthetic_head),
            }
            self._loaded[name] = loaders[name]().to(self.paths.device).eval()
        return self._loaded[name]


def _local_config(path: Path | None, what: str) -> Any:
    from transformers import AutoConfig

    if path is None or not Path(path).is_dir():
        raise UserError(f"{what} folder not found: {path}")
    try:
        return AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as error:
        raise UserError(
            f"cannot read a transformers config for {what} in {path}: {' '.join(str(error).split())[:200]}"
        ) from None


def check_dino_vitb16_config(config: Any, path: Path | str) -> None:
    """Refuse anything but a ViT-B/16 backbone without a classification head (DINO's shape)."""
    shape = (
        getattr(config, "model_type", None),
        getattr(config, "patch_size", None),
        getattr(config, "hidden_size", None),
        getattr(config, "num_hidden_layers", None),
    )
    if shape != ("vit", 16, 768, 12):
        raise UserError(
            f"subject consistency is defined with DINO ViT-B/16 (facebook/dino-vitb16); {path} holds "
            f"model_type={shape[0]}, patch_size={shape[1]}, hidden_size={shape[2]}, layers={shape[3]}"
        )
    if any("Classification" in name for name in (getattr(config, "architectures", None) or [])):
        raise UserError(f"{path} is a supervised ViT classifier, not DINO ViT-B/16 (facebook/dino-vitb16)")


def check_clip_vision_config(
    config: Any, path: Path | str, *, patch: int, hidden: int, projection: int
) -> None:
    vision = getattr(config, "vision_config", config)
    shape = (
        getattr(vision, "patch_size", None),
        getattr(vision, "hidden_size", None),
        getattr(config, "projection_dim", getattr(vision, "projection_dim", None)),
        getattr(vision, "image_size", None),
    )
    if getattr(config, "model_type", "") not in ("clip", "clip_vision_model") or shape != (
        patch,
        hidden,
        projection,
        224,
    ):
        name = {
            32: "CLIP ViT-B/32 (openai/clip-vit-base-patch32)",
            14: "CLIP ViT-L/14 (openai/clip-vit-large-patch14)",
        }[patch]
        raise UserError(
            f"this dimension is defined with {name}; {path} holds model_type={getattr(config, 'model_type', None)}, "
            f"patch_size={shape[0]}, hidden_size={shape[1]}, projection_dim={shape[2]}, image_size={shape[3]}"
        )


def load_dino_vitb16(path: Path | None) -> Any:
    from transformers import ViTModel

    config = _local_config(path, "DINO ViT-B/16")
    check_dino_vitb16_config(config, path)
    return ViTModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False)


def load_clip_vision(path: Path | None, *, patch: int, hidden: int, projection: int) -> Any:
    from transformers import CLIPVisionModelWithProjection

    config = _local_config(path, f"CLIP ViT (patch {patch})")
    check_clip_vision_config(config, path, patch=patch, hidden=hidden, projection=projection)
    return CLIPVisionModelWithProjection.from_pretrained(path, local_files_only=True)


def load_aesthetic_head(path: Path | None) -> Any:
    """LAION's aesthetic predictor: a state dict {weight (1, 768), bias (1,)} for nn.Linear(768, 1)."""
    import torch

    if path is None or not Path(path).is_file():
        raise UserError(f"LAION aesthetic head not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means "not that file"
        raise UserError(f"cannot read the aesthetic head {path}: {type(error).__name__}") from None
    shapes = {key: tuple(value.shape) for key, value in state.items()} if isinstance(state, dict) else {}
    if shapes != {"weight": (1, 768), "bias": (1,)}:
        raise UserError(
            f"{path} is not LAION's sa_0_4_vit_l_14_linear.pth (expected weight (1, 768) and bias (1,), got {shapes})"
        )
    head = torch.nn.Linear(768, 1)
    head.load_state_dict(state)
    return head
