"""Checks on command-line values shared by the commands: numbers in range, tenant names, output paths.

Each check runs while the arguments are parsed or before any work starts, so a value that cannot be used
gets a one-line message and exit code 2 instead of a traceback, or a wasted run, at the end.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from splice.config import tenant_name


def days(text: str) -> float:
    """A positive, finite number of days (``--since``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of days, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A non-negative, finite number of seconds (timeouts)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number of seconds, got {text!r}")
    return value


def integer(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer of at least {minimum}, got {text!r}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def tenant(text: str) -> str:
    """A tenant name, checked as the settings check it (:func:`splice.config.tenant_name`)."""
    try:
        return tenant_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def file_problem(path: Path) -> str | None:
    """Why the file ``path`` cannot be written, or None when it can (checked by creating a file beside it)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        return f"{path} is a directory"
    if not folder.is_dir():
        return f"the directory {folder} does not exist" if not folder.exists() else f"{folder} is not a directory"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}."):
            pass
    except OSError as exc:
        return f"cannot write in {folder}: {exc.strerror or exc}"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is not writable"
    return None


def directory_problem(path: Path) -> str | None:
    """Why ``path`` cannot be used as an output directory (existing, or created with its parents), or None."""
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory" if existing == path else f"{existing} (in {path}) is not a directory"
    try:
        with tempfile.TemporaryDirectory(dir=existing, prefix=".splice-check-"):
            pass
    except OSError as exc:
        return f"cannot write in {existing}: {exc.strerror or exc}"
    return None


def add_history_knobs(parser: argparse.ArgumentParser) -> None:
    """The data-selection options that read git history and deprecation, shared by the commands that
    learn from an organization's code (``customize``, ``train-adapter``) so both select alike."""
    parser.add_argument("--since-days", type=integer(1), metavar="N",
                        help="only files committed in the last N days")
    parser.add_argument("--max-bugfix-commits", type=integer(0), metavar="N",
                        help="leave out files touched by more than N bug-fix commits")
    parser.add_argument("--deprecated", action="append", default=[], metavar="GLOB",
                        help="more deprecated paths to leave out (deprecated/ and legacy/ always are)")
