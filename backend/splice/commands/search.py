"""``splice search QUERY``: what retrieval finds for a piece of code, with path, lines, score and text.

Searches a tenant's published artifact (``--tenant`` with ``--artifacts``) or the index of the workspace
in the current directory (``--workspace``), the same indexes the server uses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from splice.commands import arguments


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


async def run(args: argparse.Namespace) -> int:
    """Print the top hits for the query."""
    from splice.errors import RetrievalError  # noqa: PLC0415 - `splice serve` starts faster without them
    from splice.retrieval.live import Retrieval, default_index_path  # noqa: PLC0415

    query = " ".join(args.query)
    if query == "-":
        query = sys.stdin.read()
    try:
        if args.tenant:
            if not args.artifacts:
                sys.stderr.write("splice: --tenant needs --artifacts DIR\n")
                return 2
            retrieval = Retrieval.for_tenant(Path(args.artifacts), args.tenant)
        else:
            root = Path(args.workspace)
            path = default_index_path(root)
            if not path.is_file():
                sys.stderr.write(f"splice: {root} has no index yet; run `splice index {root}`\n")
                return 2
            retrieval = Retrieval.for_workspace(root, path)
        hits = retrieval.retriever.search(query, args.top, deadline_s=5.0)
        retrieval.close()
    except RetrievalError as exc:
        sys.stderr.write(f"splice: {exc.message}\n")
        return 1
    if args.json:
        _write(json.dumps([{"path": h.path, "startLine": h.start_line + 1, "endLine": h.end_line,
                            "symbol": h.symbol, "score": h.score, "text": h.text} for h in hits], indent=2))
        return 0
    if not hits:
        sys.stderr.write("splice: no matches\n")
    for rank, hit in enumerate(hits, start=1):
        symbol = f"  {hit.symbol}" if hit.symbol else ""
        _write(f"{rank}. {hit.path}:{hit.start_line + 1}-{hit.end_line}{symbol}  score {hit.score:.4f}")
        for line in hit.text.rstrip("\n").split("\n"):
            _write(f"    {line}")
        _write("")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``search``."""
    parser = commands.add_parser("search", help="search the retrieval index (a tenant's or the workspace's)")
    parser.add_argument("query", nargs="+", help="code to search for ('-' reads it from stdin)")
    parser.add_argument("--tenant", type=arguments.tenant, help="search this tenant's published artifact")
    parser.add_argument("--artifacts", metavar="DIR", help="the artifacts root holding the tenant's directory")
    parser.add_argument("--workspace", default=".", help="workspace whose index to search (default: .)")
    parser.add_argument("--top", type=arguments.integer(1), default=5, metavar="K", help="how many hits (default 5)")
    parser.add_argument("--json", action="store_true", help="print the hits as JSON")
