"""ImVideoEditPipeline: the paired batch, guidance, SDEdit strength, seeds, loading checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from imvideoedit.errors import UserError
from imvideoedit.pipeline import ImVideoEditPipeline
from imvideoedit.vae_latents import encode_pixels
from imvideoedit.video import ClipSpec, load_clip

SMALL = {"num_frames": 5, "height": 32, "width": 32}


@pytest.fixture()
def pipe(editor):
    return editor.pipe


@pytest.fixture()
def kitten_clip(shared_data: Path):
    return load_clip(shared_data / "videos" / "kitten.mp4", ClipSpec(**SMALL))


class ForwardSpy:
    """Records what the transformer receives at every call."""

    def __init__(self, transformer):
        self.calls: list[dict[str, torch.Tensor]] = []
        self.handle = transformer.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs):
        self.calls.append(
            {k: kwargs[k].detach().clone() for k in ("hidden_states", "timestep", "encoder_hidden_states")}
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def _source_latents(pipe, clip) -> torch.Tensor:
    pixels = torch.from_numpy(clip.frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0
    return encode_pixels(pipe.vae, pixels)


def test_every_step_runs_the_paired_batch_with_the_source_at_timestep_zero(pipe, kitten_clip):
    with ForwardSpy(pipe.transformer) as spy:
        pipe(
            kitten_clip,
            "a cat on the grass",
            negative_prompt="blurry",
            num_inference_steps=3,
            guidance_scale=4.0,
            generator=torch.Generator().manual_seed(0),
        )
    assert len(spy.calls) == 3
    source = _source_latents(pipe, kitten_clip)  # (1, C, F, h, w)
    for call, t in zip(spy.calls, pipe.scheduler.timesteps, strict=True):
        hidden, timestep, text = call["hidden_states"], call["timestep"], call["encoder_hidden_states"]
        assert hidden.shape[0] == 4  # [source, source | target, target]
        torch.testing.assert_close(hidden[0:1], source, rtol=0, atol=1e-5)
        torch.testing.assert_close(hidden[1:2], source, rtol=0, atol=1e-5)
        assert torch.equal(hidden[2], hidden[3])
        assert timestep.tolist() == [0, 0, int(t), int(t)]
        # Guidance passes differ only in text: [cond, uncond | cond, uncond].
        assert torch.equal(text[0], text[2]) and torch.equal(text[1], text[3])
        assert not torch.equal(text[0], text[1])


def test_one_batched_forward_equals_two_paired_forwards(pipe, kitten_clip):
    """cat([src, src, tgt, tgt]) pairs item i with item i + 2: the same as two [src, tgt] calls."""
    source = _source_latents(pipe, kitten_clip)
    target = torch.randn(source.shape, generator=torch.Generator().manual_seed(1))
    text = torch.randn(2, 8, pipe.transformer.config.text_dim, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([700])
    with torch.no_grad():
        both = pipe.transformer(
            hidden_states=torch.cat([source, source, target, target]),
            timestep=torch.cat([torch.zeros(2, dtype=t.dtype), t, t]),
            encoder_hidden_states=torch.cat([text, text]),
            return_dict=False,
        )[0][2:]
        separate = [
            pipe.transformer(
                hidden_states=torch.cat([source, target]),
                timestep=torch.cat([torch.zeros(1, dtype=t.dtype), t]),
                encoder_hidden_states=text[i : i + 1].repeat(2, 1, 1),
                return_dict=False,
            )[0][1:]
            for i in range(2)
        ]
    torch.testing.assert_close(both, torch.cat(separate), rtol=1e-4, atol=1e-5)


def test_without_guidance_the_batch_is_one_pair(pipe, kitten_clip):
    with ForwardSpy(pipe.transformer) as spy:
        pipe(kitten_clip, "a cat", num_inference_steps=2, guidance_scale=1.0)
    assert [call["hidden_states"].shape[0] for call in spy.calls] == [2, 2]


def test_strength_below_one_starts_from_the_noised_source(pipe, kitten_clip):
    with ForwardSpy(pipe.transformer) as spy:
        pipe(
            kitten_clip,
            "a cat",
            num_inference_steps=4,
            strength=0.5,
            guidance_scale=1.0,
            generator=torch.Generator().manual_seed(3),
        )
    assert len(spy.calls) == 2  # the first half of the schedule is skipped
    all_steps = pipe.scheduler.timesteps
    assert [int(c["timestep"][1]) for c in spy.calls] == [int(t) for t in all_steps[2:]]
    source = _source_latents(pipe, kitten_clip)
    noise = torch.randn(source.shape, generator=torch.Generator().manual_seed(3))
    sigma = float(pipe.scheduler.sigmas[2])
    expected = (1.0 - sigma) * source + sigma * noise  # rectified flow at the first kept step
    torch.testing.assert_close(spy.calls[0]["hidden_states"][1:2], expected, rtol=1e-4, atol=1e-4)


def test_same_seed_same_video_and_the_source_matters(pipe, kitten_clip, shared_data: Path):
    def run(clip, seed):
        return pipe(
            clip,
            "a cat on the grass",
            num_inference_steps=2,
            guidance_scale=3.0,
            generator=torch.Generator().manual_seed(seed),
            output_type="uint8",
        ).frames

    first, again, other_seed = run(kitten_clip, 5), run(kitten_clip, 5), run(kitten_clip, 6)
    assert first.shape == (1, 5, 32, 32, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other_seed)
    wolf = load_clip(shared_data / "videos" / "wolf.mp4", ClipSpec(**SMALL))
    assert not np.array_equal(first, run(wolf, 5))  # the source stream conditions the edit


def test_array_and_path_inputs(pipe, shared_data: Path):
    frames = np.random.default_rng(0).integers(0, 255, (9, 40, 40, 3), dtype=np.uint8)
    out = pipe(frames, "a red square", num_inference_steps=1, height=32, width=32, output_type="np")
    assert out.frames.shape == (1, 9, 32, 32, 3) and out.frames.min() >= 0.0 and out.frames.max() <= 1.0
    out = pipe(str(shared_data / "videos" / "camel_8frames.mp4"), "a camel", num_inference_steps=1, **SMALL)
    assert out.clip.timing.num_frames == 5 and out.clip.geometry.height == 32
    # "pt" in diffusers' layout and range; return_dict=False gives a plain tuple.
    tensor, clip = pipe(
        frames,
        "a red square",
        num_inference_steps=1,
        height=32,
        width=32,
        output_type="pt",
        return_dict=False,
    )
    assert tensor.shape == (1, 9, 3, 32, 32) and 0.0 <= float(tensor.min()) <= float(tensor.max()) <= 1.0
    assert clip.timing.num_frames == 9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prompt": "   "}, "prompt is empty"),
        ({"strength": 0.0}, "strength"),
        ({"strength": 0.1, "num_inference_steps": 2}, "keeps no step"),
        ({"num_inference_steps": 0}, "num_inference_steps"),
        ({"num_frames": 6}, "4k\\+1"),
        ({"height": 30}, "multiple of 16"),
        ({"guidance_scale": 0.5}, "guidance_scale must be a finite number >= 1"),
        ({"guidance_scale": float("inf")}, "guidance_scale must be a finite number >= 1"),
    ],
)
def test_bad_call_arguments(pipe, kitten_clip, shared_data, kwargs, message):
    arguments = {"prompt": "a cat", "num_inference_steps": 1, **kwargs}
    video = (
        kitten_clip
        if "num_frames" not in kwargs and "height" not in kwargs
        else str(shared_data / "videos" / "kitten.mp4")
    )
    with pytest.raises(UserError, match=message):
        pipe(video, **arguments)


def test_loading_checks_the_adapter(tiny_base_dir: Path, other_base_adapter: Path, tmp_path: Path):
    with pytest.raises(UserError, match="made for another base"):
        ImVideoEditPipeline.from_pretrained(str(tiny_base_dir), adapter=other_base_adapter)
    with pytest.raises(UserError, match="adapter file not found"):
        ImVideoEditPipeline.from_pretrained(str(tiny_base_dir), adapter=tmp_path / "missing.safetensors")
    with pytest.raises(UserError, match="not a diffusers pipeline folder"):
        ImVideoEditPipeline.from_pretrained(str(tmp_path), adapter=other_base_adapter)
    bare = ImVideoEditPipeline.from_pretrained(str(tiny_base_dir))
    with pytest.raises(UserError, match="no ImVideoEdit adapter"):
        bare(np.zeros((5, 32, 32, 3), np.uint8), "a cat", num_inference_steps=1)


def test_a_prepared_clip_must_match_the_requested_size(pipe, kitten_clip):
    with pytest.raises(UserError, match="does not match height=64"):
        pipe(kitten_clip, "a cat", num_inference_steps=1, height=64)
