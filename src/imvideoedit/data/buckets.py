"""Aspect-ratio buckets around a target pixel area, and the resize + crop shared by a pair.

Training images come in many shapes. Rather than squashing them all to 480x832, each pair goes
to the bucket (a height x width with about the target's pixel area, both multiples of 16) whose
aspect ratio is closest to its source image's, is scaled to cover that bucket and centre-cropped.
The target gets the same operation, so the two stay pixel-aligned (validation has already
refused pairs whose aspect ratios differ). A batch draws from one bucket only.

Multiples of 16: the VAE downsamples by 8 and the transformer patches 2x2 latents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

SPATIAL_MULTIPLE = 16  # VAE spatial compression (8) x transformer patch size (2)
RESAMPLE = Image.Resampling.BICUBIC


@dataclass(frozen=True, order=True)
class Bucket:
    height: int
    width: int

    @property
    def name(self) -> str:
        return f"{self.height}x{self.width}"

    @property
    def aspect(self) -> float:
        return self.width / self.height


def make_buckets(height: int, width: int, step: int = 64, max_aspect: float = 3.0) -> list[Bucket]:
    """Buckets of about `height * width` pixels: widths on a `step` grid, heights rounded to 16.

    The requested size and its transpose are always included, so a dataset of 480x832 images
    (or 832x480) trains at exactly that size.
    """
    for name, value in (("height", height), ("width", width)):
        if value < SPATIAL_MULTIPLE or value % SPATIAL_MULTIPLE:
            raise ValueError(f"bucket {name} must be a positive multiple of {SPATIAL_MULTIPLE}, got {value}")
    area = height * width
    buckets = {Bucket(height, width), Bucket(width, height)}
    candidate = step
    while candidate * SPATIAL_MULTIPLE <= area:
        other = max(SPATIAL_MULTIPLE, round(area / candidate / SPATIAL_MULTIPLE) * SPATIAL_MULTIPLE)
        for bucket in (Bucket(other, candidate), Bucket(candidate, other)):
            if max(bucket.aspect, 1 / bucket.aspect) <= max_aspect:
                buckets.add(bucket)
        candidate += step
    return sorted(buckets, key=lambda b: (b.aspect, b.height))


def choose_bucket(width: int, height: int, buckets: list[Bucket]) -> Bucket:
    """The bucket whose aspect ratio is closest (in log space) to `width / height`."""
    log_aspect = math.log(width / height)
    return min(buckets, key=lambda b: (abs(math.log(b.aspect) - log_aspect), -b.height * b.width, b.height))


def resize_and_crop(image: Image.Image, bucket: Bucket) -> Image.Image:
    """Scale `image` to cover `bucket` (keeping its aspect ratio), then crop the centre."""
    width, height = image.size
    scale = max(bucket.width / width, bucket.height / height)
    new_width = max(bucket.width, round(width * scale))
    new_height = max(bucket.height, round(height * scale))
    if (new_width, new_height) != (width, height):
        image = image.resize((new_width, new_height), RESAMPLE)
    left = (new_width - bucket.width) // 2
    top = (new_height - bucket.height) // 2
    return image.crop((left, top, left + bucket.width, top + bucket.height))


def image_to_video_tensor(image: Image.Image) -> torch.Tensor:
    """RGB image (H, W) -> single-frame video tensor (3, 1, H, W) in [-1, 1]."""
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(1).contiguous()  # (3, 1, H, W)
