"""Training configs: every default in the dataclasses, files that only override, strict keys."""

from __future__ import annotations

import dataclasses

import pytest

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.errors import UserError
from imvideoedit.training.config import TrainingConfig, build_config, load_training_config


def test_shipped_configs_load(kit):
    paper = load_training_config(kit.repo / "configs" / "paper_1.3b.toml")
    assert (paper.data.height, paper.data.width) == (480, 832)
    assert paper.train.global_batch_size == 16 and paper.train.epochs == 5
    assert paper.adapter == AdapterConfig(variant="full", mode="full")
    assert paper.train.flow_shift == 5.0
    tiny = load_training_config(kit.repo / "configs" / "tiny_cpu.toml")
    assert tiny.train.mixed_precision == "no" and tiny.model.weights_dtype == "float32"


def test_empty_file_gives_the_dataclass_defaults(tmp_path):
    (tmp_path / "empty.toml").write_text("")
    assert load_training_config(tmp_path / "empty.toml") == TrainingConfig()


def test_yaml_and_overrides_are_coerced(tmp_path):
    (tmp_path / "run.yaml").write_text("optim:\n  learning_rate: 1e-4\ntrain:\n  max_steps: 10\n")
    config = load_training_config(
        tmp_path / "run.yaml",
        [
            "optim.learning_rate=3e-5",
            "train.max_steps=none",
            "model.gradient_checkpointing=false",
            "adapter.mode=lora",
        ],
    )
    assert config.optim.learning_rate == 3e-5 and isinstance(config.optim.learning_rate, float)
    assert config.train.max_steps is None
    assert config.model.gradient_checkpointing is False
    assert config.adapter.mode == "lora"
    # PyYAML reads 1e-4 (no dot) as a string: it still becomes a float.
    assert load_training_config(tmp_path / "run.yaml").optim.learning_rate == 1e-4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[optim]\nlr = 1\n", "unknown key(s) lr in [optim]; valid keys: learning_rate, weight_decay"),
        ("[optimizer]\nlearning_rate = 1\n", "unknown section(s) optimizer"),
        ("[train]\nepochs = 'many'\n", "train.epochs must be int, got 'many'"),
        ("[train]\nepochs = 2.5\n", "train.epochs must be int, got 2.5"),
        (
            "[adapter]\nvariant = 'fancy'\n",
            "adapter.variant must be one of full, no_gate, no_update, parallel",
        ),
        ("[train]\nmixed_precision = 'fp8'\n", "train.mixed_precision must be no, bf16 or fp16"),
        ("[validation]\nvideo_frames = 8\n", "validation.video_frames must be 4k + 1"),
        ("[train\n", "cannot parse config"),
    ],
)
def test_bad_config_files_are_refused_by_name(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(UserError) as error:
        load_training_config(tmp_path / "bad.toml")
    assert message in str(error.value)


def test_bad_overrides_are_refused(tmp_path):
    for override, message in [
        ("learning_rate=1", "section.key=value"),
        ("optim.learning_rate", "section.key=value"),
        ("nope.x=1", "unknown section 'nope'"),
        ("train.seed=1.5", "train.seed must be int"),
        ("train.seed=-1", "train.seed must be in"),
        ("optim.learning_rate=nan", "optim.learning_rate must be a finite number"),
        ("train.flow_shift=inf", "train.flow_shift must be a finite number"),
        ("validation.num_pairs=0", "validation.num_pairs must be at least 1"),
        ("validation.every_steps=-1", "validation.every_steps must be 0"),
        ("data.bucket_step=-16", "data.bucket_step must be a positive multiple of 16"),
        ("data.bucket_step=0", "data.bucket_step must be a positive multiple of 16"),
        ("data.height=50", "data.height must be a positive multiple of 16"),
        ("data.max_aspect=0.5", "data.max_aspect"),
        ("data.max_tokens=0", "data.max_tokens must be in 1..512"),
        ("data.max_tokens=5000", "data.max_tokens must be in 1..512"),
    ]:
        with pytest.raises(UserError, match=message):
            load_training_config(None, [override])


def test_round_trip_through_the_resolved_yaml(tmp_path):
    import yaml

    config = load_training_config(None, ["adapter.lora_rank=8", "data.path=/data", "train.max_steps=3"])
    again = build_config(yaml.safe_load(config.to_yaml()))
    assert again == config
    assert dataclasses.asdict(again.adapter)["lora_rank"] == 8


def test_shipped_accelerate_configs_parse(kit):
    import json

    from accelerate.commands.config.config_args import load_config_from_file

    folder = kit.repo / "configs" / "accelerate"
    kinds = {
        path.stem: load_config_from_file(str(path)).distributed_type.value for path in folder.glob("*.yaml")
    }
    assert kinds == {
        "deepspeed_zero2": "DEEPSPEED",
        "deepspeed_zero2_offload": "DEEPSPEED",
        "ddp": "MULTI_GPU",
        "fsdp": "FSDP",
    }
    for name in ("deepspeed_zero2", "deepspeed_zero2_offload"):
        config = load_config_from_file(str(folder / f"{name}.yaml"))
        ds = json.loads((kit.repo / config.deepspeed_config["deepspeed_config_file"]).read_text())
        assert ds["zero_optimization"]["stage"] == 2
        assert ds["train_micro_batch_size_per_gpu"] == "auto"  # the trainer fills it in
    offload = json.loads((folder / "deepspeed_zero2_offload.json").read_text())
    assert offload["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
