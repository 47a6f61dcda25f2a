"""The build config: defaults, files, overrides, and one-line errors for bad keys and values."""

from __future__ import annotations

import pytest
from build_support import DEFAULT_CONFIG, TINY_CONFIG

from imvideoedit.data.tasks import TASK_SLUGS
from imvideoedit.data_construction.config import BuildConfig, load_build_config
from imvideoedit.errors import UserError


def test_build_default_file_is_the_paper_recipe():
    config = load_build_config(DEFAULT_CONFIG)
    assert config.images.t2i_model == "Qwen/Qwen-Image"
    assert config.images.edit_model == "Qwen/Qwen-Image-Edit"
    assert config.filter.threshold == 6
    assert config.judge.kind == "gemini" and config.writer.model == "gpt-5.3"
    assert set(config.prompts.task_mix) == set(TASK_SLUGS) and set(config.prompts.task_mix.values()) == {1.0}
    defaults = BuildConfig().to_dict()
    loaded = config.to_dict()
    differing = {section for section in defaults if defaults[section] != loaded[section]}
    assert differing <= {"run", "writer"}  # the file restates no other default


def test_build_tiny_config_loads():
    config = load_build_config(TINY_CONFIG)
    assert config.images.width == 32 and config.images.dtype == "float32"
    assert config.judge.base_url.startswith("http://127.0.0.1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[images]\nwidht = 3\n", "unknown key(s) widht in [images]; valid keys: t2i_model"),
        ("[imgs]\nwidth = 3\n", "unknown section(s) imgs"),
        ("[images]\nwidth = 'big'\n", "images.width must be int"),
        ("[images]\nwidth = 33\n", "images.width and images.height must be multiples of 16"),
        ("[judge]\ntimeout_s = inf\n", "judge.timeout_s must be a finite number"),
        ("[prompts.task_mix]\nteleportation = 1.0\n", "unknown task 'teleportation'"),
        ("[prompts.task_mix]\nrelighting = 0.0\n", "gives every task weight 0"),
        ("[review]\nhost = '0.0.0.0'\n", "must be a loopback address"),
        ("[filter]\nthreshold = 11\n", "filter.threshold must be within 0..10"),
        ("[judge]\nkind = 'claude'\n", "judge.kind must be one of openai, gemini, local"),
        ("[images]\nedit_prompt = 'prompt'\n", "images.edit_prompt must be one of"),
        ("[prompts]\ntasks_per_scene = 11\n", "only 10 task(s) have a weight above 0"),
        ("[images\n", "cannot parse config"),
    ],
)
def test_build_bad_config_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        load_build_config(path)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_build_task_mix_in_a_file_replaces_the_default(tmp_path):
    path = tmp_path / "mix.yaml"
    path.write_text(
        "prompts:\n  tasks_per_scene: 2\n  task_mix:\n    Object Addition: 2\n    relighting: 1\n"
    )
    mix = load_build_config(path).prompts.task_mix
    assert mix["object_addition"] == 2.0 and mix["relighting"] == 1.0
    assert sum(weight > 0 for weight in mix.values()) == 2


def test_build_overrides_reach_scalars_and_table_entries():
    config = load_build_config(
        TINY_CONFIG,
        [
            "images.width=64",
            "images.t2i_kwargs.guidance_scale=3.5",
            'images.edit_kwargs.scheduler_note="x"',
            "prompts.task_mix.relighting=0",
            "images.negative_prompt=none",
        ],
    )
    assert config.images.width == 64
    assert config.images.t2i_kwargs == {"guidance_scale": 3.5}
    assert (
        config.images.edit_kwargs["scheduler_note"] == "x"
        and config.images.edit_kwargs["image_guidance_scale"] == 1.0
    )
    assert config.prompts.task_mix["relighting"] == 0.0 and config.prompts.task_mix["object_addition"] == 1.0
    assert config.images.negative_prompt is None
    with pytest.raises(UserError, match="unknown section 'image'"):
        load_build_config(None, ["image.width=3"])
    with pytest.raises(UserError, match="section.key=value"):
        load_build_config(None, ["width"])


def test_build_docs_list_every_config_key():
    import dataclasses

    from build_support import REPO

    docs = (REPO / "docs" / "data_construction.md").read_text()
    for section in dataclasses.fields(BuildConfig):
        for key in dataclasses.fields(section.default_factory):
            assert f"{section.name}.{key.name}" in docs or f"*.{key.name}" in docs, (
                f"{section.name}.{key.name}"
            )
