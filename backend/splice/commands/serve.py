"""``splice serve``: the LSP server over stdio, which editors start as a subprocess."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve``."""
    commands.add_parser("serve", help="run the LSP server over stdio (what editors start)")


async def run(args: argparse.Namespace) -> int:
    """Never called: ``serve`` owns its event loop and the process (see :func:`splice.server.main.serve`)."""
    raise NotImplementedError
