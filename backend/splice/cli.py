"""Command line entry point: ``splice <command>``; each command lives in :mod:`splice.commands`.

``splice serve`` runs the stdio server for editors; every other command is for people and may write to
stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys

from splice import __version__
from splice.commands import COMMANDS
from splice.native_threads import limit_native_threads


def build_parser(names: tuple[str, ...] = COMMANDS) -> argparse.ArgumentParser:
    """The parser with the commands ``names`` registered (all of them unless told)."""
    parser = argparse.ArgumentParser(prog="splice", description="Splice code-completion backend")
    parser.add_argument("--version", action="version", version=f"splice {__version__}")
    commands = parser.add_subparsers(dest="command")
    for name in names:
        importlib.import_module(f"splice.commands.{name.replace('-', '_')}").add_parser(commands)
    return parser


# Flags editors' client libraries append to the server command, which may be plain ``splice``.
_SERVE_FLAGS = ("--stdio", "--clientProcessId")


def main(argv: list[str] | None = None) -> int:
    """Run the command named in ``argv`` (``serve`` when none is named)."""
    argv = sys.argv[1:] if argv is None else argv
    limit_native_threads()
    if argv and argv[0].split("=", 1)[0] in _SERVE_FLAGS:
        argv = ["serve", *argv]
    # An editor starting the server waits for its initialize reply: register only ``serve`` then, rather
    # than import every other command's module first.
    serving = not argv or argv[0] == "serve"
    args = build_parser(("serve",) if serving else COMMANDS).parse_args(argv)
    if args.command in (None, "serve"):
        from splice.server.main import serve  # noqa: PLC0415 - the server's imports stay out of other commands

        return serve(editor_pid=getattr(args, "client_process_id", None))
    from splice.logging import configure  # noqa: PLC0415 - as above

    configure("warning")
    from splice import config  # noqa: PLC0415 - as above
    from splice.commands import interruption  # noqa: PLC0415 - as above

    # Once for every command, whether or not it reads the settings: a misspelled variable is a mistake
    # to hear about wherever it is made.
    for problem in config.from_environment()[1]:
        sys.stderr.write(f"splice: {problem}\n")

    module = importlib.import_module(f"splice.commands.{args.command.replace('-', '_')}")
    try:
        with interruption.handling_interrupts():
            code: int = asyncio.run(interruption.watched(module.run(args)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        # A command that saw the interrupt says what it kept; this is for one interrupted before it could.
        sys.stderr.write("splice: interrupted\n")
        code = interruption.EXIT_INTERRUPTED
    if interruption.requested():
        # Leave now rather than wait for worker threads (a retrieval rebuild, say): what they had committed
        # is kept, the rest is what the interrupt asked to drop.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
