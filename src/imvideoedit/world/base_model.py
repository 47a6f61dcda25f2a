"""The world's text-to-video base: a small Wan transformer on pixels (or a small VAE's latents),
with a small UMT5 encoder.

The base is a diffusers folder like any Wan base (model_index.json, transformer/, vae/,
text_encoder/, tokenizer/, scheduler/), so the trainer, `ImVideoEditPipeline` and every command
that takes `--base` use it exactly as they use Wan2.1. Its VAE is `PixelSpaceVAE` (pixels are
the latents; the packaged base) or a small trained `AutoencoderKLWan` (`world_vae`), and its
tokenizer knows the world's words.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from imvideoedit.world.scene import (
    BACKGROUND_KINDS,
    COLOURS,
    LIGHTS,
    SHAPE_KINDS,
    SIZES,
    STYLES,
)

WORLD_WORDS = (
    [
        "a",
        "and",
        "the",
        "over",
        "of",
        "in",
        "to",
        "with",
        "move",
        "moves",
        "camera",
        "pans",
        "zoomed",
        "light",
        "style",
        "background",
        "plain",
        "vertical",
        "horizontal",
        "stripes",
        "gradient",
        "checkerboard",
        "outlined",
        "black",
        "make",
        "replace",
        "remove",
        "add",
        "change",
        "lighting",
        "render",
        "scene",
        "zoom",
        "outline",
    ]
    + list(COLOURS)
    + list(SHAPE_KINDS)
    + list(SIZES)
    + list(LIGHTS)
    + list(STYLES)
    + list(BACKGROUND_KINDS)
)


WORLD_TEXT_LENGTH = 64  # tokens: the longest world caption is well under this
WORLD_FLOW_SHIFT = 3.0  # the sigma shift the world base trains with and samples with


@dataclass(frozen=True)
class WorldModelConfig:
    """Sizes of the world base (defaults: the committed base)."""

    dim_heads: int = 4
    head_dim: int = 32
    num_layers: int = 6
    ffn_dim: int = 512
    patch: int = 4
    text_dim: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_ffn: int = 128
    # Channels of what the transformer denoises: 3 on pixels (`PixelSpaceVAE`), a world VAE's
    # z_dim on its latents (`BackboneTrainingConfig.vae`; set from the VAE, not chosen).
    latent_channels: int = 3


def build_world_tokenizer():
    """The world's tokenizer: a fixed vocabulary of the captions' words, built in code."""
    from imvideoedit.tiny_base import build_tokenizer

    return build_tokenizer(WORLD_WORDS, max_length=WORLD_TEXT_LENGTH)


def build_world_components(
    config: WorldModelConfig = WorldModelConfig(),
    seed: int = 0,
    sigma_shift: float = WORLD_FLOW_SHIFT,
    vae=None,
) -> dict:
    """Freshly initialised transformer + text encoder, and the tokenizer, VAE and scheduler (its
    `sigma_shift`: a base samples with the shift it trained with). `vae`: a trained world VAE
    (`world_vae`) whose latents the transformer works on; None: pixels (`PixelSpaceVAE`)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from imvideoedit.errors import UserError
    from imvideoedit.pixel_space_vae import PixelSpaceVAE

    latent_channels = 3 if vae is None else vae.config.z_dim
    if config.latent_channels != latent_channels:
        raise UserError(
            f"the {'pixels have' if vae is None else 'VAE has'} {latent_channels} latent channels, "
            f"the model {config.latent_channels}: set the model's latent_channels to {latent_channels}"
        )
    tokenizer = build_world_tokenizer()
    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(
        patch_size=(1, config.patch, config.patch),
        num_attention_heads=config.dim_heads,
        attention_head_dim=config.head_dim,
        in_channels=latent_channels,
        out_channels=latent_channels,
        text_dim=config.text_dim,
        freq_dim=64,
        ffn_dim=config.ffn_dim,
        num_layers=config.num_layers,
        cross_attn_norm=True,
        rope_max_seq_len=256,
    )
    torch.manual_seed(seed + 1)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=config.text_dim,
            d_kv=config.text_dim // config.text_heads,
            d_ff=config.text_ffn,
            num_layers=config.text_layers,
            num_heads=config.text_heads,
            relative_attention_num_buckets=16,
            dropout_rate=0.0,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )
    )
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=sigma_shift)
    return {
        "transformer": transformer,
        "vae": PixelSpaceVAE() if vae is None else vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "scheduler": scheduler,
    }


