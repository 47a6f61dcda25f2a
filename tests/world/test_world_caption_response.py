"""The caption-response reading: one word changed, the same noise; renders are the reference."""

from __future__ import annotations

import numpy as np
import torch

from imvideoedit.world.caption_response import (
    ATTRIBUTES,
    WordResponse,
    changed_share,
    response_scenes,
    variants,
    word_response,
)
from imvideoedit.world.render import render


def test_variants_change_only_the_named_word():
    scene = response_scenes(1)[0]
    for attribute in ATTRIBUTES:
        group = variants(scene, attribute)
        assert len({getattr(v.shapes[0], attribute) for v in group}) == len(group) > 1
        for v in group:  # everything else is the scene itself
            assert v.background == scene.background and v.frames == 1
            others = {k: getattr(v.shapes[0], k) for k in ("x", "y", "vx", "vy")}
            assert others == {k: getattr(scene.shapes[0], k) for k in others}
        if attribute == "colour":  # never the background's colours
            assert all(
                v.shapes[0].colour not in (scene.background.colour_a, scene.background.colour_b)
                for v in group
            )


def test_renders_respond_to_every_word_and_identical_images_do_not():
    scene = response_scenes(1)[0]
    for attribute in ATTRIBUTES:
        group = variants(scene, attribute)
        assert changed_share(render(group[0]), render(group[1])) > 0.005
    image = render(scene)
    assert changed_share(image, image.copy()) == 0.0
    assert WordResponse("kind", 0.0, 0.05).ratio == 0.0


class _Ignores:
    """A stand-in base that draws the same picture whatever the caption says."""

    def __call__(self, prompt, latents, **_):
        from types import SimpleNamespace

        frames = (latents.clamp(-1, 1).permute(0, 2, 3, 4, 1).numpy() + 1) / 2  # (b, T, H, W, 3)
        return SimpleNamespace(frames=list(frames))

    class transformer:  # noqa: N801 - mimics pipe.transformer.config
        config = type("C", (), {"in_channels": 3})

    tokenizer = None
    vae_scale_factor_temporal = vae_scale_factor_spatial = 1  # pixels are its latents


def test_a_base_that_ignores_words_reads_zero(monkeypatch):
    import imvideoedit.text_encoding as text_encoding

    monkeypatch.setattr(text_encoding, "text_length", lambda tokenizer: 8)
    results = word_response(_Ignores(), count=2, steps=1)
    assert [r.attribute for r in results] == list(ATTRIBUTES)
    assert all(r.samples == 0.0 and r.renders > 0.0 for r in results)


def test_word_response_runs_on_a_small_base(small_world_base):
    from imvideoedit.world.temporal_prior import load_base_pipeline

    torch.set_num_threads(1)
    results = word_response(load_base_pipeline(small_world_base), count=1, steps=2)
    assert all(np.isfinite(r.samples) and 0.0 <= r.samples <= 1.0 for r in results)
