"""``splice serve``: the LSP server over stdio, which editors start as a subprocess.

Editors' client libraries add their own flags to the command they start: ``--stdio`` to name the transport
(the only one Splice speaks, so it changes nothing) and ``--clientProcessId`` with the editor's process
id, which the server watches as it watches ``processId`` from ``initialize``: Splice exits when the editor
is gone, even before ``initialize`` arrives.
"""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve``."""
    serve = commands.add_parser("serve", help="run the LSP server over stdio (what editors start)")
    serve.add_argument("--stdio", action="store_true", help="use stdin and stdout (the only transport; accepted "
                                                            "because editor clients pass it)")
    serve.add_argument("--clientProcessId", dest="client_process_id", type=_process_id, metavar="PID",
                       help="the editor's process id: exit when it is gone")


def _process_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a process id, got {text!r}")
    return int(text)


async def run(args: argparse.Namespace) -> int:
    """Never called: ``serve`` owns its event loop and the process (see :func:`splice.server.main.serve`)."""
    raise NotImplementedError
