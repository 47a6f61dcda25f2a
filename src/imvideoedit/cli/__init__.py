"""The `imvideoedit` command line: one entry point, one module per subcommand.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets
`handler=` to a function taking the parsed namespace and returning an exit code. Handlers only
parse, call library functions and print. Bad input surfaces as `UserError` and becomes a
one-line message with exit code 2; set IMVIDEOEDIT_DEBUG=1 to see tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from imvideoedit.errors import UserError

# Subcommand modules under imvideoedit.cli, in the order `--help` lists them.
COMMAND_MODULES = [
    "info",
    "tiny_base",
    "data",
    "train",
    "edit",
    "eval",
    "demo",
]


def build_parser() -> argparse.ArgumentParser:
    from imvideoedit import __version__

    parser = argparse.ArgumentParser(
        prog="imvideoedit",
        description="Edit videos with a frozen Wan2.1 transformer taught by image pairs (ImVideoEdit).",
    )
    parser.add_argument("--version", action="version", version=f"imvideoedit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"imvideoedit.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = os.environ.get("IMVIDEOEDIT_DEBUG", "") not in ("", "0")
    try:
        return int(args.handler(args) or 0)
    except UserError as error:
        if debug:
            raise
        print(f"imvideoedit: error: {_one_line(error)}", file=sys.stderr)
        _close_process_group()
        return 2
    except KeyboardInterrupt:
        print("imvideoedit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`imvideoedit ... | head`): not an error of ours
        _silence_stdout()
        return 141  # 128 + SIGPIPE, as a shell reports it
    except Exception as error:  # noqa: BLE001 - the CLI boundary: report, do not dump a traceback
        if debug:
            raise
        print(
            f"imvideoedit: internal error: {type(error).__name__}: {_one_line(error)} "
            "(set IMVIDEOEDIT_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        _close_process_group()
        return 1


def _close_process_group() -> None:
    """Under torchrun/accelerate, leave the process group before exiting on an error.

    Otherwise the backend's destructor aborts the process (SIGABRT) at interpreter exit, and the
    launcher prints its own traceback over the one-line message.
    """
    torch = sys.modules.get("torch")  # only if the command imported it
    if torch is None:
        return
    try:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    except Exception:  # noqa: BLE001, S110 - best effort on the way out; the error is already printed
        pass


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured): nothing to flush
        pass


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
