"""Adapter files: round trip, provenance metadata, and clear refusals."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from tiny_models import forward, paired_inputs, perturb_adapter, tiny_transformer

import imvideoedit
from imvideoedit import AdapterConfig, attach_adapter, load_adapter, save_adapter
from imvideoedit.errors import UserError


@pytest.mark.parametrize(
    ("variant", "mode"), [("full", "full"), ("parallel", "full"), ("full", "lora"), ("no_update", "lora")]
)
def test_save_then_load_into_a_fresh_model_gives_identical_outputs(tmp_path, variant, mode):
    config = AdapterConfig(variant=variant, mode=mode, lora_rank=4)
    model = tiny_transformer()
    attach_adapter(model, config)
    perturb_adapter(model, trainable_only=True)
    path = save_adapter(
        model, tmp_path / "adapter.safetensors", extra_metadata={"training_config": {"lr": 1e-4}}
    )
    hidden, timestep, text = paired_inputs()
    with torch.no_grad():
        expected = forward(model, hidden, timestep, text)
        stock = forward(tiny_transformer(), hidden, timestep, text)
    assert not torch.allclose(expected, stock)  # the adapter weights are not trivial

    fresh = tiny_transformer()
    torch.manual_seed(12345)  # a loading process's random state is anything: the result must not depend on it
    loaded_config = load_adapter(fresh, path)  # attaches the adapter itself
    assert loaded_config == config
    with torch.no_grad():
        assert torch.equal(forward(fresh, hidden, timestep, text), expected)


def test_file_holds_only_adapter_weights_and_provenance(tmp_path):
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig(variant="no_gate"))
    path = save_adapter(model, tmp_path / "a.safetensors", extra_metadata={"run": "demo"})
    with safe_open(str(path), framework="pt") as handle:
        keys, metadata = list(handle.keys()), handle.metadata()
    assert keys and all(key.startswith("blocks.") for key in keys)
    assert not any(".base." in key for key in keys)
    assert json.loads(metadata["adapter_config"])["variant"] == "no_gate"
    assert metadata["imvideoedit_version"] == imvideoedit.__version__
    assert len(metadata["base_config_fingerprint"]) == 16
    assert json.loads(metadata["base_config"])["num_layers"] == 2
    assert metadata["run"] == "demo"
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_loading_into_another_base_config_names_both(tmp_path):
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig())
    path = save_adapter(model, tmp_path / "a.safetensors")
    other = tiny_transformer(num_layers=3)
    with pytest.raises(
        UserError, match=r"another base: file base \(dim 24, 2 layers.*this base \(dim 24, 3 layers"
    ):
        load_adapter(other, path)


def test_loading_into_a_base_with_other_weights_is_refused(tmp_path):
    model = tiny_transformer(seed=0)
    attach_adapter(model, AdapterConfig())
    path = save_adapter(model, tmp_path / "a.safetensors")
    with pytest.raises(UserError, match="other weights"):
        load_adapter(tiny_transformer(seed=5), path)
    load_adapter(tiny_transformer(seed=5), path, check_base_weights=False)  # explicit override works
    load_adapter(tiny_transformer(seed=0).to(torch.bfloat16), path)  # same weights in bf16 still match

    # Other weights with the same statistics (two inits, two fine-tunes): the values tell them apart.
    shuffled = tiny_transformer(seed=0)
    with torch.no_grad():
        for weight in (shuffled.blocks[0].attn1.to_q.weight, shuffled.proj_out.weight):
            weight.copy_(weight.flatten().flip(0).view_as(weight))  # same mean and std, other values
    with pytest.raises(UserError, match="other weights"):
        load_adapter(shuffled, path)


def test_an_older_file_without_recorded_values_is_checked_on_its_statistics(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    model = tiny_transformer(seed=0)
    attach_adapter(model, AdapterConfig())
    path = save_adapter(model, tmp_path / "a.safetensors")
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    del metadata["base_weight_values"]  # as files written before the values were recorded
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=metadata)
    load_adapter(tiny_transformer(seed=0), tmp_path / "old.safetensors")
    with pytest.raises(UserError, match="other weights"):
        load_adapter(tiny_transformer(seed=5), tmp_path / "old.safetensors")


def test_loading_a_file_of_another_variant_names_both(tmp_path):
    model = tiny_transformer()
    attach_adapter(model, AdapterConfig(variant="no_gate"))
    path = save_adapter(model, tmp_path / "a.safetensors")
    target = tiny_transformer()
    attach_adapter(target, AdapterConfig(variant="full"))
    with pytest.raises(UserError, match="variant=no_gate.*attached adapter is variant=full"):
        load_adapter(target, path)


def test_not_an_adapter_file_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="not a readable safetensors file"):
        load_adapter(tiny_transformer(), junk)
    with pytest.raises(UserError, match="adapter file not found"):
        load_adapter(tiny_transformer(), tmp_path / "missing.safetensors")


def test_a_failed_load_leaves_the_model_as_it_was_and_names_what_differs(tmp_path):
    from safetensors.torch import save_file

    from imvideoedit.injection import has_adapter

    model = tiny_transformer()
    attach_adapter(model, AdapterConfig(mode="lora", lora_rank=4, lora_alpha=8))
    path = save_adapter(model, tmp_path / "a.safetensors")
    target = tiny_transformer()
    attach_adapter(target, AdapterConfig(mode="lora", lora_rank=4))
    with pytest.raises(UserError, match=r"is lora_alpha=8, but the attached adapter is lora_alpha=None"):
        load_adapter(target, path)

    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    last = sorted(tensors)[-1]
    tensors[last] = torch.zeros(3)  # one tensor of the wrong shape
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=metadata)
    fresh = tiny_transformer()
    with pytest.raises(UserError, match="has shape"):
        load_adapter(fresh, tmp_path / "bad.safetensors")
    assert not has_adapter(fresh) and all(p.requires_grad for p in fresh.parameters())

    # The caller's own adapter is neither detached nor touched: every tensor is checked first.
    attached = tiny_transformer()
    attach_adapter(attached, AdapterConfig(mode="lora", lora_rank=4, lora_alpha=8))
    before = {name: p.clone() for name, p in attached.named_parameters()}
    with pytest.raises(UserError, match="has shape"):
        load_adapter(attached, tmp_path / "bad.safetensors")
    assert has_adapter(attached)
    assert all(torch.equal(before[name], p) for name, p in attached.named_parameters())
