"""``splice index [PATH]``: build or refresh the retrieval index of one workspace.

The index goes where ``splice serve`` looks for it (``SPLICE_INDEX_DIR``, else ``~/.cache/splice/index``)
unless ``--out`` names a file. Only changed files are re-indexed; an interrupted run (Ctrl-C) stops within
a file, keeps the batches it committed, says how many files that is and exits with 130. Every file left
out is counted under its reason (unreadable, not UTF-8, too large, not a language retrieval indexes...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from splice.commands import arguments, interruption


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


async def run(args: argparse.Namespace) -> int:
    """Index the workspace and print what was done."""
    from splice.commands.progress_bar import ProgressBar  # noqa: PLC0415 - `splice serve` starts faster without them
    from splice.errors import RetrievalError  # noqa: PLC0415
    from splice.retrieval.live import Retrieval, default_index_path  # noqa: PLC0415

    root = Path(args.path)
    if not root.is_dir():
        sys.stderr.write(f"splice: {root} is not a directory\n")
        return 2
    target = Path(args.out) if args.out else default_index_path(root)
    problem = arguments.file_problem(target) if args.out else None
    if problem is not None:
        sys.stderr.write(f"splice: cannot write the index: {problem}\n")
        return 2
    bar = ProgressBar(not args.quiet)
    try:
        retrieval = Retrieval.for_workspace(root, target)
        try:
            if args.semantic and retrieval.encoder is None:
                from splice.retrieval.live import optional_encoder  # noqa: PLC0415

                retrieval.encoder = optional_encoder(True)
            report = retrieval.rebuild(progress=bar, cancelled=interruption.requested)
            totals = retrieval.index.totals()
        finally:
            retrieval.close()
    except RetrievalError as exc:
        sys.stderr.write(f"splice: {exc.message}\n")
        return 1
    skipped = {reason: len(paths) for reason, paths in sorted(report.skipped.items())}
    if report.interrupted:
        bar.end()
        sys.stderr.write(f"splice: interrupted; kept {report.indexed} newly indexed files ({totals['chunks']} "
                         f"chunks in {target}); run it again to index the rest\n")
        return interruption.EXIT_INTERRUPTED
    summary = {"index": str(target), "files": report.files, "indexed": report.indexed,
               "unchanged": report.unchanged, "removed": report.removed, "chunks": totals["chunks"],
               "lines": report.lines, "redactions": report.redactions, "seconds": round(report.seconds, 2),
               "truncated": report.truncated, "skipped": skipped}
    if args.json:
        _write(json.dumps(summary, indent=2))
    else:
        _write(f"indexed {report.indexed} of {report.files} files ({report.unchanged} unchanged, "
               f"{report.removed} removed) in {report.seconds:.1f}s: {totals['chunks']} chunks, "
               f"{report.lines} lines, {report.redactions} secrets redacted")
        for reason, count in skipped.items():
            _write(f"  left out {count}: {reason}")
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
