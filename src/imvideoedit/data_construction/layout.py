"""Where each stage's files live inside `run.output_dir`, named in one place.

    scenes.jsonl                   scene verdicts (accepted / rejected with a reason / failed)
    prompts.jsonl                  source prompt, edited prompt, instruction per (scene, task)
    sources[.shard-I-of-N].jsonl   source images made (the images stage's first pass)
    images[.shard-I-of-N].jsonl    finished pairs (the images stage's second pass)
    images/<id>_source.png         the images themselves
    images/<id>_target.png
    filter.jsonl                   the judge's three scores per pair
    review.jsonl                   reviewers' decisions, newest last
    dataset/                       the export (unless [export] output_dir says otherwise)

The images stage writes one file per shard, so that shards never append to the same file;
readers merge every shard's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= index < count")

    @property
    def suffix(self) -> str:
        return "" if self.count == 1 else f".shard-{self.index}-of-{self.count}"


WHOLE = Shard(0, 1)


@dataclass(frozen=True)
class BuildLayout:
    root: Path

    @property
    def scenes(self) -> Path:
        return self.root / "scenes.jsonl"

    @property
    def prompts(self) -> Path:
        return self.root / "prompts.jsonl"

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    def sources(self, shard: Shard = WHOLE) -> Path:
        return self.root / f"sources{shard.suffix}.jsonl"

    def images(self, shard: Shard = WHOLE) -> Path:
        return self.root / f"images{shard.suffix}.jsonl"

    def all_sources(self) -> list[Path]:
        return self._with_shards("sources")

    def all_images(self) -> list[Path]:
        return self._with_shards("images")

    @property
    def filter(self) -> Path:
        return self.root / "filter.jsonl"

    @property
    def review(self) -> Path:
        return self.root / "review.jsonl"

    def source_image(self, item: str) -> Path:
        return self.images_dir / f"{item}_source.png"

    def target_image(self, item: str) -> Path:
        return self.images_dir / f"{item}_target.png"

    def _with_shards(self, stem: str) -> list[Path]:
        return [self.root / f"{stem}.jsonl", *sorted(self.root.glob(f"{stem}.shard-*-of-*.jsonl"))]