@torch.no_grad()
def zero_residual_outputs(transformer) -> None:
    """Zero the output projection of every residual branch (self- and cross-attention, FFN) of a
    `WanTransformer3DModel` and its final projection, so that each block starts as the identity
    and the model's first prediction is zero (DiT's adaLN-Zero idea, reached through the output
    projections since Wan's gates also carry the timestep's projection)."""
    layers = [transformer.proj_out]
    for block in transformer.blocks:
        layers += [block.attn1.to_out[0], block.attn2.to_out[0], block.ffn.net[2]]
    for layer in layers:
        if not isinstance(layer, torch.nn.Linear):  # a diffusers change must fail here, loudly
            raise TypeError(f"expected a Linear output projection in WanTransformer3DModel, got {layer!r}")
        layer.weight.zero_()
        layer.bias.zero_()


def save_world_base(components: dict, directory: str | os.PathLike, metadata: dict[str, str]) -> Path:
    """Write the base in diffusers layout; the transformer's safetensors carries `metadata`."""
    from diffusers import WanPipeline
    from safetensors.torch import load_file, save_file

    from imvideoedit.atomic_write import atomic_directory

    target = Path(directory)
    with atomic_directory(target, replace=True) as tmp:
        WanPipeline(**components).save_pretrained(str(tmp), safe_serialization=True)
        for weights in (tmp / "transformer").glob("*.safetensors"):
            tensors = load_file(str(weights))
            save_file(tensors, str(weights), metadata={"format": "pt", **metadata})
    return target


def model_config_metadata(config: WorldModelConfig) -> dict[str, str]:
    return {"world_model_config": json.dumps(asdict(config), sort_keys=True)}


def base_model_config(base_dir: str | os.PathLike) -> WorldModelConfig:
    """The model sizes a world base was saved with (`model_config_metadata`, read back)."""
    from imvideoedit.errors import UserError

    metadata = base_metadata(base_dir)
    if "world_model_config" not in metadata:
        raise UserError(f"{base_dir} carries no world_model_config: not written by this project's trainer")
    return WorldModelConfig(**json.loads(metadata["world_model_config"]))


def base_metadata(base_dir: str | os.PathLike) -> dict[str, str]:
    """A world base's provenance: its transformer's safetensors metadata (model sizes, training
    config, steps, command)."""
    from safetensors import safe_open

    from imvideoedit.errors import UserError

    files = sorted((Path(base_dir) / "transformer").glob("*.safetensors"))
    if not files:
        raise UserError(f"{base_dir} is not a world base (no transformer/*.safetensors)")
    with safe_open(str(files[0]), "pt") as weights:
        return dict(weights.metadata() or {})


COMMITTED_BASE = Path(__file__).parent / "assets" / "world-base"


def committed_base() -> Path:
    """The world base that ships with the package (trained once by scripts/train_world_backbone.py;
    its command, recipe and step count are in the transformer's safetensors metadata).

    Its temporal prior, measured, is in docs/proving_ground.md.
    """
    from imvideoedit.errors import UserError

    if not (COMMITTED_BASE / "model_index.json").is_file():
        raise UserError(
            f"no world base found at {COMMITTED_BASE} (is the package installed from a full checkout?); "
            "pass --base DIR (train one with scripts/train_world_backbone.py, see docs/proving_ground.md)"
        )
    return COMMITTED_BASE
