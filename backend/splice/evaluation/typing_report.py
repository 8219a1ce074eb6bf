"""From typing replays to the report: rates per row, language and repository, bootstrap intervals, JSON.

Every rate is a ratio of sums over tasks (characters saved is all accepted region characters over all
region characters), so a long region weighs what its length says. Its 95% interval resamples *tasks*: each
of ``resamples`` seeded draws picks tasks with replacement and recomputes the ratio; a lift between two rows
is computed on the tasks both finished, resampling the same task indices for both (paired).

- ``chars_saved``: region characters written by accepted suggestions, over region characters;
- ``shown_per_100_keystrokes``: distinct suggestions shown per 100 keystrokes (characters typed and accepts);
- ``accepted_per_shown``: shown suggestions of which the developer took something (whole or a prefix);
- ``wrong_shown``: shown suggestions of which they took nothing;
- ``chars_per_opportunity``: accepted region characters per request the editor sent;
- ``late_share``: answers slower than the typing pace;
- ``broken_after_accept``: tasks whose typed region holds tree-sitter errors the real file does not.
"""

from __future__ import annotations

import html
import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from splice.evaluation.bootstrap import RESAMPLES
from splice.evaluation.metrics import latency_summary
from splice.evaluation.sampling import Task
from splice.evaluation.typing import Replay

# name -> (numerator, denominator, scale) per replay
RATES: dict[str, tuple[Callable[[Replay], float], Callable[[Replay], float], float]] = {
    "chars_saved": (lambda r: r.saved_chars, lambda r: r.region_chars, 1.0),
    "shown_per_100_keystrokes": (lambda r: len(r.shown), lambda r: r.keystrokes, 100.0),
    "accepted_per_shown": (lambda r: len(r.shown) - r.wrong, lambda r: len(r.shown), 1.0),
    "wrong_shown": (lambda r: r.wrong, lambda r: len(r.shown), 1.0),
    "chars_per_opportunity": (lambda r: r.saved_chars, lambda r: r.requests, 1.0),
    "late_share": (lambda r: r.late, lambda r: r.requests, 1.0),
}


