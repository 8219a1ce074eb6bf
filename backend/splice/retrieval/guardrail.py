"""The check before a customization is published: does it beat the uncustomized default?

It runs the offline hidden-line benchmark (:mod:`splice.evaluation`) on a held-out sample of the tenant's
own repositories: lines are hidden from masked copies, so neither the index nor the engine has seen them.
Two configurations answer the same tasks: ``open_files`` (Splice as it ships, with the editor's open files
and no repository knowledge: the uncustomized default) and ``customized`` (the same plus the artifact
built with this run's selection). The lift in edit similarity decides: a negative lift refuses the
artifact, and so does a run without evidence either way (no held-out line evaluated, or not one suggestion
that the artifact changed); otherwise the lift maps to a 1-10 quality score (1 for no lift, 10 for ten points of edit
similarity or more), reported and recorded in the manifest.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from splice.retrieval.indexing import NOT_INDEXED_LANGUAGE, IndexReport, Source
from splice.retrieval.selection import Knobs

BASELINE = "open_files"
CANDIDATE = "customized"
FULL_SCORE_LIFT = 0.10  # edit similarity (0-1) lift that earns the top score

# The selection the evaluation's artifact must use; set while the guardrail runs (the harness builds its
# artifact through ``splice.retrieval.build_artifact``, which reads this).
evaluation_knobs: contextvars.ContextVar[Knobs | None] = contextvars.ContextVar("evaluation_knobs", default=None)


def quality_score(lift: float) -> int:
    """1-10 from an edit-similarity lift in [0, 1]: 1 at no lift, 10 at :data:`FULL_SCORE_LIFT` or more."""
    if lift <= 0:
        return 1
    return 1 + min(9, round(9 * lift / FULL_SCORE_LIFT))


def _escaped(path: str) -> str:
    return "/" + "".join("\\" + c if c in "*?[]!#\\" else c for c in path)


def selection_knobs(skipped: dict[str, list[str]], sources: Sequence[Source]) -> Knobs:
    """Path-only knobs that reproduce a run's selection on masked copies (which have no git history)."""
    names = {s.name for s in sources}
    patterns: list[str] = []
    for reason, paths in skipped.items():
        if reason == NOT_INDEXED_LANGUAGE:
            continue  # the masked copies are indexed by the same rule
        for path in paths:
            repo, _, rel = path.partition("/")
            patterns.append(_escaped(rel if repo in names else path))
    return Knobs(exclude=tuple(sorted(patterns)), deprecated=())


async def evaluate_customization(sources: Sequence[Source], skipped: dict[str, list[str]], *, tenant: str,
                                 tasks: int = 40, seed: int = 0) -> dict[str, Any]:
    """The guardrail's metrics; ``refused`` is set when the customization does worse than the default."""
    from splice.evaluation import EvalOptions, evaluate  # noqa: PLC0415 - the harness loads engines

    token = evaluation_knobs.set(selection_knobs(skipped, sources))
    try:
        report = await evaluate([s.path for s in sources], EvalOptions(
            tasks=tasks, seed=seed, ablations=(BASELINE, CANDIDATE), tenant=tenant))
    finally:
        evaluation_knobs.reset(token)
    if CANDIDATE in report.unavailable or BASELINE in report.unavailable:
        reason = report.unavailable.get(CANDIDATE) or report.unavailable.get(BASELINE)
        return {"refused": f"the evaluation could not run: {reason}", "tasks": len(report.tasks)}
    lift = report.lift(CANDIDATE, BASELINE)
    summary = {name: report.summary(name) for name in (BASELINE, CANDIDATE)}
    delta = float(lift["edit_similarity"]["delta"])
    changed = sum(1 for task in report.tasks
                  if (ours := report.score(CANDIDATE, task)) is not None
                  and (theirs := report.score(BASELINE, task)) is not None and ours != theirs)
    metrics: dict[str, Any] = {
        "tasks": lift["n"], "seed": seed, "baseline": BASELINE, "lift": lift, "summary": summary,
        "changed": changed, "quality_score": quality_score(delta),
    }
    if lift["n"] == 0:
        metrics["refused"] = "no held-out task could be evaluated"
    elif changed == 0:
        metrics["refused"] = (f"the customization changed none of the {lift['n']} held-out suggestions: "
                              "no evidence that it helps")
    elif delta < 0:
        metrics["refused"] = (f"the customization does worse than the uncustomized default "
                              f"(edit similarity {delta:+.3f} over {lift['n']} held-out lines)")
    return metrics


def guardrail(*, tenant: str, tasks: int, seed: int = 0) -> Callable[[Path, Sequence[Source], IndexReport],
                                                                     Awaitable[dict[str, Any]]]:
    """The check :func:`splice.retrieval.customization.customize` runs before publishing."""

    async def check(staging: Path, sources: Sequence[Source], report: IndexReport) -> dict[str, Any]:
        return await evaluate_customization(sources, report.skipped, tenant=tenant, tasks=tasks, seed=seed)

    return check
