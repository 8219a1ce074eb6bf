"""Two typing reports of the same regions, before and after a change: paired lifts per language.

A change to the server (a show threshold, an engine change) is judged on the same regions typed by two
runs of ``splice eval --kind typing`` with the same repositories and seed. The replays are read back from
each report's ``per_task`` entries, and every rate's difference gets the paired bootstrap interval the
report's own lifts use (:func:`~splice.evaluation.typing_report.paired_rate_lift`), overall and per
language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from splice.evaluation.bootstrap import RESAMPLES
from splice.evaluation.typing import Replay, Shown
from splice.evaluation.typing_report import RATES, paired_rate_lift

COMPARED = ("chars_saved", "wrong_shown", "shown_per_100_keystrokes", "accepted_per_shown")


def replays(report: Mapping[str, Any], ablation: str | None = None) -> dict[str, Replay]:
    """The replays of one row of a typing report (default: its headline row), by task id."""
    if report.get("kind") != "typing":
        raise ValueError("not a typing report (splice eval --kind typing --json)")
    row = ablation or report.get("latency_ablation")
    found: dict[str, Replay] = {}
    for task in report.get("per_task", []):
        entry = task.get("rows", {}).get(row)
        if entry is None:
            continue
        replay = Replay(task_id=task["id"], language=task["language"], repo=task["repo"],
                        region_chars=len(task["region"]), keystrokes=entry["keystrokes"],
                        requests=entry["requests"], accepts=entry["accepts"],
                        partial_accepts=entry["partial_accepts"], saved_chars=entry["saved_chars"])
        replay.shown = [Shown(text=s["text"], completion_id="", remaining="", accepted=s["accepted"])
                        for s in entry["shown"]]
        found[task["id"]] = replay
    return found


def comparison(before: Mapping[str, Any], after: Mapping[str, Any], *, seed: int = 0,
               resamples: int = RESAMPLES) -> dict[str, dict[str, Any]]:
    """Per group (``all`` and each language): the regions both runs typed, each compared rate before and
    after, and the paired difference with its 95% interval."""
    old, new = replays(before), replays(after)
    common = [task_id for task_id in old if task_id in new]
    if not common:
        raise ValueError("the two reports share no region: same repositories and seed?")
    groups: dict[str, list[str]] = {"all": common}
    for task_id in common:
        groups.setdefault(old[task_id].language, []).append(task_id)
    out: dict[str, dict[str, Any]] = {}
    for name, ids in sorted(groups.items(), key=lambda item: (item[0] != "all", item[0])):
        a, b = [new[i] for i in ids], [old[i] for i in ids]
        out[name] = {"n": len(ids)}
        for rate in COMPARED:
            numerator, denominator, scale = RATES[rate]
            values = [sum(numerator(r) for r in rows) / max(1, sum(denominator(r) for r in rows)) * scale
                      for rows in (b, a)]
            out[name][rate] = {"before": round(values[0], 4), "after": round(values[1], 4),
                               **paired_rate_lift(a, b, rate, seed=seed, resamples=resamples)}
    return out
