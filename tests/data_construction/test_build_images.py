"""Stage 3 with tiny random-weight diffusers pipelines loaded by path through DiffusionPipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from build_support import SimulatedCrash, build_prompts, crashing_pipeline, jsonl_ids
from PIL import Image

from imvideoedit.data_construction.images import run_images
from imvideoedit.data_construction.layout import BuildLayout, Shard
from imvideoedit.data_construction.pipelines import EDIT, T2I, check_pipeline, load_pipeline
from imvideoedit.data_construction.records import read_records
from imvideoedit.errors import UserError


@pytest.fixture
def image_config(make_config, tiny_pipelines):
    t2i, edit = tiny_pipelines

    def make(*overrides: str):
        config = make_config(f"images.t2i_model={t2i}", f"images.edit_model={edit}", *overrides)
        build_prompts(config)
        return config

    return make


def _ok_prompt_ids(config) -> set[str]:
    return {r["id"] for r in read_records(BuildLayout(config.output_dir).prompts) if r["status"] == "ok"}


def test_build_images_makes_aligned_seeded_pairs(image_config, tmp_path):
    config = image_config()
    summary = run_images(config)
    layout = BuildLayout(config.output_dir)
    records = {r["id"]: r for r in read_records(layout.images())}
    assert set(records) == _ok_prompt_ids(config) and len(records) >= 4
    assert summary.statuses["ok"] == len(records) and summary.statuses["source made"] == len(records)
    for item, record in records.items():
        source = Image.open(layout.root / record["source"])
        target = Image.open(layout.root / record["target"])
        assert source.size == target.size == (32, 32) and source.mode == "RGB"
        assert record["source"] == f"images/{item}_source.png"
        assert record["edit_prompt_field"] == "instruction"
    first = sorted(records)[0]
    a = np.asarray(Image.open(layout.source_image(first)))
    b = np.asarray(Image.open(layout.source_image(sorted(records)[1])))
    assert not np.array_equal(a, b), "each item has its own seed"
    # A second build elsewhere, with another batch size, makes the same images (seeds come from ids).
    other = image_config(f"run.output_dir={tmp_path / 'other'}", "images.t2i_batch_size=1")
    run_images(other)
    again = np.asarray(Image.open(BuildLayout(other.output_dir).source_image(first)))
    assert np.abs(again.astype(int) - a.astype(int)).max() <= 1
    # Finished: nothing is loaded or made.
    assert run_images(config, t2i_pipeline=object(), edit_pipeline=object()).done_now == 0


def test_build_images_resume_after_crash(image_config):
    config = image_config("images.t2i_batch_size=2", "images.edit_batch_size=1")
    t2i = load_pipeline(config.images.t2i_model, T2I, config.images, "cpu")
    edit = load_pipeline(config.images.edit_model, EDIT, config.images, "cpu")
    expected = _ok_prompt_ids(config)
    layout = BuildLayout(config.output_dir)

    with pytest.raises(SimulatedCrash):  # dies during the sources pass
        run_images(config, t2i_pipeline=crashing_pipeline(t2i, calls=1), edit_pipeline=edit)
    assert len(jsonl_ids(layout.sources())) == 2
    with pytest.raises(SimulatedCrash):  # dies during the targets pass
        run_images(config, t2i_pipeline=t2i, edit_pipeline=crashing_pipeline(edit, calls=2))
    assert sorted(jsonl_ids(layout.sources())) == sorted(expected)
    assert len(jsonl_ids(layout.images())) == 2

    lost = jsonl_ids(layout.images())[0]
    layout.source_image(lost).unlink()  # a lost file is made again, from the same seed
    summary = run_images(config, t2i_pipeline=t2i, edit_pipeline=edit)
    images = jsonl_ids(layout.images())
    assert sorted(images) == sorted(expected), "every pair once, none twice"
    assert summary.statuses["source made"] == 1 and layout.source_image(lost).is_file()
    assert summary.statuses["ok"] == len(expected) - 2
    assert not list(layout.images_dir.glob(".*tmp*")), "no temporary files left behind"


def test_build_images_shards_split_the_work(image_config):
    config = image_config()
    layout = BuildLayout(config.output_dir)
    run_images(config, shard=Shard(0, 2))
    run_images(config, shard=Shard(1, 2))
    first = jsonl_ids(layout.images(Shard(0, 2)))
    second = jsonl_ids(layout.images(Shard(1, 2)))
    assert first and second and not set(first) & set(second)
    assert set(first) | set(second) == _ok_prompt_ids(config)
    assert not layout.images().exists()
    assert (
        run_images(config, t2i_pipeline=object(), edit_pipeline=object()).done_now == 0
    )  # unsharded sees all


def test_build_images_resizes_an_editor_output_of_another_size(image_config):
    config = image_config("images.edit_kwargs={}", "images.negative_prompt=none")

    class Upscaler:  # an "editor" that returns twice the size, as Qwen-Image-Edit may
        def __call__(self, image, prompt, num_inference_steps, generator):
            images = image if isinstance(image, list) else [image]
            return type("Out", (), {"images": [i.resize((i.width * 2, i.height * 2)) for i in images]})()

    config.images.negative_prompt = " "
    with pytest.raises(
        UserError, match='Upscaler takes no negative_prompt; set images.negative_prompt = "none"'
    ):
        run_images(config, edit_pipeline=Upscaler())
    config.images.negative_prompt = None
    run_images(config, edit_pipeline=Upscaler())
    layout = BuildLayout(config.output_dir)
    record = read_records(layout.images())[0]
    assert record["target_generated_size"] == [64, 64] and record["size"] == [32, 32]
    assert Image.open(layout.root / record["target"]).size == (32, 32)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "images.edit_model={t2i}",
            "StableDiffusionPipeline, which takes no image: it cannot serve as the image-edit",
        ),
        ("images.t2i_model={edit}", "takes no height, width: it cannot serve as the text-to-image pipeline"),
        (
            "images.t2i_kwargs.true_cfg_scale=4.0",
            "images.t2i_kwargs has argument.s. true_cfg_scale that Stable",
        ),
        ("images.t2i_model=/nonexistent/pipeline", "images.t2i_model: pipeline folder not found"),
        ("images.edit_model=/nonexistent/editor", "images.edit_model: pipeline folder not found"),
        ("images.edit_kwargs.foo=1", "images.edit_kwargs has argument.s. foo that"),
    ],
)
def test_build_images_refuse_wrong_pipelines_and_arguments(
    image_config, tiny_pipelines, tmp_path, override, message
):
    t2i, edit = tiny_pipelines
    config = image_config(override.format(t2i=t2i, edit=edit))
    with pytest.raises(UserError, match=message):
        run_images(config)
    layout = BuildLayout(config.output_dir)
    assert not list(layout.images_dir.glob("*.png"))  # refused before the first image, editor included


def test_build_images_records_are_json_lines(image_config):
    config = image_config()
    run_images(config)
    for line in BuildLayout(config.output_dir).images().read_text().splitlines():
        json.loads(line)


def test_build_default_qwen_pipelines_take_the_calls_made_to_them():
    """The default Qwen-Image / Qwen-Image-Edit classes accept every argument the stage passes
    (checked on their real signatures; their weights are far too large for a test)."""
    import diffusers

    from imvideoedit.data_construction.config import ImagesConfig

    config = ImagesConfig()
    check_pipeline(diffusers.QwenImagePipeline, T2I, config)
    check_pipeline(diffusers.QwenImageEditPipeline, EDIT, config)
    with pytest.raises(
        UserError, match="QwenImagePipeline, which takes no image: it cannot serve as the image-edit pipeline"
    ):
        check_pipeline(diffusers.QwenImagePipeline, EDIT, config)
