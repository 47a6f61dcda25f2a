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
MAX_SHAPES = 3  # the whole world's objects per scene: 1 to 3


@dataclass(frozen=True)
class WorldSpec:
    """The words a world's scenes are drawn from; the default is the whole world.

    A reduced world (one colour, one size, plain backgrounds, no pan...) is an easier one to
    learn first (`backbone_training`'s `world`, then `init_base`), and the way to find which
    factor holds a base back (docs/proving_ground.md). Its scenes are scenes of the whole world:
    captions and rendering do not change. The default draws exactly what the world always drew.
    """

    shape_kinds: tuple[str, ...] = SHAPE_KINDS
    shape_colours: tuple[str, ...] = SHAPE_COLOURS
    sizes: tuple[str, ...] = tuple(SIZES)
    background_kinds: tuple[str, ...] = BACKGROUND_KINDS
    background_colours: tuple[str, ...] = BACKGROUND_COLOURS
    pan_probability: float = 0.3  # share of scenes with a camera pan

    def __post_init__(self) -> None:
        for name, allowed in WORLD_WORD_SETS.items():
            values = tuple(getattr(self, name))  # lists from JSON (saved configs) become tuples
            object.__setattr__(self, name, values)
            unknown = [value for value in values if value not in allowed]
            if not values or unknown or len(set(values)) != len(values):
                raise ValueError(
                    f"world {name} must be distinct values from {', '.join(allowed)}; got {list(values)}"
                )
        if not 0.0 <= self.pan_probability <= 1.0:
            raise ValueError(f"world pan_probability must be in [0, 1], got {self.pan_probability}")

    def check_max_shapes(self, max_shapes: int) -> None:
        """Raise ValueError unless scenes of up to `max_shapes` objects can be drawn: the objects'
        colours are distinct, and the background uses none of them."""
        if not 1 <= max_shapes <= len(self.shape_colours):
            raise ValueError(
                f"max_shapes must be 1..{len(self.shape_colours)} (objects have distinct colours "
                f"and the world has {len(self.shape_colours)}), got {max_shapes}"
            )
        shared = len(set(self.background_colours) & set(self.shape_colours))
        left = len(self.background_colours) - min(max_shapes, shared)
        needed = 1 if set(self.background_kinds) == {"plain"} else 2
        if left < needed:
            raise ValueError(
                f"the world's background colours ({', '.join(self.background_colours)}) leave "
                f"{left} once {max_shapes} objects take theirs; its backgrounds need {needed}"
            )

    @property
    def is_full(self) -> bool:
        """The whole world, drawn exactly as it always was (its words in their order, its pan)."""
        return self == WorldSpec()

    @property
    def has_every_word(self) -> bool:
        """Every word of the whole world, in whatever order: what an edit may draw on is in it."""
        return all(set(getattr(self, name)) == set(words) for name, words in WORLD_WORD_SETS.items())


WORLD_WORD_SETS = {  # WorldSpec's word fields and the values each may take
    "shape_kinds": SHAPE_KINDS,
    "shape_colours": SHAPE_COLOURS,
    "sizes": tuple(SIZES),
    "background_kinds": BACKGROUND_KINDS,
    "background_colours": BACKGROUND_COLOURS,
}
FULL_WORLD = WorldSpec()


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


def sample_shape(
    rng: np.random.Generator, size: int, avoid_colours: tuple[str, ...] = (), world: WorldSpec = FULL_WORLD
) -> Shape:
    colours = [c for c in world.shape_colours if c not in avoid_colours]
    size_name = str(rng.choice(list(world.sizes)))
    vx, vy = sample_velocity(rng, size)
    kind, colour = str(rng.choice(list(world.shape_kinds))), str(rng.choice(colours))
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


def sample_background(
    rng: np.random.Generator, avoid: tuple[str, ...] = (), world: WorldSpec = FULL_WORLD
) -> Background:
    kind = str(rng.choice(list(world.background_kinds)))
    colours = [c for c in world.background_colours if c not in avoid]
    if len(colours) > 1:
        a, b = rng.choice(colours, size=2, replace=False)
    else:  # a plain-only world with one colour left (WorldSpec.check_max_shapes allows no other case)
        a, b = colours[0], Background.colour_b
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
    max_shapes: int = MAX_SHAPES,
    world: WorldSpec = FULL_WORLD,
) -> Scene:
    """A random scene of `world`: a background and 1..max_shapes shapes of distinct colours
    (`world.check_max_shapes(max_shapes)` says whether the world can draw them)."""
    shapes: list[Shape] = []
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        shapes.append(sample_shape(rng, size, tuple(s.colour for s in shapes), world))
    background = sample_background(rng, tuple(s.colour for s in shapes), world)
    pan = float(rng.uniform(-1.0, 1.0)) if rng.random() < world.pan_probability else 0.0
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
