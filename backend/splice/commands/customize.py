"""``splice customize --tenant NAME --repo PATH [...] --out DIR``: build and publish a tenant's artifact.

Prints what it selected and why (every reason a file was left out, with counts), runs the guardrail on a
held-out slice of the tenant's repositories unless ``--no-guardrail``, and publishes only when the
selection holds files and the customization measurably does at least as well as the uncustomized default;
the exit code is 3 when it refuses (the previous version stays current), 2 when ``--out`` cannot hold
artifacts (checked before any work), 130 when interrupted (what was indexed is kept for the next run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from splice.commands import arguments, interruption

if TYPE_CHECKING:
    from splice.retrieval.customization import Customization


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _repo_name(path: Path, taken: set[str]) -> str:
    name = path.resolve().name or "repo"
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    taken.add(candidate)
    return candidate


async def run(args: argparse.Namespace) -> int:
    """Build, check and publish the artifact; print the selection and the outcome."""
    from splice.commands.progress_bar import ProgressBar  # noqa: PLC0415 - `splice serve` starts faster without them
    from splice.errors import RetrievalError  # noqa: PLC0415
    from splice.evaluation.guardrail import guardrail  # noqa: PLC0415
    from splice.retrieval.artifact import check_tenant  # noqa: PLC0415
    from splice.retrieval.customization import customize  # noqa: PLC0415
    from splice.retrieval.indexing import Source, check_source  # noqa: PLC0415
    from splice.retrieval.selection import DEFAULT_DEPRECATED, Knobs  # noqa: PLC0415

    problem = arguments.directory_problem(Path(args.out))
    if problem is not None:
        sys.stderr.write(f"splice: --out cannot hold artifacts: {problem}\n")
        return 2
    taken: set[str] = set()
    bar = ProgressBar(not args.quiet)
    try:
        check_tenant(args.tenant)
        sources = [Source(_repo_name(Path(p), taken), check_source(Path(p))) for p in args.repo]
        knobs = Knobs(include=tuple(args.include), exclude=tuple(args.exclude), since_days=args.since_days,
                      max_bugfix_commits=args.max_bugfix_commits,
                      deprecated=(*DEFAULT_DEPRECATED, *args.deprecated))
        check = None if args.no_guardrail else guardrail(tenant=args.tenant, tasks=args.guardrail_tasks)
        outcome = await customize(Path(args.out), args.tenant, sources, knobs=knobs, semantic=args.semantic,
                                  task_id=args.task_id, guardrail=check, progress=bar,
                                  cancelled=interruption.requested)
    except RetrievalError as exc:
        sys.stderr.write(f"splice: {exc.message}\n")
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        bar.end()
        sys.stderr.write("splice: interrupted; nothing was published, and the next run resumes from the files "
                         "indexed so far\n")
        return interruption.EXIT_INTERRUPTED
    report = outcome.report
    if report.interrupted:
        bar.end()
        sys.stderr.write(f"splice: interrupted; nothing was published; {report.indexed} files indexed in this run "
                         "are kept, and the next run resumes from them\n")
        return interruption.EXIT_INTERRUPTED
    _report(args, outcome, len(sources))
    if outcome.refused:
        sys.stderr.write(f"splice: not published: {outcome.refused}; the current artifact, if any, stays\n")
        return 3
    if not args.json:
        _write(f"published {outcome.published}")
    return 0


def _report(args: argparse.Namespace, outcome: Customization, repositories: int) -> None:
    """What was selected, left out and redacted, and the guardrail's figures: JSON or lines for people."""
    report = outcome.report
    if args.json:
        _write(json.dumps({
            "tenant": args.tenant, "published": str(outcome.published) if outcome.published else None,
            "refused": outcome.refused, "selected": report.files, "indexed": report.indexed,
            "skipped": {reason: len(paths) for reason, paths in report.skipped.items()},
            "sources": report.sources, "metrics": outcome.metrics, "redactions": report.redactions,
        }, indent=2, default=str))
    else:
        _write(f"tenant {args.tenant}: selected {report.files} files ({report.lines} lines) "
               f"from {repositories} repositories")
        for source in report.sources:
            commit = source.get("commit") or "not a git repository"
            dirty = " (uncommitted changes)" if source.get("dirty") else ""
            _write(f"  {source['name']}: {source['path']} @ {commit}{dirty}")
        for reason, paths in sorted(report.skipped.items()):
            _write(f"  left out {len(paths)}: {reason}")
            for path in paths[: args.show]:
                _write(f"    {path}")
            if len(paths) > args.show:
                _write(f"    ... and {len(paths) - args.show} more (see selection.json)")
        _write(f"  secrets redacted: {report.redactions}")
        metrics = outcome.metrics
        if metrics.get("quality_score") is not None:
            lift = metrics["lift"]["edit_similarity"]
            _write(f"guardrail: {metrics['tasks']} held-out lines, edit similarity lift {lift['delta']:+.3f} "
                   f"(95% CI {lift['ci95'][0]:+.3f}..{lift['ci95'][1]:+.3f}); quality score "
                   f"{metrics['quality_score']}/10")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``customize``."""
    parser = commands.add_parser("customize", help="build and publish an organization's customization artifact")
    parser.add_argument("--tenant", required=True, type=arguments.tenant,
                        help="tenant name (lowercase letters, digits, '-', '_', '.')")
    parser.add_argument("--repo", action="append", required=True, metavar="PATH", help="a repository (repeatable)")
    parser.add_argument("--out", required=True, metavar="DIR", help="artifacts root")
    parser.add_argument("--include", action="append", default=[], metavar="GLOB", help="only paths matching")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave out paths matching")
    arguments.add_history_knobs(parser)
    parser.add_argument("--semantic", action="store_true", help="embed chunks for semantic retrieval")
    parser.add_argument("--task-id", type=arguments.integer(0), metavar="ID",
                        help="lora_task_id the inference server knows this tenant by (links by-task-id/ID)")
    parser.add_argument("--no-guardrail", action="store_true", help="publish without the held-out evaluation")
    parser.add_argument("--guardrail-tasks", type=arguments.integer(1), default=40, metavar="N",
                        help="held-out lines the guardrail evaluates (default 40)")
    parser.add_argument("--show", type=arguments.integer(0), default=5, metavar="N",
                        help="paths to list per reason (default 5)")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
