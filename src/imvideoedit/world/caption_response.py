"""Does the world base follow each word of a caption? Change one word, keep the noise, compare.

For single-object scenes drawn as images, the object's kind, size or colour word is swapped
for every alternative while the starting noise stays the same; the share of pixels that change
between those samples is compared with the share that changes between the renders of the same
captions. A base that draws what it is told changes about as much as the renders do (ratio near
1); a base that ignores a word draws the same picture whatever it says (ratio near 0). This
explains a low "kind" reading of the temporal prior: whether the base cannot keep a shape over
time, or never learned to draw the shape a caption names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np

from imvideoedit.world.render import render
from imvideoedit.world.scene import FULL_WORLD, Scene, WorldSpec, sample_scene
from imvideoedit.world.temporal_prior import COLOUR_TOLERANCE, sample_videos

ATTRIBUTES = {
    "kind": "shape_kinds",
    "size": "sizes",
    "colour": "shape_colours",
}  # the WorldSpec field of each


@dataclass(frozen=True)
class WordResponse:
    attribute: str
    samples: float  # mean share of pixels that differ between samples of captions differing in this word
    renders: float  # the same between the renders of those captions

    @property
    def ratio(self) -> float:
        return self.samples / max(self.renders, 1e-9)


def changed_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels whose colour differs by more than the prior's tolerance; a, b (..., 3) uint8."""
    distance = np.linalg.norm(a.astype(np.float64) - b.astype(np.float64), axis=-1)
    return float((distance > COLOUR_TOLERANCE).mean())


def variants(scene: Scene, attribute: str, world: WorldSpec = FULL_WORLD) -> list[Scene]:
    """`scene` with its (only) object's `attribute` set to each value `world` has for it
    (colours the background uses are left out: objects never share them)."""
    shape = scene.shapes[0]
    taken = (scene.background.colour_a, scene.background.colour_b) if attribute == "colour" else ()
    return [
        replace(scene, shapes=(replace(shape, **{attribute: value}),))
        for value in getattr(world, ATTRIBUTES[attribute])
        if value not in taken
    ]


def response_scenes(count: int, seed: int = 11, size: int = 32, world: WorldSpec = FULL_WORLD) -> list[Scene]:
    """One-object images of `world`, without a pan."""
    world.check_max_shapes(1)
    rng = np.random.default_rng(seed)
    still = replace(world, pan_probability=0.0)
    return [sample_scene(rng, size=size, frames=1, max_shapes=1, world=still) for _ in range(count)]


def _mean_pairwise_change(images: list[np.ndarray]) -> float:
    return float(np.mean([changed_share(a, b) for a, b in combinations(images, 2)]))


def word_response(
    pipe, count: int = 8, steps: int = 30, guidance: float = 1.0, seed: int = 0, world: WorldSpec = FULL_WORLD
) -> list[WordResponse]:
    """Per attribute (kind, size, colour): how much the base's images respond to that word, in
    `world` (an attribute that world does not vary, or whose values the background takes, is
    left out: there is no other word to swap in)."""
    results = []
    scenes = response_scenes(count, world=world)
    for attribute in ATTRIBUTES:
        if any(len(variants(scene, attribute, world)) < 2 for scene in scenes):
            continue
        sampled, rendered = [], []
        for index, scene in enumerate(scenes):
            group = variants(scene, attribute, world)
            # batch=1 with one seed: every variant starts from the same noise
            images = [
                sample_videos(pipe, [v], steps=steps, guidance=guidance, seed=seed + index, batch=1)[0]
                for v in group
            ]
            sampled.append(_mean_pairwise_change(images))
            rendered.append(_mean_pairwise_change([render(v) for v in group]))
        results.append(WordResponse(attribute, float(np.mean(sampled)), float(np.mean(rendered))))
    return results
