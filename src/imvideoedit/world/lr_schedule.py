"""The world trainers' learning-rate schedule: linear warm-up, then cosine decay to a tenth."""

from __future__ import annotations

import math


def warmup_cosine(step: int, warmup_steps: int, max_steps: int) -> float:
    """The factor on the base learning rate at `step`: (step + 1) / warmup_steps during the
    warm-up, then a cosine from 1 down to 0.1 at `max_steps` (held there after it)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, max_steps - warmup_steps)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
