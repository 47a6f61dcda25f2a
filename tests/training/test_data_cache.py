"""Buckets, the shared resize + crop, and the content-keyed latent cache (through the tiny base)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from imvideoedit.data.buckets import Bucket, choose_bucket, make_buckets, resize_and_crop
from imvideoedit.data.encoders import encoders_fingerprint
from imvideoedit.data.latent_cache import LatentCache
from imvideoedit.data.metadata import read_pair_table
from imvideoedit.data.preprocess import ResizeSettings, encode_missing, load_pair_pixels, plan_pairs
from imvideoedit.data.validation import accept_pairs, validate_pairs

SETTINGS = ResizeSettings(height=32, width=32, bucket_step=16, max_aspect=3.0)


def plan(folder, base, settings=SETTINGS):
    good = accept_pairs(validate_pairs(read_pair_table(folder)), skip_bad=False)
    return plan_pairs(good, settings, encoders_fingerprint(str(base)), "float32", 512)


def encode(planned, cache, base, encoders=None, **kwargs):
    encoders = encoders or encoders_fingerprint(str(base))
    return encode_missing(
        planned, cache, str(base), "cpu", "float32", 512, encoders, show_progress=False, **kwargs
    )


def test_buckets_hold_the_target_area_in_multiples_of_16():
    buckets = make_buckets(480, 832)
    assert Bucket(480, 832) in buckets and Bucket(832, 480) in buckets
    for bucket in buckets:
        assert bucket.height % 16 == 0 and bucket.width % 16 == 0
        assert abs(bucket.height * bucket.width / (480 * 832) - 1) < 0.1
        assert max(bucket.aspect, 1 / bucket.aspect) <= 3.0
    assert choose_bucket(1664, 960, buckets) == Bucket(480, 832)
    assert choose_bucket(960, 1664, buckets) == Bucket(832, 480)
    square = choose_bucket(512, 512, buckets)
    assert abs(square.aspect - 1) < 0.1


def test_source_and_target_get_the_same_crop():
    rng = np.random.default_rng(0)
    source = Image.fromarray(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)).resize((320, 180))
    target = source.resize((640, 360), Image.Resampling.BICUBIC)  # same picture at twice the size
    bucket = Bucket(96, 128)
    a, b = resize_and_crop(source, bucket), resize_and_crop(target, bucket)
    assert a.size == b.size == (128, 96)
    difference = np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).mean()
    assert difference < 6.0  # resampling noise only; a misaligned crop would differ by tens


def test_cache_matches_direct_encoding_and_is_reused(tmp_path, kit, tiny_base):
    folder = kit.write_pairs(tmp_path / "pairs", count=3)
    cache = LatentCache(tmp_path / "cache")
    planned = plan(folder, tiny_base)
    assert encode(planned, cache, tiny_base) == 6  # 3 pairs + 3 prompts
    cache.refresh()

    from imvideoedit.data.encoders import load_vae
    from imvideoedit.vae_latents import encode_pixels

    direct = encode_pixels(load_vae(str(tiny_base), "cpu", torch.float32), load_pair_pixels(planned[1]))
    torch.testing.assert_close(cache.get(planned[1].pair_entry, "source"), direct[0], rtol=0, atol=0)
    torch.testing.assert_close(cache.get(planned[1].pair_entry, "target"), direct[1], rtol=0, atol=0)

    # Nothing changed: nothing is encoded, and no model is even loaded (the base may be gone).
    fingerprint = encoders_fingerprint(str(tiny_base))
    assert encode(plan(folder, tiny_base), cache, "/nonexistent/base", encoders=fingerprint) == 0


def test_changed_image_or_prompt_is_encoded_again(tmp_path, kit, tiny_base):
    folder = kit.write_pairs(tmp_path / "pairs", count=3)
    cache = LatentCache(tmp_path / "cache")
    before = plan(folder, tiny_base)
    encode(before, cache, tiny_base)
    cache.refresh()

    kit.make_image(99).save(folder / "p1_target.png")  # a new edited image for pair 1
    after = plan(folder, tiny_base)
    assert [a.pair_entry == b.pair_entry for a, b in zip(before, after, strict=True)] == [True, False, True]
    assert encode(after, cache, tiny_base) == 1
    cache.refresh()
    assert not torch.equal(
        cache.get(after[1].pair_entry, "target"), cache.get(before[1].pair_entry, "target")
    )

    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    rows[2]["prompt"] = "a completely different scene at night"
    (folder / "metadata.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    changed = plan(folder, tiny_base)
    assert [a.text_entry == b.text_entry for a, b in zip(after, changed, strict=True)] == [True, True, False]
    assert encode(changed, cache, tiny_base) == 1  # only the new prompt


def test_changed_preprocessing_or_base_changes_the_key(tmp_path, kit, tiny_base):
    folder = kit.write_pairs(tmp_path / "pairs", count=1)
    first = plan(folder, tiny_base)[0]
    other_size = plan(folder, tiny_base, ResizeSettings(64, 64, 16, 3.0))[0]
    assert other_size.pair_entry != first.pair_entry and other_size.text_entry == first.text_entry
    other_base = shutil.copytree(tiny_base, tmp_path / "base-copy")
    (other_base / "vae" / "config.json").write_text(
        (other_base / "vae" / "config.json").read_text().replace('"base_dim": 8', '"base_dim": 8 ')
    )
    assert encoders_fingerprint(str(other_base)) != encoders_fingerprint(str(tiny_base))


def test_interrupted_encoding_resumes_with_what_is_missing(tmp_path, kit, tiny_base, monkeypatch):
    folder = kit.write_pairs(tmp_path / "pairs", count=4)
    cache = LatentCache(tmp_path / "cache")
    planned = plan(folder, tiny_base)

    import imvideoedit.vae_latents as vae_latents

    real_encode, calls = vae_latents.encode_pixels, []

    def crash_on_third(vae, pixels):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if the run were stopped here
        return real_encode(vae, pixels)

    monkeypatch.setattr(vae_latents, "encode_pixels", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        encode(planned, cache, tiny_base, entries_per_shard=1)
    monkeypatch.setattr(vae_latents, "encode_pixels", real_encode)
    assert not [p for p in cache.directory.iterdir() if p.name.startswith(".")]  # no partial shard
    cache.refresh()
    assert sum(p.pair_entry in cache for p in planned) == 2
    assert encode(planned, cache, tiny_base) == 2 + 4  # the two missing pairs and every prompt
    cache.refresh()
    assert all(p.pair_entry in cache and p.text_entry in cache for p in planned)


def test_real_pairs_load_bucket_and_encode_through_tiny_base(tmp_path, kit, tiny_base):
    folder = kit.shared_pairs
    if not (folder / "pairs.jsonl").is_file():
        pytest.skip(f"shared test pairs not found at {folder.resolve()}")
    from imvideoedit.data.encoders import load_tokenizer
    from imvideoedit.training.batches import load_pairs

    table = read_pair_table(folder)
    report = validate_pairs(table, tokenizer=load_tokenizer(str(tiny_base)))
    assert report.ok and len(report.good) == 12
    assert all(pair.row.prompt_field == "instruction" for pair in report.good)  # pairs.jsonl has no `prompt`
    settings = ResizeSettings(height=64, width=64, bucket_step=16, max_aspect=3.0)
    planned = plan_pairs(report.good, settings, encoders_fingerprint(str(tiny_base)), "float32", 512)
    assert {p.bucket for p in planned} == {Bucket(64, 64)}  # all 512x512
    cache = LatentCache(tmp_path / "cache")
    assert encode(planned, cache, tiny_base) == 24
    cache.refresh()
    batch = load_pairs(cache, planned[:3], max_tokens=512)
    assert batch.source.shape == batch.target.shape == (3, 16, 1, 8, 8)
    assert batch.text.shape == (3, 512, 32)
    assert batch.text[:, 40:].abs().sum() == 0  # short instructions: zero padding after the tokens
    assert not torch.equal(batch.source, batch.target)


def test_a_corrupt_shard_is_named_in_one_line(tmp_path):
    from imvideoedit.errors import UserError

    LatentCache(tmp_path / "cache")
    (tmp_path / "cache" / "shard-0-bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(UserError, match=r"corrupt latent cache shard .*shard-0-bad.*delete it"):
        LatentCache(tmp_path / "cache")


def test_a_base_without_the_wan_layout_is_refused_before_loading(tmp_path, tiny_base):
    from imvideoedit.data.encoders import load_tokenizer, require_base_parts
    from imvideoedit.errors import UserError

    require_base_parts(str(tiny_base), ("transformer", "vae", "text_encoder", "tokenizer"))
    require_base_parts("some-org/some-model", ("tokenizer",))  # a hub id: left to the hub
    (tmp_path / "notbase").mkdir()
    with pytest.raises(UserError, match=r"has no tokenizer/ folder"):
        load_tokenizer(str(tmp_path / "notbase"))
    with pytest.raises(UserError, match="base not found"):
        load_tokenizer(str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="base not found"):  # a home-relative path is no hub id
        require_base_parts("~/nowhere", ("tokenizer",))
