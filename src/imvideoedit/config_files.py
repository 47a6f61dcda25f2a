"""Reading sectioned config files (TOML or YAML) with one-line errors for the user.

The training config and the data-construction config share this: a file is a mapping of
known sections, each a table of keys. Key-level checks belong to each config's dataclasses;
`check_ranges` is the one they (and the world trainers' configs) share for number fields.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from imvideoedit.errors import UserError


def read_config_sections(path: Path, sections: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The file's sections as dicts; unknown sections and non-table sections are refused."""
    sections = tuple(sections)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise UserError(f"config file must be .toml, .yaml or .yml: {path}")
    except UserError:
        raise
    except Exception as error:  # noqa: BLE001 - tomllib/yaml parse errors: one line for the user
        raise UserError(f"cannot parse config {path}: {' '.join(str(error).split())}") from None
    if not isinstance(data, dict):
        raise UserError(f"config {path} must be a mapping of sections, got {type(data).__name__}")
    unknown = sorted(set(data) - set(sections))
    if unknown:
        raise UserError(
            f"unknown section(s) {', '.join(unknown)} in {path}; valid sections: {', '.join(sections)}"
        )
    for name, table in data.items():
        if not isinstance(table, dict):
            raise UserError(f"[{name}] in {path} must be a table of keys, got {type(table).__name__}")
    return data


def typed_sections(values: dict[str, dict[str, Any]], sections: dict[str, type]) -> dict[str, Any]:
    """One dataclass instance per section from plain values: unknown keys refused, values coerced."""
    built = {}
    for name, cls in sections.items():
        table = values.get(name, {})
        hints = typing.get_type_hints(cls)
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(table) - set(valid))
        if unknown:
            raise UserError(
                f"unknown key(s) {', '.join(unknown)} in [{name}]; valid keys: {', '.join(valid)}"
            )
        built[name] = cls(**{key: coerce(value, hints[key], f"{name}.{key}") for key, value in table.items()})
    return built


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce(value: Any, hint: Any, name: str) -> Any:
    """`value` (from a file or a --set string) as the type `hint`, or a UserError naming `name`.

    Handles bool/int/float/str, optional types ("none"/"null" clear them), Literal choices and
    dict[str, T] tables (a JSON string is accepted for a table given on the command line).
    """
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return coerce(value, options[0], name)
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise UserError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
        return value
    if origin is dict:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise UserError(f"{name} must be a table, got {value!r}") from None
        if not isinstance(value, dict):
            raise UserError(f"{name} must be a table, got {value!r}")
        _, value_hint = typing.get_args(hint)
        if value_hint is Any:
            return dict(value)
        return {str(key): coerce(item, value_hint, f"{name}.{key}") for key, item in value.items()}
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
                return value.lower() in _TRUE
            raise ValueError
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.replace("_", ""))
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if not math.isfinite(number):  # nan or inf: no config value means that
                raise UserError(f"{name} must be a finite number, got {value!r}")
            return number
        if hint is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be {getattr(hint, '__name__', hint)}, got {value!r}") from None
    raise UserError(f"{name}: unsupported config type {hint!r}")  # pragma: no cover


def check_ranges(
    config: Any,
    *,
    positive: Iterable[str] = (),
    non_negative: Iterable[str] = (),
    fractions: Iterable[str] = (),
) -> None:
    """Refuse the first named field of `config` out of its range (ValueError naming it).

    positive: > 0; non_negative: >= 0; fractions: within [0, 1]. A float must also be finite.
    """
    rules = [(name, "positive") for name in positive] + [(name, "non_negative") for name in non_negative]
    rules += [(name, "fraction") for name in fractions]
    for name, rule in rules:
        value = getattr(config, name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value}")
        if rule == "positive" and not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
        if rule == "non_negative" and not value >= 0:
            raise ValueError(f"{name} must be 0 or more, got {value}")
        if rule == "fraction" and not 0 <= value <= 1:
            raise ValueError(f"{name} must lie within [0, 1], got {value}")
