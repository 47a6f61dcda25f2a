"""Command-line flags for a reduced world (`WorldSpec`): one --world-NAME per field.

Shared by the base's training script (the world it trains in) and the prior's reading (the
world it reads a base in), so both spell a world the same way.
"""

from __future__ import annotations

import argparse
import dataclasses

from imvideoedit.world.scene import FULL_WORLD, WORLD_WORD_SETS, WorldSpec


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(",") if word.strip())


def add_world_flags(parser: argparse.ArgumentParser, default_help: str = "all") -> None:
    """--world-shape-kinds circle,square ... (comma-separated words) and --world-pan-probability.
    A flag not given stays None: `world_from_args` then takes the value from elsewhere
    (`default_help` says where, in the help)."""
    for field in dataclasses.fields(WorldSpec):
        flag = f"--world-{field.name.replace('_', '-')}"
        if field.name in WORLD_WORD_SETS:
            choices = ",".join(WORLD_WORD_SETS[field.name])
            parser.add_argument(
                flag, type=_words, default=None, help=f"from {choices} (default: {default_help})"
            )
        else:
            parser.add_argument(flag, type=float, default=None, help=f"(default: {default_help})")


def given_world_fields(args: argparse.Namespace) -> dict:
    """The WorldSpec fields whose --world-* flag was given, with their values."""
    values = {field.name: getattr(args, f"world_{field.name}") for field in dataclasses.fields(WorldSpec)}
    return {name: value for name, value in values.items() if value is not None}


def world_from_args(args: argparse.Namespace, start: WorldSpec = FULL_WORLD) -> WorldSpec:
    """The world the flags name; a flag not given keeps `start`'s value. Raises ValueError."""
    return dataclasses.replace(start, **given_world_fields(args))
