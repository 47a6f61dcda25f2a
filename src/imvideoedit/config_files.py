"""Reading sectioned config files (TOML or YAML) with one-line errors for the user.

The training config and the data-construction config share this: a file is a mapping of
known sections, each a table of keys. Key-level checks belong to each config's dataclasses.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Callable, Iterable
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


def typed_sections(
    values: dict[str, dict[str, Any]],
    sections: dict[str, type],
    coerce: Callable[[Any, Any, str], Any],
) -> dict[str, Any]:
    """One dataclass instance per section from plain values: unknown keys refused, values coerced.

    coerce(value, type_hint, "section.key") converts one value or raises UserError.
    """
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
