"""The ten editing task categories of the paper (appendix B), defined once for the whole project.

A pair's optional `task` field names one of them. Metadata files may spell a task by its slug
(`object_addition`), by the paper's title (`Object Addition`, `Color/Texture Transformation`) or
any case/spacing/punctuation variant of either; `canonical_task` maps all of these to the slug.
Data construction, training reports and evaluation import `TASKS` from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    slug: str  # the name written to metadata files and reports
    title: str  # the paper's heading
    definition: str  # the paper's one-line definition, abridged


TASKS: tuple[Task, ...] = (
    Task(
        "style_transfer",
        "Consistent Style Transfer",
        "a unified visual style for the whole scene; composition and semantics kept",
    ),
    Task(
        "color_texture",
        "Color/Texture Transformation",
        "colour or material of specific objects changed; geometry and position kept",
    ),
    Task(
        "object_addition",
        "Object Addition",
        "new objects added consistently with lighting, scale, perspective",
    ),
    Task("object_removal", "Object Removal", "objects removed and the exposed region inpainted coherently"),
    Task(
        "rigid_replacement",
        "Rigid Object Replacement",
        "rigid objects replaced by others of similar extent and geometry",
    ),
    Task(
        "non_rigid_replacement",
        "Non-rigid Object Replacement",
        "deformable subjects (humans, animals) replaced under consistent pose and placement",
    ),
    Task(
        "camera_viewpoint",
        "Camera/Viewpoint Transformation",
        "camera perspective or framing changed; scene elements and their relations kept",
    ),
    Task(
        "local_attribute",
        "Local Attribute/State Editing",
        "local attributes or states (expression, wetness, damage) changed; identity kept",
    ),
    Task(
        "relighting",
        "Lighting & Relighting Reconstruction",
        "global illumination (time of day, light direction, colour temperature) changed",
    ),
    Task(
        "background_replacement",
        "Background Replacement",
        "the whole background replaced; foreground identity, pose and placement kept",
    ),
)

TASK_SLUGS: tuple[str, ...] = tuple(task.slug for task in TASKS)


def _squash(name: str) -> str:
    """'Color/Texture Transformation' -> 'colortexturetransformation'."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


_ALIASES: dict[str, str] = {}
for _task in TASKS:
    _ALIASES[_squash(_task.slug)] = _task.slug
    _ALIASES[_squash(_task.title)] = _task.slug


def canonical_task(name: str) -> str | None:
    """The slug for a task written as its slug or title in any case/spacing; None if unknown."""
    return _ALIASES.get(_squash(name))
