"""Pixels <-> normalised Wan latents with diffusers' `AutoencoderKLWan`.

Encoding takes the posterior's mode (no sampling noise) and normalises with the VAE's
`latents_mean` / `latents_std`, as diffusers' Wan video-to-video pipeline does; decoding undoes
it. Images are single-frame videos: (b, 3, 1, H, W) -> (b, z, 1, H/8, W/8).
"""

from __future__ import annotations

import torch


def _stats(vae, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    z_dim = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean, device=like.device, dtype=like.dtype).view(1, z_dim, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std, device=like.device, dtype=like.dtype).view(1, z_dim, 1, 1, 1)
    return mean, std


@torch.no_grad()
def encode_pixels(vae, pixels: torch.Tensor) -> torch.Tensor:
    """pixels (b, 3, T, H, W) in [-1, 1] -> normalised latents (b, z, 1 + (T-1)//4, H/8, W/8)."""
    pixels = pixels.to(device=vae.device, dtype=vae.dtype)
    latents = vae.encode(pixels).latent_dist.mode()
    mean, std = _stats(vae, latents)
    return (latents - mean) / std


@torch.no_grad()
def decode_latents(vae, latents: torch.Tensor) -> torch.Tensor:
    """normalised latents (b, z, F, h, w) -> pixels (b, 3, T, H, W), clamped to [-1, 1]."""
    latents = latents.to(device=vae.device, dtype=vae.dtype)
    mean, std = _stats(vae, latents)
    pixels = vae.decode(latents * std + mean, return_dict=False)[0]
    return pixels.clamp(-1.0, 1.0)
