"""Does the world base carry a temporal prior? Measure its own text-to-video samples.

The base samples videos from captions of fresh world scenes (through diffusers' own
`WanPipeline`, since the base is a plain Wan folder). Each captioned object is then looked for
in every frame by its colour (object colours are unique within a scene and never used by the
background), and its kind is read off by matching the found pixels against the five shape
templates at the captioned size. The same measurement on the renders of the same scenes is the
reference, so occlusions between objects count against neither.

A base passes when its samples keep objects present and of one kind about as often as real world
videos do, and its flicker stays within 1.2x of theirs (`PRIOR_BAR`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from imvideoedit.eval.objective_metrics import flicker
from imvideoedit.world.render import render, shape_mask
from imvideoedit.world.scene import (
    COLOURS,
    FULL_WORLD,
    MAX_SHAPES,
    SHAPE_KINDS,
    SIZES,
    Scene,
    WorldSpec,
    caption,
    sample_scene,
)

COLOUR_TOLERANCE = 60.0  # RGB distance within which a pixel counts as the object's colour
MIN_AREA = 0.4  # an object is present when at least this share of its area is found
PRIOR_BAR = {"flicker_ratio": 1.2, "present_ratio": 0.9, "kind_ratio": 0.9}


@dataclass(frozen=True)
class PriorReport:
    videos: int
    objects: int
    present: float  # share of objects found in every frame (samples)
    present_truth: float  # the same on the renders of the same scenes
    one_kind: float  # share of objects present and read as their captioned kind in every frame
    one_kind_truth: float
    flicker: float  # mean flicker of the samples
    flicker_truth: float  # mean flicker of the renders
    # Reported, not part of the bar: present and read as one kind (any kind) in every frame, i.e.
    # shape permanence even where the kind does not match the caption.
    stable_kind: float = float("nan")
    stable_kind_truth: float = float("nan")

    @property
    def flicker_ratio(self) -> float:
        return self.flicker / max(self.flicker_truth, 1e-9)

    @property
    def passed(self) -> bool:
        return (
            self.flicker_ratio <= PRIOR_BAR["flicker_ratio"]
            and self.present >= PRIOR_BAR["present_ratio"] * self.present_truth
            and self.one_kind >= PRIOR_BAR["kind_ratio"] * self.one_kind_truth
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "flicker_ratio": self.flicker_ratio, "passed": self.passed}


def prior_scenes(
    count: int,
    seed: int = 7,
    size: int = 32,
    frames: int = 9,
    max_shapes: int = MAX_SHAPES,
    world: WorldSpec = FULL_WORLD,
) -> list[Scene]:
    """Plain-look scenes of `world` (no edits, so every object keeps its palette colour)."""
    world.check_max_shapes(max_shapes)
    rng = np.random.default_rng(seed)
    return [
        sample_scene(rng, size=size, frames=frames, max_shapes=max_shapes, world=world) for _ in range(count)
    ]


def object_frames(video: np.ndarray, scene: Scene, index: int) -> tuple[np.ndarray, np.ndarray]:
    """For object `index` of `scene` in `video` (T, H, W, 3): per frame, (present, read kind index)."""
    shape = scene.shapes[index]
    size = video.shape[1]
    radius = SIZES[shape.size] * size
    pixel = np.arange(size) + 0.5
    py, px = np.meshgrid(pixel, pixel, indexing="ij")
    expected = shape_mask(shape.kind, px - size / 2, py - size / 2, radius).sum()
    colour = np.array(COLOURS[shape.colour], dtype=np.float64)
    offsets = _centroid_offsets(radius)  # once per object, not per frame
    present, kinds = [], []
    for frame in video.astype(np.float64):
        found = np.linalg.norm(frame - colour, axis=-1) < COLOUR_TOLERANCE  # (H, W)
        if found.sum() < MIN_AREA * expected:
            present.append(False)
            kinds.append(-1)
            continue
        cx, cy = px[found].mean(), py[found].mean()
        overlaps = []
        for kind, (ox, oy) in zip(SHAPE_KINDS, offsets, strict=True):
            best = 0.0
            for dx in (-1.0, -0.5, 0.0, 0.5, 1.0):  # small shifts absorb occlusion and blur
                for dy in (-1.0, -0.5, 0.0, 0.5, 1.0):
                    template = shape_mask(kind, px - (cx - ox + dx), py - (cy - oy + dy), radius)
                    best = max(best, (template & found).sum() / max((template | found).sum(), 1))
            overlaps.append(best)
        present.append(True)
        kinds.append(int(np.argmax(overlaps)))
    return np.array(present), np.array(kinds)


def _centroid_offsets(radius: float) -> list[tuple[float, float]]:
    """Each kind's pixel centroid relative to its centre (a triangle's is off-centre)."""
    fine = np.linspace(-2 * radius, 2 * radius, 161)
    dv, du = np.meshgrid(fine, fine, indexing="ij")
    offsets = []
    for kind in SHAPE_KINDS:
        mask = shape_mask(kind, du, dv, radius)
        offsets.append((float(du[mask].mean()), float(dv[mask].mean())))
    return offsets


def kept_and_right(present: np.ndarray, kinds: np.ndarray, kind: str) -> tuple[bool, bool]:
    """The bar's reading of one object from `object_frames`: (present in every frame, and also
    read as its captioned `kind` in every frame)."""
    kept = bool(present.all())
    return kept, kept and bool((kinds == SHAPE_KINDS.index(kind)).all())


def measure(videos: list[np.ndarray], scenes: list[Scene]) -> tuple[float, float, float, float]:
    """(share of objects present in every frame, share also read as their captioned kind in every
    frame, mean flicker, share present and read as one same kind in every frame)."""
    present_all, kind_all, stable_all = [], [], []
    for video, scene in zip(videos, scenes, strict=True):
        for index, shape in enumerate(scene.shapes):
            present, kinds = object_frames(video, scene, index)
            kept, right = kept_and_right(present, kinds, shape.kind)
            present_all.append(kept)
            kind_all.append(right)
            stable_all.append(kept and bool((kinds == kinds[0]).all()))
    flickers = [flicker(video) or 0.0 for video in videos]
    return (
        float(np.mean(present_all)),
        float(np.mean(kind_all)),
        float(np.mean(flickers)),
        float(np.mean(stable_all)),
    )


def kind_breakdown(videos: list[np.ndarray], scenes: list[Scene]) -> dict:
    """Where a base draws its kinds: per object size and per number of objects in the scene, the
    share of objects present in every frame and, of those, the share read as their captioned kind
    in every frame; and which kind is read for each captioned one (first frame; "absent" when the
    object is not found there).

    `measure` says whether kinds come; this says which objects they fail on. A base that draws
    round blobs has every captioned kind read mostly as a circle, and its small objects at chance
    (1 in 5).
    """
    groups: dict[str, dict[str, list[bool]]] = {}
    confusion = {kind: {read: 0 for read in (*SHAPE_KINDS, "absent")} for kind in SHAPE_KINDS}
    for video, scene in zip(videos, scenes, strict=True):
        for index, shape in enumerate(scene.shapes):
            present, kinds = object_frames(video, scene, index)
            kept, right = kept_and_right(present, kinds, shape.kind)
            for key in (f"size {shape.size}", f"{len(scene.shapes)} objects"):
                group = groups.setdefault(key, {"present": [], "kind": []})
                group["present"].append(kept)
                if kept:
                    group["kind"].append(right)
            confusion[shape.kind][SHAPE_KINDS[kinds[0]] if present[0] else "absent"] += 1
    return {
        "groups": {
            key: {
                "objects": len(group["present"]),
                "present": round(float(np.mean(group["present"])), 3),
                "kind_given_present": round(float(np.mean(group["kind"])), 3) if group["kind"] else None,
            }
            for key, group in sorted(groups.items())
        },
        "confusion": confusion,
    }


def load_base_pipeline(base):
    """diffusers' `WanPipeline` for a world base folder (its VAE class lives in this package)."""
    from diffusers import WanPipeline

    import imvideoedit.pixel_space_vae  # noqa: F401 - registers PixelSpaceVAE for diffusers' loader

    pipe = WanPipeline.from_pretrained(str(base))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def sample_videos(
    pipe, scenes: list[Scene], steps: int = 30, guidance: float = 1.0, seed: int = 0, batch: int = 8
) -> list[np.ndarray]:
    """Text-to-video samples of the base (a diffusers `WanPipeline`) for the scenes' captions."""
    import torch

    from imvideoedit.text_encoding import text_length

    outputs: list[np.ndarray] = []
    channels = pipe.transformer.config.in_channels
    for start in range(0, len(scenes), batch):
        chunk = scenes[start : start + batch]
        generator = torch.Generator().manual_seed(seed + start)
        frames, size = chunk[0].frames, chunk[0].size
        shape = (  # (b, C, F, h, w): the pixels themselves, or a world VAE's latents
            len(chunk),
            channels,
            (frames - 1) // pipe.vae_scale_factor_temporal + 1,
            size // pipe.vae_scale_factor_spatial,
            size // pipe.vae_scale_factor_spatial,
        )
        latents = torch.randn(shape, generator=generator)
        result = pipe(
            prompt=[caption(scene) for scene in chunk],
            negative_prompt=[""] * len(chunk),
            height=size,
            width=size,
            num_frames=frames,
            latents=latents,  # fixes the frame count (WanPipeline would round 9 frames up)
            num_inference_steps=steps,
            guidance_scale=guidance,
            max_sequence_length=text_length(pipe.tokenizer),
            output_type="np",
        )
        for video in result.frames:  # (T, H, W, 3) floats in [0, 1]
            outputs.append(np.clip(np.rint(np.asarray(video) * 255), 0, 255).astype(np.uint8))
    return outputs


