"""``splice index [PATH]``: build or refresh the retrieval index of one workspace.

The index goes where ``splice serve`` looks for it (``SPLICE_INDEX_DIR``, else ``~/.cache/splice/index``)
unless ``--out`` names a file. Only changed files are re-indexed; an interrupted run keeps its progress.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


async def run(args: argparse.Namespace) -> int:
    """Index the workspace and print what was done."""
    from splice.commands.progress_bar import ProgressBar  # noqa: PLC0415 - `splice serve` starts faster without them
    from splice.errors import RetrievalError  # noqa: PLC0415
    from splice.retrieval.live import Retrieval, default_index_path  # noqa: PLC0415

    root = Path(args.path)
    target = Path(args.out) if args.out else default_index_path(root)
    try:
        if not root.is_dir():
            sys.stderr.write(f"splice: {root} is not a directory\n")
            return 2
        retrieval = Retrieval.for_workspace(root, target)
        if args.semantic and retrieval.encoder is None:
            from splice.retrieval.live import optional_encoder  # noqa: PLC0415

            retrieval.encoder = optional_encoder(True)
        report = retrieval.rebuild(progress=ProgressBar(not args.quiet))
        totals = retrieval.index.totals()
        retrieval.close()
    except RetrievalError as exc:
        sys.stderr.write(f"splice: {exc.message}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("splice: interrupted; the files indexed so far are kept\n")
        return 130
    summary = {"index": str(target), "files": report.files, "indexed": report.indexed,
               "unchanged": report.unchanged, "removed": report.removed, "chunks": totals["chunks"],
               "lines": report.lines, "redactions": report.redactions, "seconds": round(report.seconds, 2),
               "truncated": report.truncated}
    if args.json:
        _write(json.dumps(summary, indent=2))
    else:
        _write(f"indexed {report.indexed} of {report.files} files ({report.unchanged} unchanged, "
               f"{report.removed} removed) in {report.seconds:.1f}s: {totals['chunks']} chunks, "
               f"{report.lines} lines, {report.redactions} secrets redacted")
        _write(f"index: {target}")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``index``."""
    parser = commands.add_parser("index", help="build or refresh the retrieval index of a workspace")
    parser.add_argument("path", nargs="?", default=".", help="workspace root (default: the current directory)")
    parser.add_argument("--out", metavar="FILE", help="index file (default: the cache `splice serve` uses)")
    parser.add_argument("--semantic", action="store_true",
                        help="also embed chunks (distils the static model on first use)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
