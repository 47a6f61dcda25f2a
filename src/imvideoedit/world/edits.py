"""Edits of world scenes, one per task category the world can express.

Each edit changes scene parameters, never pixels, and the ground truth is the edited scene
rendered with the same motion. Edits whose result a single frame leaves open: `hatched` style
(the hatch phase is one value per video) and object addition (the new object's own motion).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imvideoedit.world.scene import (
    LIGHTS,
    SHAPE_COLOURS,
    SHAPE_KINDS,
    SIZES,
    Scene,
    caption,
    describe_background,
    sample_background,
    sample_hatch_phase,
    sample_pattern_offset,
    sample_shape,
    sample_start,
    sample_velocity,
)

# Edit kind -> its task category (slugs of `imvideoedit.data.tasks`, the paper's appendix B).
EDIT_KINDS: dict[str, str] = {
    "recolour": "color_texture",
    "style": "style_transfer",
    "add": "object_addition",
    "remove": "object_removal",
    "reshape": "rigid_replacement",
    "background": "background_replacement",
    "relight": "relighting",
    "zoom": "camera_viewpoint",
    "resize": "local_attribute",
    "outline": "local_attribute",
}


@dataclass(frozen=True)
class Edit:
    kind: str
    task: str
    instruction: str
    source: Scene
    target: Scene

    @property
    def source_caption(self) -> str:
        return caption(self.source)

    @property
    def target_caption(self) -> str:
        return caption(self.target)


def _name(shape) -> str:
    return f"the {shape.colour} {shape.kind}"


def _with_shape(scene: Scene, index: int, shape) -> Scene:
    shapes = list(scene.shapes)
    shapes[index] = shape
    return replace(scene, shapes=tuple(shapes))


def apply_edit(scene: Scene, kind: str, rng: np.random.Generator) -> Edit | None:
    """Apply one edit of `kind` (random choices from `rng`); None if it does not apply."""
    index = int(rng.integers(len(scene.shapes)))
    shape = scene.shapes[index]
    used_colours = {s.colour for s in scene.shapes} | {scene.background.colour_a, scene.background.colour_b}

    if kind == "recolour":
        colours = [c for c in SHAPE_COLOURS if c not in used_colours]
        if not colours:
            return None
        colour = str(rng.choice(colours))
        target = _with_shape(scene, index, replace(shape, colour=colour))
        instruction = f"make {_name(shape)} {colour}"
    elif kind == "reshape":
        kinds = [k for k in SHAPE_KINDS if k != shape.kind]
        new_kind = str(rng.choice(kinds))
        target = _with_shape(scene, index, replace(shape, kind=new_kind))
        instruction = f"replace {_name(shape)} with a {shape.colour} {new_kind}"
    elif kind == "remove":
        if len(scene.shapes) < 2:
            return None
        target = replace(scene, shapes=scene.shapes[:index] + scene.shapes[index + 1 :])
        instruction = f"remove {_name(shape)}"
    elif kind == "add":
        if len(scene.shapes) >= 3:
            return None
        new = sample_shape(rng, scene.size, avoid_colours=tuple(used_colours))
        target = replace(scene, shapes=scene.shapes + (new,))
        instruction = f"add a {new.size} {new.colour} {new.kind}"
    elif kind == "background":
        background = sample_background(rng, avoid=tuple(s.colour for s in scene.shapes))
        if describe_background(background) == describe_background(scene.background):
            return None
        target = replace(scene, background=background)
        instruction = f"replace the background with {describe_background(background)}"
    elif kind == "relight":
        light = str(rng.choice([name for name in LIGHTS if name not in ("normal", scene.light)]))
        target = replace(scene, light=light)
        instruction = f"change the lighting to {light} light"
    elif kind == "style":
        style = str(rng.choice(["hatched", "inverted", "outlined"]))
        target = replace(scene, style=style, style_phase=sample_hatch_phase(rng))
        instruction = f"render the scene in {style} style"
    elif kind == "zoom":
        if scene.zoom != 1.0:
            return None
        target = replace(scene, zoom=1.5)
        instruction = "zoom the camera in"
    elif kind == "resize":
        new_size = "large" if shape.size == "small" else "small"
        target = _with_shape(scene, index, replace(shape, size=new_size))
        instruction = f"make {_name(shape)} {new_size}"
    elif kind == "outline":
        if shape.outline:
            return None
        target = _with_shape(scene, index, replace(shape, outline=True))
        instruction = f"outline {_name(shape)} in black"
    else:
        raise ValueError(f"unknown edit kind {kind!r}; choose one of {', '.join(EDIT_KINDS)}")
    return Edit(kind=kind, task=EDIT_KINDS[kind], instruction=instruction, source=scene, target=target)


def sample_edit(scene: Scene, rng: np.random.Generator, kinds: tuple[str, ...] | None = None) -> Edit:
    """A random applicable edit of `scene`, kinds drawn uniformly from `kinds` (default: all)."""
    kinds = tuple(kinds or EDIT_KINDS)
    for _ in range(100):
        edit = apply_edit(scene, str(rng.choice(kinds)), rng)
        if edit is not None:
            return edit
    raise ValueError(f"no applicable edit among {kinds} for this scene")


def redraw_free_choices(edit: Edit, rng: np.random.Generator) -> Scene:
    """The edited scene with every choice the edit made that neither the source nor the edited
    caption states drawn again: another result a perfect editor could give.

    An added object's start and velocity, a new patterned background's offset and the hatch
    phase are such choices; the other kinds have none (the target is returned as it is). Scored
    against the ground truth, these redrawn scenes say how close to that one truth a faithful
    editor can get, which for open edits is less close than copying the source."""
    target = edit.target
    if edit.kind == "add":
        new = target.shapes[-1]
        vx, vy = sample_velocity(rng, target.size)
        x, y = sample_start(rng, target.size, SIZES[new.size] * target.size)
        return replace(target, shapes=target.shapes[:-1] + (replace(new, x=x, y=y, vx=vx, vy=vy),))
    if edit.kind == "background" and target.background.kind != "plain":  # plain: no pattern to place
        shift_u, shift_v = sample_pattern_offset(rng)
        return replace(target, background=replace(target.background, shift_u=shift_u, shift_v=shift_v))
    if edit.kind == "style" and target.style == "hatched":
        return replace(target, style_phase=sample_hatch_phase(rng))
    return target


__all__ = ["EDIT_KINDS", "SIZES", "Edit", "apply_edit", "redraw_free_choices", "sample_edit"]
