"""Tiny random Wan transformers built in code for the core tests (never downloaded)."""

from __future__ import annotations

import torch
from diffusers import WanTransformer3DModel

TEXT_DIM = 16
IN_CHANNELS = 4


def tiny_transformer(num_layers: int = 2, seed: int = 0, **overrides) -> WanTransformer3DModel:
    torch.manual_seed(seed)
    config = dict(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=IN_CHANNELS,
        out_channels=IN_CHANNELS,
        text_dim=TEXT_DIM,
        freq_dim=16,
        ffn_dim=32,
        num_layers=num_layers,
        cross_attn_norm=True,
        rope_max_seq_len=64,
    )
    config.update(overrides)
    return WanTransformer3DModel(**config).eval()


def paired_inputs(b: int = 2, frames: int = 3, height: int = 8, width: int = 10, seed: int = 1):
    """hidden_states (2b, C, F, H, W) = [sources; targets], timesteps [0]*b + [t_i], text (2b, 7, D)."""
    generator = torch.Generator().manual_seed(seed)
    source = torch.randn(b, IN_CHANNELS, frames, height, width, generator=generator)
    target = torch.randn(b, IN_CHANNELS, frames, height, width, generator=generator)
    t = torch.linspace(250.0, 750.0, b)
    text = torch.randn(b, 7, TEXT_DIM, generator=generator)
    return torch.cat([source, target]), torch.cat([torch.zeros(b), t]), torch.cat([text, text])


def forward(model, hidden, timestep, text) -> torch.Tensor:
    return model(hidden_states=hidden, timestep=timestep, encoder_hidden_states=text, return_dict=False)[0]


@torch.no_grad()
def perturb_adapter(model, scale: float = 0.05, seed: int = 3, trainable_only: bool = False) -> None:
    """Move adapter weights off their initial values, as training would."""
    generator = torch.Generator().manual_seed(seed)
    for name, param in model.named_parameters():
        if ".adapter." in name and (param.requires_grad or not trainable_only):
            param.add_(scale * torch.randn(param.shape, generator=generator))
