"""Bucketed micro-batches in a seeded order that any position can be read from."""

from __future__ import annotations

import torch

from imvideoedit.training.batch_order import BatchOrder

BUCKETS = ["a"] * 5 + ["b"] * 3 + ["c"]


def test_one_bucket_per_micro_batch_and_every_item_each_epoch():
    order = BatchOrder(BUCKETS, micro_batch_size=2, seed=0)
    assert order.micro_batches_per_epoch == 3 + 2 + 1
    for epoch in range(3):
        batches = order.epoch(epoch)
        assert len(batches) == order.micro_batches_per_epoch
        for batch in batches:
            assert len(batch) == 2 and len({BUCKETS[i] for i in batch}) == 1
        assert {i for batch in batches for i in batch} == set(range(len(BUCKETS)))


def test_order_is_seeded_and_addressable_by_position():
    order, again, other = (
        BatchOrder(BUCKETS, 2, seed=0),
        BatchOrder(BUCKETS, 2, seed=0),
        BatchOrder(BUCKETS, 2, seed=1),
    )
    flat = [order.micro_batch(p) for p in range(20)]
    assert flat == [again.micro_batch(p) for p in range(20)]
    assert flat[6:12] == order.epoch(1)  # position 6 starts epoch 1
    assert [again.micro_batch(p) for p in (13, 2, 19)] == [flat[13], flat[2], flat[19]]  # any order of reads
    assert flat != [other.micro_batch(p) for p in range(20)]
    assert order.epoch(0) != order.epoch(1)


def test_noise_depends_on_position_only():
    order = BatchOrder(BUCKETS, 2, seed=3)
    a = torch.randn(4, generator=order.noise_generator(7))
    assert torch.equal(a, torch.randn(4, generator=BatchOrder(["x"], 1, seed=3).noise_generator(7)))
    assert not torch.equal(a, torch.randn(4, generator=order.noise_generator(8)))