def _ratio(num: npt.NDArray[np.float64], den: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def rate_interval(num: Sequence[float], den: Sequence[float], *, seed: int, resamples: int,
                  scale: float = 1.0) -> dict[str, Any]:
    """The ratio of sums with its 95% bootstrap interval over tasks."""
    a, b = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    if not len(a) or b.sum() <= 0:
        return {"value": None, "ci95": [None, None]}
    indices = np.random.default_rng(seed).integers(0, len(a), size=(resamples, len(a)))
    draws = _ratio(a[indices].sum(axis=1), b[indices].sum(axis=1)) * scale
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return {"value": round(float(a.sum() / b.sum() * scale), 4), "ci95": [round(float(low), 4), round(float(high), 4)]}


def paired_rate_lift(candidate: Sequence[Replay], baseline: Sequence[Replay], rate: str, *, seed: int,
                     resamples: int) -> dict[str, Any]:
    """``candidate``'s rate minus ``baseline``'s on the same tasks (same order), with its paired interval."""
    numerator, denominator, scale = RATES[rate]
    if not candidate:
        return {"delta": None, "ci95": [None, None]}
    arrays = [np.asarray([f(r) for r in rows], dtype=np.float64)
              for rows in (candidate, baseline) for f in (numerator, denominator)]
    indices = np.random.default_rng(seed).integers(0, len(candidate), size=(resamples, len(candidate)))
    draws = (_ratio(arrays[0][indices].sum(axis=1), arrays[1][indices].sum(axis=1))
             - _ratio(arrays[2][indices].sum(axis=1), arrays[3][indices].sum(axis=1))) * scale
    delta = (_ratio(arrays[0].sum(keepdims=True), arrays[1].sum(keepdims=True))
             - _ratio(arrays[2].sum(keepdims=True), arrays[3].sum(keepdims=True)))[0] * scale
    if math.isnan(delta):
        return {"delta": None, "ci95": [None, None]}
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return {"delta": round(float(delta), 4), "ci95": [round(float(low), 4), round(float(high), 4)]}


@dataclass(kw_only=True)
class TypingReport:
    """Everything one typing run measured; :meth:`as_json` is the published form."""

    tasks: list[Task]
    ablations: list[str]
    replays: dict[str, dict[str, Replay]]  # ablation -> task id -> replay
    problems: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    partial: bool = False
    seed: int = 0
    resamples: int = RESAMPLES

    def rows(self, ablation: str, tasks: Sequence[Task] | None = None) -> list[Replay]:
        """The replays of ``ablation`` over ``tasks`` (all by default), in task order."""
        done = self.replays.get(ablation, {})
        return [done[t.id] for t in (self.tasks if tasks is None else tasks) if t.id in done]

    def summary(self, ablation: str, tasks: Sequence[Task] | None = None) -> dict[str, Any]:
        """Rates with intervals, counts and latency of ``ablation`` over ``tasks``."""
        rows = self.rows(ablation, tasks)
        summary: dict[str, Any] = {"n": len(rows)}
        for name, (numerator, denominator, scale) in RATES.items():
            summary[name] = rate_interval([numerator(r) for r in rows], [denominator(r) for r in rows],
                                          seed=self.seed, resamples=self.resamples, scale=scale)
        summary["broken_after_accept"] = sum(1 for r in rows if r.region_errors_added)
        summary["errors_added"] = sum(r.region_errors_added for r in rows)
        summary["final_differs"] = sum(1 for r in rows if not r.final_matches)
        summary["counts"] = {
            "region_chars": sum(r.region_chars for r in rows), "keystrokes": sum(r.keystrokes for r in rows),
            "requests": sum(r.requests for r in rows), "shown": sum(len(r.shown) for r in rows),
            "accepts": sum(r.accepts for r in rows), "partial_accepts": sum(r.partial_accepts for r in rows),
            "wrong": sum(r.wrong for r in rows), "saved_chars": sum(r.saved_chars for r in rows),
            "failed_requests": sum(r.failed for r in rows),
        }
        # Which engine proposed what was shown: a row meant to measure one engine that another stood in
        # for is flagged, never silently credited.
        shown = [item for r in rows for item in r.shown]
        summary["shown_by_engine"] = dict(sorted(Counter(item.engine or "unknown" for item in shown).items()))
        summary["fallback_shown"] = sum(1 for item in shown if item.fallback)
        summary["latency_ms"] = latency_summary([ms for r in rows for ms in r.latencies_ms])
        return summary

    def lifts(self) -> dict[str, Any]:
        """Each row over the row before it, per rate, on the tasks both finished."""
        ran = [name for name in self.ablations if self.replays.get(name)]
        out: dict[str, Any] = {}
        for previous, name in itertools.pairwise(ran):
            paired = [t for t in self.tasks if t.id in self.replays[name] and t.id in self.replays[previous]]
            out[name] = {"baseline": previous, "n": len(paired)} | {
                rate: paired_rate_lift(self.rows(name, paired), self.rows(previous, paired), rate,
                                       seed=self.seed, resamples=self.resamples)
                for rate in RATES
            }
        return out

    def as_json(self, *, per_task: bool = True) -> dict[str, Any]:
        """The report as JSON-ready data."""
        ran = [name for name in self.ablations if self.replays.get(name)]

        def grouped(key: Callable[[Task], str]) -> dict[str, Any]:
            groups: dict[str, list[Task]] = {}
            for task in self.tasks:
                groups.setdefault(key(task), []).append(task)
            return {name: {"tasks": len(subset)} | {a: self.summary(a, subset) for a in ran}
                    for name, subset in sorted(groups.items())}

        headline = ran[-1] if ran else None
        data: dict[str, Any] = {
            "kind": "typing", "tasks": len(self.tasks),
            "ablations": {name: self.summary(name) for name in self.ablations},
            "by_language": grouped(lambda t: t.language), "by_repo": grouped(lambda t: t.repo.name),
            "lifts": self.lifts(), "latency_ablation": headline,
            "latency_ms": self.summary(headline)["latency_ms"] if headline else latency_summary([]),
            "repos": sorted({str(t.repo) for t in self.tasks}), "seed": self.seed, "settings": self.settings,
            "problems": self.problems, "partial": self.partial,
        }
        if per_task:
            data["per_task"] = [self._task_entry(t, ran) for t in self.tasks]
        return data

    def _task_entry(self, task: Task, ran: list[str]) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": task.id, "repo": task.repo.name, "path": task.path, "line": task.line + 1,
                                 "language": task.language, "kind": task.kind, "region": task.middle, "rows": {}}
        for name in ran:
            replay = self.replays[name].get(task.id)
            if replay is None:
                continue
            entry["rows"][name] = {
                "keystrokes": replay.keystrokes, "requests": replay.requests, "saved_chars": replay.saved_chars,
                "accepts": replay.accepts, "partial_accepts": replay.partial_accepts,
                "errors_added": replay.region_errors_added, "final_matches": replay.final_matches,
                # Every suggestion shown, with what the server's confidence came from: a show threshold
                # is fitted on these offline (``scripts/fit-confidence``).
                "shown": [{"text": s.text, "accepted": s.accepted, "taken": s.taken, "confidence": s.confidence,
                           "features": s.features} for s in replay.shown],
            }
        return entry


