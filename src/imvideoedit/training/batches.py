"""From cache entries to one loss: batch loading, noising and the paired forward pass.

`load_micro_batch` reads this process's slice of a micro-batch from the latent cache (memory
mapped, so only these tensors are read), pads prompt embeddings back to the encoder's full
length with zeros (exactly what the text encoder's padding gives at inference), and
`flow_matching_loss` runs the objective of `imvideoedit.flow_matching` on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from imvideoedit.data.latent_cache import LatentCache
from imvideoedit.data.preprocess import PlannedPair
from imvideoedit.flow_matching import (
    add_noise,
    paired_model_inputs,
    sample_sigmas,
    target_half_loss,
    velocity_target,
)


@dataclass
class PairBatch:
    source: torch.Tensor  # (b, C, 1, h, w) clean source latents
    target: torch.Tensor  # (b, C, 1, h, w) clean target latents
    text: torch.Tensor  # (b, max_tokens, text_dim) edited-prompt embeddings, zero padded

    def to(self, device: torch.device) -> PairBatch:
        """On `device`, in float32 (cached tensors may be stored in bfloat16)."""
        return PairBatch(
            *(t.to(device=device, dtype=torch.float32) for t in (self.source, self.target, self.text))
        )


def pad_text(embedding: torch.Tensor, max_tokens: int) -> torch.Tensor:
    """(n_tokens, D) -> (max_tokens, D), zeros after the prompt (Wan's padding recipe)."""
    padded = embedding.new_zeros(max_tokens, embedding.shape[-1])
    padded[: embedding.shape[0]] = embedding[:max_tokens]
    return padded


def load_pairs(cache: LatentCache, pairs: list[PlannedPair], max_tokens: int) -> PairBatch:
    """Stack the cached tensors of `pairs` (all from one bucket) into a batch."""
    source = torch.stack([cache.get(p.pair_entry, "source") for p in pairs])  # (b, C, 1, h, w)
    target = torch.stack([cache.get(p.pair_entry, "target") for p in pairs])  # (b, C, 1, h, w)
    text = torch.stack([pad_text(cache.get(p.text_entry, "text"), max_tokens) for p in pairs])  # (b, L, D)
    return PairBatch(source, target, text)


def load_micro_batch(
    cache: LatentCache,
    planned: list[PlannedPair],
    indices: list[int],
    rank: int,
    per_device: int,
    max_tokens: int,
) -> PairBatch:
    """This process's slice `rank` of the micro-batch `indices` (len = per_device * processes)."""
    mine = indices[rank * per_device : (rank + 1) * per_device]
    return load_pairs(cache, [planned[i] for i in mine], max_tokens)


def draw_noise(
    generator: torch.Generator, micro_batch_size: int, latent_shape: tuple[int, ...], shift: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise levels (M,) and noise (M, *latent_shape) for a whole micro-batch of M pairs.

    Drawn on the CPU for all M on every process, then sliced, so a pair's noise does not depend
    on how many processes share the micro-batch.
    """
    sigma = sample_sigmas(micro_batch_size, shift, generator)  # (M,)
    noise = torch.randn((micro_batch_size, *latent_shape), generator=generator, dtype=torch.float32)
    return sigma, noise


def flow_matching_loss(
    model: torch.nn.Module,
    batch: PairBatch,
    sigma: torch.Tensor,
    noise: torch.Tensor,
    input_dtype: torch.dtype,
) -> torch.Tensor:
    """Rectified-flow loss on the target half of one paired forward pass (docs/training.md, "What one step does").

    The noising and the velocity target are computed in float32 from the float32 batch; only
    the model's inputs are cast to `input_dtype` (the backbone's dtype).
    """
    device = batch.target.device
    sigma, noise = sigma.to(device), noise.to(device)
    noisy_target = add_noise(batch.target, noise, sigma)  # (b, C, 1, h, w)
    inputs = paired_model_inputs(
        batch.source.to(input_dtype), noisy_target.to(input_dtype), sigma, batch.text.to(input_dtype)
    )
    prediction = model(**inputs)[0]  # (2b, C, 1, h, w)
    return target_half_loss(prediction, velocity_target(batch.target, noise))
