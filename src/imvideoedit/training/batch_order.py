"""The order in which pairs are seen: bucketed micro-batches, seeded, addressable by position.

A micro-batch is what all processes together consume in one forward pass:
`per_device_batch_size * num_processes` pairs from a single bucket (so every tensor in it has
one shape); process r takes its slice r. An optimizer step takes `gradient_accumulation_steps`
consecutive micro-batches.

Epoch e is a pure function of (seed, e): shuffle the pairs, group them by bucket in shuffled
order, cut each group into micro-batches (a short last one is filled up with the group's first
pairs, so no pair is dropped), then shuffle the micro-batches. Micro-batch number `position`
(counted over all epochs) is therefore known without replaying anything: resuming needs only
the position, and the same seed gives the same order on any number of processes.

Noise and timesteps come from a generator seeded by (seed, position) and are drawn for the whole
micro-batch on every process, so pair i gets the same noise whichever process holds it.
"""

from __future__ import annotations

import numpy as np
import torch


def _generator(*words: int) -> torch.Generator:
    """A CPU generator seeded from integers through numpy's SeedSequence (independent streams)."""
    seed = int(np.random.SeedSequence(list(words)).generate_state(1, dtype=np.uint64)[0])
    return torch.Generator().manual_seed(seed)


_ORDER_STREAM, _NOISE_STREAM = 1, 2


class BatchOrder:
    def __init__(self, buckets: list[str], micro_batch_size: int, seed: int) -> None:
        if not buckets:
            raise ValueError("BatchOrder needs at least one item")
        self.buckets = buckets  # bucket name of item i
        self.micro_batch_size = micro_batch_size
        self.seed = seed
        sizes: dict[str, int] = {}
        for name in buckets:
            sizes[name] = sizes.get(name, 0) + 1
        self.micro_batches_per_epoch = sum(-(-n // micro_batch_size) for n in sizes.values())
        self._cached_epoch: tuple[int, list[list[int]]] | None = None

    def epoch(self, epoch: int) -> list[list[int]]:
        """Every micro-batch of `epoch`, as lists of item indices."""
        if self._cached_epoch is not None and self._cached_epoch[0] == epoch:
            return self._cached_epoch[1]
        generator = _generator(self.seed, _ORDER_STREAM, epoch)
        permutation = torch.randperm(len(self.buckets), generator=generator).tolist()
        groups: dict[str, list[int]] = {}
        for index in permutation:
            groups.setdefault(self.buckets[index], []).append(index)
        batches = []
        for items in groups.values():
            for start in range(0, len(items), self.micro_batch_size):
                batch = items[start : start + self.micro_batch_size]
                while len(batch) < self.micro_batch_size:  # fill from the same bucket
                    batch += items[: self.micro_batch_size - len(batch)]
                batches.append(batch)
        shuffled = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        self._cached_epoch = (epoch, shuffled)
        return shuffled

    def micro_batch(self, position: int) -> list[int]:
        """The item indices of micro-batch `position` (0-based, counted over all epochs)."""
        epoch, index = divmod(position, self.micro_batches_per_epoch)
        return self.epoch(epoch)[index]

    def noise_generator(self, position: int) -> torch.Generator:
        """The generator for micro-batch `position`'s noise and timesteps."""
        return _generator(self.seed, _NOISE_STREAM, position)
