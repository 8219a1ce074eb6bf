"""``splice eval --kind typing``: replay the writing of held-out regions through real ``splice serve`` processes.

The command's checks (output paths, repositories, task count, row names) are ``splice eval``'s, done before
this runs; here the regions are sampled, replayed, and the report written as JSON (and HTML with ``--html``)
with the same fallbacks: an interrupted run, a leak caught by the guard, or a server that fails keeps what
was computed. The summary table goes to stdout, one row per configuration and language.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from splice.commands import interruption
from splice.commands.eval import EXIT_USAGE, _save, _say, stopped_early
from splice.commands.progress_bar import CountBar

_COLUMNS = (("chars_saved", "saved"), ("shown_per_100_keystrokes", "shown/100"), ("accepted_per_shown", "acc/shown"),
            ("wrong_shown", "wrong"), ("chars_per_opportunity", "chars/opp"))


def table(data: dict[str, Any]) -> str:
    """The summary: per row, overall then per language, each rate with its 95% interval."""
    header = f"{'row':<26} {'n':>4} " + " ".join(f"{label:>22}" for _, label in _COLUMNS)
    lines = [header + f" {'broken':>6} {'p50 ms':>7} {'p99 ms':>7}"]

    def line(label: str, summary: dict[str, Any]) -> str:
        cells = []
        for key, _ in _COLUMNS:
            rate = summary[key]
            value, (low, high) = rate["value"], rate["ci95"]
            cells.append(f"{'-':>22}" if value is None else f"{value:>7.3f} [{low:.3f},{high:.3f}]".rjust(22))
        latency = summary["latency_ms"]
        p50 = f"{latency['p50']:>7.1f}" if latency["p50"] is not None else f"{'-':>7}"
        p99 = f"{latency['p99']:>7.1f}" if latency["p99"] is not None else f"{'-':>7}"
        return f"{label:<26} {summary['n']:>4} " + " ".join(cells) + f" {summary['broken_after_accept']:>6} {p50} {p99}"

    for name, summary in data["ablations"].items():
        if not summary["n"]:
            continue
        lines.append(line(f"{name} (all)", summary))
        for language, group in data["by_language"].items():
            if name in group:
                lines.append(line(f"  {language}", group[name]))
    for name, summary in data["ablations"].items():
        if summary.get("fallback_shown"):
            lines.append(f"{name}: {summary['fallback_shown']} of {summary['counts']['shown']} shown suggestions came "
                         f"from the fallback engine, not {data['settings'].get('engine', 'the configured one')}")
    for name, lift in data["lifts"].items():
        parts = [f"{label} {lift[key]['delta']:+.3f} [{lift[key]['ci95'][0]:+.3f},{lift[key]['ci95'][1]:+.3f}]"
                 for key, label in _COLUMNS if lift[key]["delta"] is not None]
        lines.append(f"{name} over {lift['baseline']} ({lift['n']} regions): " + "; ".join(parts))
    return "\n".join(lines)


async def run(args: argparse.Namespace, ablations: tuple[str, ...]) -> int:
    """Sample the regions, replay them, write the reports and print the summary."""
    from splice.evaluation.typing_harness import TypingEvaluation, TypingOptions  # noqa: PLC0415 - evaluation only
    from splice.evaluation.typing_report import render_typing_html  # noqa: PLC0415

    options = TypingOptions(tasks=args.tasks, seed=args.seed, ablations=ablations, open_files=args.open_files,
                            index_timeout=args.index_timeout, resamples=args.bootstrap, tenant=args.tenant,
                            workdir=args.workdir)
    progress = CountBar(unit="region", desc="typing")

    evaluation = TypingEvaluation(args.repo, options, on_progress=progress)
    sample = evaluation.prepare()
    for problem in evaluation.problems:
        _say(problem)
    if not sample.tasks:
        _say("no regions to type: nothing in the given repositories can be hidden")
        _save(evaluation.report().as_json(), args.json, args.html, render_typing_html)
        return EXIT_USAGE
    languages = sorted({t.language for t in sample.tasks})
    _say(f"{len(sample.tasks)} regions to type in {', '.join(languages)}; through `splice serve`")
    try:
        code = await stopped_early(evaluation.run())
    finally:
        progress.close()
    with interruption.saving():  # an interrupted run still writes what it computed
        data = evaluation.report(partial=code != 0).as_json()
        saved = _save(data, args.json, args.html, render_typing_html)
    sys.stdout.write(table(data) + "\n")
    return code or (0 if saved else 1)
