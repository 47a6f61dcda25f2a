"""Tiny random-weight diffusers pipelines for the images stage, built in code (nothing downloaded).

A `StableDiffusionPipeline` (text-to-image) and a `StableDiffusionInstructPix2PixPipeline`
(instruction-driven image editing) sharing a 1-layer CLIP text encoder, a character-level CLIP
tokenizer written from a small vocabulary, a 1-level VAE and 2-level UNets. Saved with
`save_pretrained`, they load through `DiffusionPipeline.from_pretrained` like real checkpoints.
"""

from __future__ import annotations

import json
import string
from pathlib import Path


def _clip_tokenizer(directory: Path):
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in string.ascii_lowercase + string.digits + ".,'-()":
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(char + "</w>", len(vocab))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(vocab))
    (directory / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(directory / "vocab.json"), str(directory / "merges.txt"), model_max_length=77)


def write_tiny_image_pipelines(directory: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write `t2i/` and `edit/` pipeline folders under `directory`; returns their paths."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionInstructPix2PixPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = _clip_tokenizer(directory / "tokenizer-src")
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=77,
            projection_dim=16,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    vae = AutoencoderKL(
        block_out_channels=(8,),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=32,
    )

    def unet(in_channels: int) -> UNet2DConditionModel:
        return UNet2DConditionModel(
            block_out_channels=(8, 16),
            layers_per_block=1,
            sample_size=16,
            in_channels=in_channels,
            out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=16,
            norm_num_groups=4,
            attention_head_dim=2,
        )

    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    common = dict(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    t2i_dir, edit_dir = directory / "t2i", directory / "edit"
    StableDiffusionPipeline(unet=unet(4), **common).save_pretrained(t2i_dir)
    StableDiffusionInstructPix2PixPipeline(unet=unet(8), **common).save_pretrained(edit_dir)
    return t2i_dir, edit_dir
