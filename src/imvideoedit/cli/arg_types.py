"""argparse value types for numbers with a lower bound, so a bad value is a usage error (exit 2).

Used as `type=` in the subcommands' parsers: `--frames 0` fails at parsing, in one line, rather
than deep inside a run (or, worse, quietly doing nothing).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _bounded(kind: type, minimum: float, inclusive: bool, expected: str) -> Callable[[str], int | float]:
    """A parser of `kind` (int or float) that refuses values below `minimum` (or at it)."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if value < minimum or (value == minimum and not inclusive):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


count = _bounded(int, 0, True, "0 or more")  # an integer >= 0
positive_int = _bounded(int, 1, True, "1 or more")  # an integer >= 1
positive_float = _bounded(float, 0.0, False, "a number above 0")  # a finite number > 0
non_negative_float = _bounded(float, 0.0, True, "0 or more")  # a finite number >= 0
