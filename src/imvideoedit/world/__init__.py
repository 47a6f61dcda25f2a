"""A procedural video world with exact ground truth for every edit.

Scenes are a background and one to three moving shapes; every edit re-renders the same scene
parameters with one change, so the ground-truth edited video has the source's motion by
construction. Used to train and measure the method at CPU scale.
"""

from imvideoedit.world.edits import EDIT_KINDS, Edit, apply_edit, sample_edit
from imvideoedit.world.render import render
from imvideoedit.world.scene import Background, Scene, Shape, caption, sample_scene

__all__ = [
    "EDIT_KINDS",
    "Background",
    "Edit",
    "Scene",
    "Shape",
    "apply_edit",
    "caption",
    "render",
    "sample_edit",
    "sample_scene",
]
