"""The one exception type that means "the user gave us something we cannot use".

Library code raises `UserError` for bad input (missing files, corrupt media, bad config keys,
mismatched checkpoints). The command line turns it into a one-line message and a non-zero exit,
never a traceback. Anything else escaping to the CLI is a bug and is reported as such.
"""

from __future__ import annotations

import os
from pathlib import Path


class UserError(Exception):
    """Bad input from the user: the message is shown as-is, on one line."""


def refuse_file_as_folder(path: str | os.PathLike, name: str = "", kind: str = "folder") -> None:
    """Refuse a file at `path`, where a folder (existing, or about to be made) is wanted:
    "`name` `path` is a file, not a `kind`" (`name`: the option or key that gave the path)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{f'{name} ' if name else ''}{path} is a file, not a {kind}")
