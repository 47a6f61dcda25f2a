"""An identity "VAE" so that small models can be trained and run directly on pixels.

It has the interface of diffusers' `AutoencoderKLWan` that the trainer and the editing pipeline
use — `encode(x).latent_dist.mode()`, `decode(z)`, and a config with `z_dim`, `latents_mean`,
`latents_std`, `scale_factor_spatial`, `scale_factor_temporal` — so the same code path serves a
real Wan base and a pixel-space base (the procedural world's). It has no weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin


@dataclass
class _Posterior:
    value: torch.Tensor

    def mode(self) -> torch.Tensor:
        return self.value

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.value


@dataclass
class _EncoderOutput:
    latent_dist: _Posterior


@dataclass
class _DecoderOutput:
    sample: torch.Tensor


class PixelSpaceVAE(ModelMixin, ConfigMixin):
    """Pixels in [-1, 1] are the latents; normalisation comes from `latents_mean/std`."""

    @register_to_config
    def __init__(
        self,
        z_dim: int = 3,
        latents_mean: tuple[float, ...] = (0.0, 0.0, 0.0),
        latents_std: tuple[float, ...] = (0.5, 0.5, 0.5),
        scale_factor_spatial: int = 1,
        scale_factor_temporal: int = 1,
    ) -> None:
        super().__init__()
        # One saved buffer, so `.device`, `.dtype`, `.to()`, save_pretrained and from_pretrained behave
        # as for any diffusers model (diffusers expects a weights file in every model folder).
        self.register_buffer("_anchor", torch.zeros(1), persistent=True)

    def encode(self, x: torch.Tensor, return_dict: bool = True):
        """(b, 3, T, H, W) -> posterior whose mode is x itself."""
        output = _EncoderOutput(_Posterior(x.to(self._anchor.dtype)))
        return output if return_dict else (output.latent_dist,)

    def decode(self, z: torch.Tensor, return_dict: bool = True):
        sample = z.to(self._anchor.dtype)
        return _DecoderOutput(sample) if return_dict else (sample,)

    # The real VAE's memory options are meaningless here; accept them so callers need no branches.
    def enable_tiling(self, *args, **kwargs) -> None:
        return None

    def disable_tiling(self) -> None:
        return None

    def enable_slicing(self) -> None:
        return None

    def disable_slicing(self) -> None:
        return None