def prior_report(
    pipe,
    count: int = 48,
    steps: int = 30,
    guidance: float = 1.0,
    seed: int = 0,
    frames: int = 9,
    max_shapes: int = MAX_SHAPES,
    world: WorldSpec = FULL_WORLD,
) -> tuple[PriorReport, list[np.ndarray], list[Scene]]:
    """Sample `count` videos and measure them against the renders of the same scenes.

    `frames=1` measures the base's images alone (what it draws, apart from keeping it over
    time): a run can be followed on that cheaper reading; flicker is then zero for both.
    `max_shapes` and `world` read a base in the (reduced) world it was trained in; the bar is
    set on the whole world.
    """
    scenes = prior_scenes(count, frames=frames, max_shapes=max_shapes, world=world)
    samples = sample_videos(pipe, scenes, steps=steps, guidance=guidance, seed=seed)
    return read_against_renders(samples, scenes), samples, scenes


def read_against_renders(
    videos: list[np.ndarray], scenes: list[Scene], truths: list[np.ndarray] | None = None
) -> PriorReport:
    """The bar's reading of `videos` (a base's samples, or a VAE's reconstructions) next to the
    same reading of the scenes' renders (`truths`, rendered here unless given)."""
    truths = truths if truths is not None else [render(scene) for scene in scenes]
    present, kind, flick, stable = measure(videos, scenes)
    present_t, kind_t, flick_t, stable_t = measure(truths, scenes)
    return PriorReport(
        videos=len(videos),
        objects=sum(len(scene.shapes) for scene in scenes),
        present=present,
        present_truth=present_t,
        one_kind=kind,
        one_kind_truth=kind_t,
        flicker=flick,
        flicker_truth=flick_t,
        stable_kind=stable,
        stable_kind_truth=stable_t,
    )
