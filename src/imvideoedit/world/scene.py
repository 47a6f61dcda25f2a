"""World scenes: typed parameters, random sampling, and template captions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 210, 40),
    "magenta": (210, 50, 200),
    "cyan": (40, 200, 210),
    "orange": (240, 140, 30),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "gray": (128, 128, 128),
}
SHAPE_COLOURS = ("red", "green", "blue", "yellow", "magenta", "cyan", "orange")
BACKGROUND_COLOURS = ("white", "black", "gray", "green", "blue", "yellow")
SHAPE_KINDS = ("circle", "square", "triangle", "diamond", "cross")
BACKGROUND_KINDS = ("plain", "stripes", "gradient", "checker")
SIZES = {"small": 0.14, "large": 0.22}  # radius as a fraction of the frame size
LIGHTS: dict[str, tuple[float, float, float]] = {
    "normal": (1.0, 1.0, 1.0),
    "dim": (0.5, 0.5, 0.5),
    "warm": (1.0, 0.75, 0.5),
    "cool": (0.6, 0.8, 1.0),
}
STYLES = ("plain", "hatched", "inverted", "outlined")


@dataclass(frozen=True)
class Shape:
    kind: str
    colour: str
    size: str
    x: float  # start position, pixels (frame coordinates at zoom 1)
    y: float
    vx: float  # velocity, pixels per frame (bounces off the frame edges)
    vy: float
    outline: bool = False


@dataclass(frozen=True)
class Background:
    kind: str
    colour_a: str
    colour_b: str = "white"
    period: int = 8  # stripe / checker period in pixels (fixed: captions do not name it)
    vertical: bool = True  # stripe and gradient orientation
    # Where the pattern starts (pixels): random, so backgrounds look the same wherever they are
    # placed. A Wan transformer has only relative (RoPE) positions and cannot paint a pattern at
    # a fixed absolute phase from noise; a world that never asks for one is learnable.
    shift_u: float = 0.0
    shift_v: float = 0.0


@dataclass(frozen=True)
class Scene:
    background: Background
    shapes: tuple[Shape, ...]
    frames: int = 9
    size: int = 32
    pan: float = 0.0  # background scroll, pixels per frame (a camera pan)
    zoom: float = 1.0  # camera zoom about the frame centre
    light: str = "normal"
    style: str = "plain"
    style_phase: int = 0  # hatch phase: one value per video, not fixed by any single frame


def sample_shape(rng: np.random.Generator, size: int, avoid_colours: tuple[str, ...] = ()) -> Shape:
    colours = [c for c in SHAPE_COLOURS if c not in avoid_colours]
    size_name = str(rng.choice(list(SIZES)))
    vx, vy = sample_velocity(rng, size)
    kind, colour = str(rng.choice(SHAPE_KINDS)), str(rng.choice(colours))
    x, y = sample_start(rng, size, SIZES[size_name] * size)
    return Shape(kind=kind, colour=colour, size=size_name, x=x, y=y, vx=vx, vy=vy)


def sample_velocity(rng: np.random.Generator, size: int) -> tuple[float, float]:
    """A shape's constant velocity (pixels per frame): any direction, 0.6-1.6 px at 32 px."""
    speed = rng.uniform(0.6, 1.6) * size / 32
    angle = rng.uniform(0, 2 * np.pi)
    return float(speed * np.cos(angle)), float(speed * np.sin(angle))


def sample_start(rng: np.random.Generator, size: int, radius: float) -> tuple[float, float]:
    """A shape's start position (pixels), wholly inside the frame."""
    return float(rng.uniform(radius, size - radius)), float(rng.uniform(radius, size - radius))


def sample_background(rng: np.random.Generator, avoid: tuple[str, ...] = ()) -> Background:
    kind = str(rng.choice(BACKGROUND_KINDS))
    a, b = rng.choice([c for c in BACKGROUND_COLOURS if c not in avoid], size=2, replace=False)
    vertical = bool(rng.integers(0, 2))
    shift_u, shift_v = sample_pattern_offset(rng)
    return Background(
        kind=kind, colour_a=str(a), colour_b=str(b), vertical=vertical, shift_u=shift_u, shift_v=shift_v
    )


def sample_pattern_offset(rng: np.random.Generator) -> tuple[float, float]:
    """Where a background pattern starts (`Background.shift_u`, `shift_v`), in pixels."""
    return float(rng.uniform(0, 64)), float(rng.uniform(0, 64))


def sample_hatch_phase(rng: np.random.Generator) -> int:
    """Where the hatched style's diagonal stripes start (`Scene.style_phase`): one of four."""
    return int(rng.integers(0, 4))


def sample_scene(
    rng: np.random.Generator,
    size: int = 32,
    frames: int = 9,
    max_shapes: int = 3,
    pan_probability: float = 0.3,
) -> Scene:
    """A random scene: a background and 1..max_shapes shapes of distinct colours."""
    shapes: list[Shape] = []
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        shapes.append(sample_shape(rng, size, avoid_colours=tuple(s.colour for s in shapes)))
    background = sample_background(rng, avoid=tuple(s.colour for s in shapes))
    pan = float(rng.uniform(-1.0, 1.0)) if rng.random() < pan_probability else 0.0
    return Scene(background=background, shapes=tuple(shapes), frames=frames, size=size, pan=pan)


def describe_shape(shape: Shape) -> str:
    outline = " outlined" if shape.outline else ""
    return f"a {shape.size}{outline} {shape.colour} {shape.kind}"


def describe_background(background: Background) -> str:
    a, b = background.colour_a, background.colour_b
    orientation = "vertical" if background.vertical else "horizontal"
    return {
        "plain": f"a plain {a} background",
        "stripes": f"a background of {orientation} {a} and {b} stripes",
        "gradient": f"a {orientation} {a} to {b} gradient background",
        "checker": f"a {a} and {b} checkerboard background",
    }[background.kind]


def caption(scene: Scene) -> str:
    """The whole scene in words (what the text encoder sees): shapes, background, camera, look."""
    shapes = " and ".join(describe_shape(s) for s in scene.shapes)
    verb = "moves" if len(scene.shapes) == 1 else "move"
    text = f"{shapes} {verb} over {describe_background(scene.background)}"
    if scene.pan:
        text += ", the camera pans"
    if scene.zoom != 1.0:
        text += ", zoomed in"
    if scene.light != "normal":
        text += f", {scene.light} light"
    if scene.style != "plain":
        text += f", {scene.style} style"
    return text
