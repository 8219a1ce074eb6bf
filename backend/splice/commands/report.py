"""``splice report``: adoption figures from the local telemetry database, as text, HTML or JSON lines.

Text goes to the terminal; ``--html OUT`` also writes a self-contained dashboard with plots; ``--export
OUT`` writes the events as JSON lines (no code text) for an organisation's own aggregation pipeline. Both
output paths are checked before the database is read, so a path that cannot be written costs no work.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from splice import config
from splice.commands import arguments

if TYPE_CHECKING:
    from splice.telemetry.store import Store


def data_dir_of(args: argparse.Namespace) -> str:
    """``--data-dir``, else the ``data_dir`` setting (``SPLICE_DATA_DIR``)."""
    if args.data_dir:
        return str(args.data_dir)
    settings, _ = config.from_environment()  # the problems were printed as the command started
    return settings.data_dir


def since_ms(days: float | None, now: float | None = None) -> int | None:
    """The cut-off for ``--since DAYS`` in Unix milliseconds."""
    if days is None:
        return None
    return int(((now if now is not None else time.time()) - days * 86400) * 1000)


def open_recorded(args: argparse.Namespace) -> Store | None:
    """The telemetry database named by ``--data-dir`` or the settings, read-only; None (with the reason on
    stderr) when it cannot be opened."""
    from splice.telemetry.store import Store, StoreError, database_path  # noqa: PLC0415 - keeps `splice --help` fast

    try:
        return Store.open_readonly(database_path(data_dir_of(args)))
    except StoreError as exc:
        sys.stderr.write(f"splice: {exc}\n")
        return None


def collector_report(args: argparse.Namespace) -> int:
    """Print the organization's figures from the collector at ``--collector`` (the dashboard's tables)."""
    from splice.collector import client  # noqa: PLC0415 - keeps `splice --help` fast
    from splice.collector.dashboard import terminal_report  # noqa: PLC0415

    days = max(1, math.ceil(args.since)) if args.since else 30
    try:
        figures = client.call(args.collector, client.admin_token(args.admin_token), "GET", "/v1/figures",
                              query={"days": days})
    except client.CollectorError as exc:
        sys.stderr.write(f"splice: {exc}\n")
        return 1
    sys.stdout.write(terminal_report(figures))
    return 0


async def run(args: argparse.Namespace) -> int:
    """Compute and print (and write) the report."""
    if args.collector:
        return collector_report(args)
    from splice.telemetry.report import html_report, text_report  # noqa: PLC0415 - keeps `splice --help` fast

    for option, path in (("--html", args.html), ("--export", args.export)):
        if path is not None and str(path) != "-" and (problem := arguments.file_problem(Path(path))) is not None:
            sys.stderr.write(f"splice: cannot write {option} {path}: {problem}\n")
            return 2
    store = open_recorded(args)
    if store is None:
        return 1
    try:
        cutoff = since_ms(args.since)
        if args.export:
            if str(args.export) == "-":
                count = store.export_jsonl(sys.stdout, cutoff)
            else:
                with Path(args.export).open("w", encoding="utf-8") as out:
                    count = store.export_jsonl(out, cutoff)
            sys.stderr.write(f"splice: exported {count} events\n")
            return 0
        events = list(store.events(cutoff))
    finally:
        store.close()
    sys.stdout.write(text_report(events, args.since))
    if args.html:
        try:
            page = html_report(events, args.since)
        except ImportError as exc:
            sys.stderr.write(f"splice: the HTML report needs matplotlib (pip install 'splice[report]'): {exc}\n")
            return 1
        Path(args.html).write_text(page, encoding="utf-8")
        sys.stdout.write(f"\nHTML dashboard: {args.html}\n")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``report``."""
    report = commands.add_parser("report", help="adoption figures from the local telemetry (text, HTML, JSON lines)")
    report.add_argument("--since", type=arguments.days, default=None, metavar="DAYS", help="only the last DAYS days")
    report.add_argument("--html", type=Path, metavar="OUT", help="also write a self-contained HTML dashboard")
    report.add_argument("--export", metavar="OUT", help="write the events as JSON lines to OUT ('-': stdout) instead")
    report.add_argument("--collector", metavar="URL", help="the organization's figures from its collector instead "
                                                           "(--since rounds up to whole days; default 30)")
    report.add_argument("--admin-token", help="the organization's admin token (default: SPLICE_ADMIN_TOKEN)")
    report.add_argument("--data-dir", type=Path, metavar="DIR", help="telemetry directory (default: SPLICE_DATA_DIR "
                                                                     "or the user data directory)")