_RATE_LABELS = (("chars_saved", "chars saved"), ("shown_per_100_keystrokes", "shown / 100 keys"),
                ("accepted_per_shown", "accepted / shown"), ("wrong_shown", "wrong shown"),
                ("chars_per_opportunity", "chars / opportunity"))


def _cell(rate: dict[str, Any]) -> str:
    value, (low, high) = rate.get("value"), rate.get("ci95", [None, None])
    if value is None:
        return "–"
    return f"{value:.3f}" + (f" <small>[{low:.3f}, {high:.3f}]</small>" if low is not None else "")


def _row(label: str, summary: dict[str, Any]) -> str:
    latency = summary["latency_ms"]
    cells = "".join(f"<td>{_cell(summary[key])}</td>" for key, _ in _RATE_LABELS)
    p50 = "–" if latency["p50"] is None else f"{latency['p50']:.1f}"
    p99 = "–" if latency["p99"] is None else f"{latency['p99']:.1f}"
    return (f"<tr><td>{html.escape(label)}</td><td>{summary['n']}</td>{cells}"
            f"<td>{summary['broken_after_accept']}</td><td>{p50}</td><td>{p99}</td></tr>")


def _lifts(data: dict[str, Any]) -> str:
    """Each row over the row before it, per rate, with the paired interval."""
    rows = []
    for name, lift in data.get("lifts", {}).items():
        cells = []
        for key, _ in _RATE_LABELS:
            entry = lift[key]
            low, high = entry["ci95"]
            cells.append("<td>–</td>" if entry["delta"] is None else
                         f"<td>{entry['delta']:+.3f} <small>[{low:+.3f}, {high:+.3f}]</small></td>")
        rows.append(f"<tr><td>{html.escape(name)} over {html.escape(lift['baseline'])}</td>"
                    f"<td>{lift['n']}</td>{''.join(cells)}</tr>")
    if not rows:
        return ""
    head = "<tr><th>lift</th><th>tasks</th>" + "".join(f"<th>{label}</th>" for _, label in _RATE_LABELS) + "</tr>"
    return f"<h2>Lifts (paired, 95% intervals)</h2><table>{head}{''.join(rows)}</table>"


def _confidence_note(value: Any) -> str:
    return f", confidence {value:.2f}" if isinstance(value, int | float) else ""


def render_typing_html(data: dict[str, Any]) -> str:
    """The typing report as one self-contained page; every piece of code shown is escaped."""
    head = ("<tr><th>row</th><th>tasks</th>" + "".join(f"<th>{label}</th>" for _, label in _RATE_LABELS)
            + "<th>broken after accept</th><th>p50 ms</th><th>p99 ms</th></tr>")
    overall = "".join(_row(name, row) for name, row in data["ablations"].items() if row.get("n"))
    languages = "".join(_row(f"{language} ({name})", group[name])
                        for language, group in data["by_language"].items()
                        for name in data["ablations"] if name in group)
    wrong: list[tuple[dict[str, Any], str, str, str]] = []
    for task in data.get("per_task", []):
        for name, row in task["rows"].items():
            wrong.extend((task, name, s["text"], _confidence_note(s.get("confidence")))
                         for s in row["shown"] if not s["accepted"])
    examples = "".join(
        f"<div class='example'><b>{html.escape(t['id'])}</b> ({html.escape(name)}{note})<pre class='want'>"
        f"{html.escape(t['region'])}</pre><pre class='got'>{html.escape(text)}</pre></div>"
        for t, name, text, note in wrong[:15])
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in data.get("problems", []))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Splice typing replay</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}"
        "td:first-child{text-align:left}.example pre{white-space:pre-wrap}.want{background:#eef7ee}"
        ".got{background:#fbeeee}</style></head><body>"
        f"<h1>Typing replay</h1><p>{data['tasks']} regions, seed {data['seed']}"
        f"{' (partial run)' if data.get('partial') else ''}; 95% bootstrap intervals over tasks.</p>"
        f"<h2>Overall</h2><table>{head}{overall}</table><h2>Per language</h2><table>{head}{languages}</table>"
        f"{_lifts(data)}"
        f"<h2>Wrong suggestions shown (region, then suggestion)</h2>{examples or '<p>none</p>'}"
        f"{f'<h2>Problems</h2><ul>{problems}</ul>' if problems else ''}</body></html>"
    )
