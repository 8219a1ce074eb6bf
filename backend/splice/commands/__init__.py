"""Subcommands of the ``splice`` command line, one module each.

Each module defines ``add_parser(subparsers)`` and ``async run(args) -> int``. Modules keep their heavy
imports inside ``run`` so that listing the commands, and ``splice serve`` above all, start fast.
"""

from __future__ import annotations

# Order shown in ``splice --help``. A module is added here when its command exists.
COMMANDS: tuple[str, ...] = ("serve", "complete", "index", "customize", "search", "eval", "report", "replay",
                             "collector", "train-adapter", "export-adapter", "publish-adapter")
