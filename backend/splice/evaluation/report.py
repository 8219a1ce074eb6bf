"""From raw outcomes to the report: scores per task, means per ablation and language, latency percentiles,
lifts with paired bootstrap intervals, and the JSON form written by ``splice eval --json``.

A suggestion is scored on as many lines as the hidden span has: a ``line`` or ``span`` task compares the
first line of the suggestion, as line-completion benchmarks do, and a ``block`` task the whole of it.
Lifts are computed on the tasks both rows answered, so an interrupted run still compares like with like.
The report is built from whatever has completed, which is what lets an interrupted run keep its numbers.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splice.evaluation.bootstrap import RESAMPLES, paired_bootstrap
from splice.evaluation.metrics import METRICS, latency_summary, scores
from splice.evaluation.sampling import Task
from splice.evaluation.session import Outcome

BASELINE = "prefix_only"


def scored_text(prediction: str, task: Task) -> str:
    """The part of ``prediction`` compared with the task's hidden span: as many lines as the span has."""
    lines = task.middle.count("\n") + 1
    return "\n".join(prediction.split("\n")[:lines])


@dataclass(kw_only=True)
class Report:
    """Everything one evaluation measured; :meth:`as_json` is the published form."""

    tasks: list[Task]
    ablations: list[str]  # in row order, available or not
    outcomes: dict[str, dict[str, Outcome]]  # ablation -> task id -> outcome
    unavailable: dict[str, str] = field(default_factory=dict)  # ablation -> why it did not run
    problems: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    partial: bool = False
    seed: int = 0
    resamples: int = RESAMPLES
    _scores: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict, repr=False)

    def score(self, ablation: str, task: Task) -> dict[str, float] | None:
        """The metrics of ``task`` under ``ablation``, or None when it was not answered."""
        outcome = self.outcomes.get(ablation, {}).get(task.id)
        if outcome is None:
            return None
        key = (ablation, task.id)
        if key not in self._scores:
            self._scores[key] = scores(scored_text(outcome.prediction, task), task.middle, task.language)
        return self._scores[key]

    @property
    def ran(self) -> list[str]:
        """The ablations that answered at least one task, in row order."""
        return [name for name in self.ablations if self.outcomes.get(name)]

    def summary(self, ablation: str, tasks: Sequence[Task] | None = None) -> dict[str, Any]:
        """Mean metrics and ``n`` of ``ablation`` over ``tasks`` (all of them by default)."""
        chosen = self.tasks if tasks is None else tasks
        rows = [s for s in (self.score(ablation, t) for t in chosen) if s is not None]
        summary: dict[str, Any] = {
            metric: (round(sum(r[metric] for r in rows) / len(rows), 4) if rows else None) for metric in METRICS
        }
        summary["n"] = len(rows)
        latencies = [o.latency_ms for t in chosen if (o := self.outcomes.get(ablation, {}).get(t.id))]
        summary["latency_ms"] = latency_summary(latencies)
        summary["no_suggestion"] = sum(
            1 for t in chosen if (o := self.outcomes.get(ablation, {}).get(t.id)) and not o.prediction
        )
        # Tasks the configured engine left to its fallback: a row that says "neural" must not be scored
        # on the embedded engine's answers without saying so.
        summary["fallback_answers"] = sum(
            1 for t in chosen if (o := self.outcomes.get(ablation, {}).get(t.id)) and o.fallback
        )
        summary.update(self._headroom(ablation, chosen))
        return summary

    def _headroom(self, ablation: str, tasks: Sequence[Task]) -> dict[str, float | None]:
        """How far ranking is from what the engine could do: the candidate oracle (the right answer was
        among the engine's candidates; None where the runner cannot see them) and the copy ceiling (the
        hidden line is present verbatim in what the engine could see)."""
        answered = [(t, o) for t in tasks if (o := self.outcomes.get(ablation, {}).get(t.id)) is not None]
        in_view = [o.in_view for _, o in answered if o.in_view is not None]
        oracle = [any(scored_text(c, t).strip() == t.middle.strip() for c in o.candidates) for t, o in answered]
        sees_candidates = any(o.candidates for _, o in answered)
        return {
            "candidate_oracle": round(sum(oracle) / len(oracle), 4) if oracle and sees_candidates else None,
            "copy_ceiling": round(sum(in_view) / len(in_view), 4) if in_view else None,
        }

    def lift(self, candidate: str, baseline: str) -> dict[str, Any]:
        """``candidate`` over ``baseline`` per metric, on the tasks both answered."""
        paired = [t for t in self.tasks
                  if t.id in self.outcomes.get(candidate, {}) and t.id in self.outcomes.get(baseline, {})]
        result: dict[str, Any] = {"baseline": baseline, "n": len(paired)}
        for metric in METRICS:
            a = [self._metric(candidate, t, metric) for t in paired]
            b = [self._metric(baseline, t, metric) for t in paired]
            result[metric] = paired_bootstrap(a, b, seed=self.seed, resamples=self.resamples).as_json()
        return result

    def _metric(self, ablation: str, task: Task, metric: str) -> float:
        score = self.score(ablation, task)
        assert score is not None
        return score[metric]

    def lifts(self) -> dict[str, dict[str, Any]]:
        """Each row's lift over ``prefix_only`` and over the previous row that ran."""
        ran = self.ran
        out: dict[str, dict[str, Any]] = {}
        for index, name in enumerate(ran):
            if index == 0:
                continue
            entry: dict[str, Any] = {}
            if BASELINE in ran and name != BASELINE:
                entry["over_prefix_only"] = self.lift(name, BASELINE)
            entry["over_previous"] = self.lift(name, ran[index - 1])
            out[name] = entry
        return out

    @property
    def headline(self) -> str | None:
        """The row whose latency the report headlines: the most complete configuration that ran."""
        ran = self.ran
        return ran[-1] if ran else None

    def as_json(self, *, per_task: bool = True) -> dict[str, Any]:
        """The report as JSON-ready data."""
        ablations: dict[str, Any] = {}
        for name in self.ablations:
            if name in self.unavailable:
                ablations[name] = {**{m: None for m in METRICS}, "n": 0, "available": False,
                                   "reason": self.unavailable[name]}
            else:
                ablations[name] = {**self.summary(name), "available": True}
        languages = sorted({t.language for t in self.tasks})
        by_language: dict[str, Any] = {}
        for language in languages:
            subset = [t for t in self.tasks if t.language == language]
            by_language[language] = {"tasks": len(subset)} | {name: self.summary(name, subset) for name in self.ran}
        by_repo: dict[str, Any] = {}
        for repo in sorted({t.repo for t in self.tasks}):
            subset = [t for t in self.tasks if t.repo == repo]
            by_repo[repo.name] = {"tasks": len(subset)} | {name: self.summary(name, subset) for name in self.ran}
        headline = self.headline
        data: dict[str, Any] = {
            "tasks": len(self.tasks),
            "ablations": ablations,
            "by_language": by_language,
            "by_repo": by_repo,
            "latency_ms": self.summary(headline)["latency_ms"] if headline else latency_summary([]),
            "latency_ablation": headline,
            "lifts": self.lifts(),
            "kinds": sorted({t.kind for t in self.tasks}),
            "repos": sorted({str(t.repo) for t in self.tasks}),
            "seed": self.seed,
            "settings": self.settings,
            "problems": self.problems,
            "partial": self.partial,
        }
        if per_task:
            data["per_task"] = [self._task_entry(t) for t in self.tasks]
        return data

    def _task_entry(self, task: Task) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": task.id, "repo": task.repo.name, "path": task.path, "line": task.line + 1,
            "language": task.language, "kind": task.kind, "target": task.middle,
            "context_before": task.prefix[-300:], "context_after": task.suffix[:200], "predictions": {},
        }
        for name in self.ran:
            outcome = self.outcomes[name].get(task.id)
            score = self.score(name, task)
            if outcome is None or score is None:
                continue
            entry["predictions"][name] = {
                "text": scored_text(outcome.prediction, task), "latency_ms": round(outcome.latency_ms, 3),
                "sources": list(outcome.sources),
                **{metric: round(value, 4) for metric, value in score.items()},
                **({"error": outcome.error} if outcome.error else {}),
            }
        return entry


def _finite(value: Any) -> Any:
    """NaN and infinities become None: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file renamed into place); raises OSError."""
    text = json.dumps(_finite(data), indent=2, ensure_ascii=False) + "\n"
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        os.fchmod(handle, 0o644)  # mkstemp makes it private; a report is meant to be read
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
