"""The one exception type that means "the user gave us something we cannot use".

Library code raises `UserError` for bad input (missing files, corrupt media, bad config keys,
mismatched checkpoints). The command line turns it into a one-line message and a non-zero exit,
never a traceback. Anything else escaping to the CLI is a bug and is reported as such.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: the message is shown as-is, on one line."""
