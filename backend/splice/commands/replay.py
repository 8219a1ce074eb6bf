"""``splice replay``: recorded situations through the current pipeline; how would the suggestions change?

Needs the opt-in ``telemetryStoreText`` (``SPLICE_TELEMETRY_STORE_TEXT=true``): without it no situation is
recorded. Reports how many suggestions stay the same, change, disappear or appear, and how many previously
accepted suggestions the current pipeline would still produce.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from splice import config
from splice.commands import arguments
from splice.commands.report import open_recorded, since_ms

if TYPE_CHECKING:
    from splice.evaluation.replay import ReplaySummary


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


async def run(args: argparse.Namespace) -> int:
    """Replay and print the comparison."""
    from splice.evaluation.replay import accepted_parts, replay  # noqa: PLC0415 - keeps `splice --help` fast
    from splice.local import open_local  # noqa: PLC0415 - as above

    store = open_recorded(args)
    if store is None:
        return 1
    try:
        cutoff = since_ms(args.since)
        texts = list(store.texts(cutoff))
        events = list(store.events(cutoff))
    finally:
        store.close()
    if args.limit:
        texts = texts[-args.limit :]
    if not texts:
        sys.stderr.write("splice: no recorded situations; replay needs telemetryStoreText (SPLICE_TELEMETRY_STORE_TEXT"
                         "=true) while you work\n")
        return 1

    workspace = args.workspace.resolve() if args.workspace else None
    settings, _ = config.from_environment()  # the problems were printed as the command started
    repository = None
    if workspace is not None and settings.retrieval_deadline_ms > 0:
        from splice.retrieval.live import Retrieval  # noqa: PLC0415 - only with a workspace

        repository = Retrieval.for_workspace(workspace)
        repository.rebuild()
    try:
        local = await open_local(settings, workspace, index_timeout=args.index_timeout, repository=repository)
    except TimeoutError as exc:
        sys.stderr.write(f"splice: {exc}\n")
        return 1
    engine = local.engine
    try:
        summary = await replay(local, texts, accepted_parts(events, texts), workspace)
    finally:
        await local.aclose()

    _print_summary(summary, engine.name, workspace, args.show)
    return 0


def _print_summary(summary: ReplaySummary, engine_name: str, workspace: Path | None, show: int) -> None:
    """The counts by outcome, what a replay lacks, and the first ``show`` requests that came out differently."""
    from splice.evaluation.replay import LACKS  # noqa: PLC0415 - keeps `splice --help` fast
    total = len(summary.requests)
    _write(f"replayed {total} recorded requests with engine {engine_name}"
           + (f" ({summary.errors} failed)" if summary.errors else ""))
    for status, meaning in (("same", "same suggestion"), ("changed", "different suggestion"),
                            ("gone", "no suggestion now"), ("new", "a suggestion where there was none")):
        _write(f"  {meaning + ':':36} {summary.count(status)}")
    accepted = summary.accepted_before
    share = f" ({summary.still_produced / accepted * 100:.1f}%)" if accepted else ""
    _write(f"previously accepted suggestions still produced: {summary.still_produced} of {accepted}{share}")
    _write("a replay lacks: " + "; ".join(LACKS) + ("" if workspace else "; the workspace (pass --workspace)"))
    shown = 0
    for request in summary.requests:
        if shown >= show:
            break
        if request.status == "same":
            continue
        shown += 1
        kept = {True: " [accepted, still produced]", False: " [accepted, no longer produced]", None: ""}
        _write(f"\n{request.path} ({request.status}){kept[request.still_produced]}")
        _write(f"  before: {request.before!r}")
        _write(f"  after:  {request.after!r}")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``replay``."""
    replay = commands.add_parser("replay", help="run recorded situations through the current pipeline (opt-in texts)")
    replay.add_argument("--since", type=arguments.days, default=None, metavar="DAYS", help="only the last DAYS days")
    replay.add_argument("--limit", type=arguments.integer(0), default=0, metavar="N",
                        help="only the N most recent situations")
    replay.add_argument("--show", type=arguments.integer(0), default=10, metavar="N",
                        help="print N changed suggestions (default 10)")
    replay.add_argument("--workspace", type=Path, metavar="DIR", help="workspace the embedded engine indexes")
    replay.add_argument("--index-timeout", type=arguments.seconds, default=60.0, metavar="SECONDS",
                        help="how long to wait for the workspace index (default 60)")
    replay.add_argument("--data-dir", type=Path, metavar="DIR", help="telemetry directory (default: SPLICE_DATA_DIR "
                                                                     "or the user data directory)")
