"""Fixtures for the editing tests: a random adapter for the tiny base, a loaded editor, bad media."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from edit_media import write_test_video


@pytest.fixture(scope="session")
def random_adapter(tiny_base_dir: Path, tmp_path_factory) -> Path:
    """An adapter for the tiny base whose weights are perturbed away from the identity init."""
    from imvideoedit import AdapterConfig, attach_adapter, save_adapter
    from imvideoedit.wan_configs import load_transformer

    transformer = load_transformer(str(tiny_base_dir))
    attach_adapter(transformer, AdapterConfig())
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in transformer.parameters():
            if param.requires_grad:
                param.add_(0.05 * torch.randn(param.shape, generator=generator))
    path = tmp_path_factory.mktemp("adapter") / "adapter.safetensors"
    save_adapter(transformer, path)
    return path


@pytest.fixture(scope="session")
def other_base_adapter(tmp_path_factory) -> Path:
    """An adapter saved from a transformer with another architecture (one block, not two)."""
    from diffusers import WanTransformer3DModel

    from imvideoedit import AdapterConfig, attach_adapter, save_adapter
    from imvideoedit.wan_configs import NAMED_CONFIGS

    torch.manual_seed(0)
    transformer = WanTransformer3DModel(**{**NAMED_CONFIGS["tiny"], "num_layers": 1})
    attach_adapter(transformer, AdapterConfig())
    path = tmp_path_factory.mktemp("other-adapter") / "other.safetensors"
    save_adapter(transformer, path)
    return path


@pytest.fixture(scope="session")
def editor(tiny_base_dir: Path, random_adapter: Path):
    """The tiny base with the random adapter, loaded once on CPU."""
    from imvideoedit.video_editing import ModelSpec, VideoEditor

    return VideoEditor(
        ModelSpec(base=str(tiny_base_dir), adapter=str(random_adapter), device="cpu"), progress=False
    )


@pytest.fixture(scope="session")
def bad_media(shared_data: Path, tmp_path_factory) -> dict[str, Path]:
    """Files that must be refused: truncated, corrupt index, not a video, audio only, 0/1 frames."""
    folder = tmp_path_factory.mktemp("bad-media")
    videos = shared_data / "videos"
    media: dict[str, Path] = {}

    kitten = (videos / "kitten.mp4").read_bytes()  # index (moov) at the end: a cut loses it
    media["truncated_no_index"] = folder / "kitten_cut.mp4"
    media["truncated_no_index"].write_bytes(kitten[: len(kitten) // 2])
    sculpture = (videos / "sculpture_960x506.mp4").read_bytes()  # index first: a cut loses frames
    media["truncated_frames"] = folder / "sculpture_cut.mp4"
    media["truncated_frames"].write_bytes(sculpture[: int(len(sculpture) * 0.6)])

    media["not_a_video"] = folder / "notes.mp4"
    media["not_a_video"].write_text("this is a text file, not a video\n")
    media["empty_file"] = folder / "empty.mp4"
    media["empty_file"].write_bytes(b"")

    media["audio_only"] = folder / "tone.m4a"
    with av.open(str(media["audio_only"]), mode="w") as container:
        stream = container.add_stream("aac", rate=22050)
        stream.layout = "mono"
        samples = np.sin(np.arange(22050) * 2 * np.pi * 440 / 22050).astype(np.float32)
        for start in range(0, samples.size - 1024, 1024):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + 1024], format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 22050, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    media["one_frame"] = folder / "one_frame.mp4"
    write_test_video(media["one_frame"], np.full((1, 32, 32, 3), 128, np.uint8), fps=8)
    # What an encoder that received no frames leaves behind: a header and nothing else.
    for name, container_format in (("zero_frames_mp4", "mp4"), ("zero_frames_mkv", "matroska")):
        media[name] = folder / f"{name}.{'mp4' if container_format == 'mp4' else 'mkv'}"
        with av.open(str(media[name]), mode="w", format=container_format) as container:
            stream = container.add_stream("libx264", rate=8)
            stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
            container.start_encoding()
    return media
