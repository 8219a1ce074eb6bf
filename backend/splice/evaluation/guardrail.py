"""The check before a customization is published: does the artifact measurably improve suggestions?

An artifact is the organization's other code, offered to a developer working in some repository. The
guardrail measures exactly that with the hidden-line benchmark (:mod:`splice.evaluation`): each of the
tenant's repositories is evaluated on held-out lines hidden from a masked copy, once with the pipeline as
it would run there without the artifact (``retrieval``: open files, the engine's index of the repository,
its own repository retrieval) and once with an artifact built, with this run's selection, from the
tenant's *other* repositories (``customized``). Nothing else differs. The lift in edit similarity over the
paired tasks decides: the artifact is refused when there is no evidence either way (fewer than two
repositories, no task evaluated), when it does worse, or when the 95% interval of the lift includes zero
("no measurable lift"). Otherwise the lift maps to a 1-10 quality score (1 for no lift, 10 for ten points
of edit similarity or more), reported and recorded in the manifest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from splice.retrieval.indexing import NOT_INDEXED_LANGUAGE, IndexReport, Source
from splice.retrieval.selection import Knobs

BASELINE = "retrieval"
CANDIDATE = "customized"
FULL_SCORE_LIFT = 0.10  # edit similarity (0-1) lift that earns the top score


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
    """The guardrail's metrics; ``refused`` says why when the artifact must not be published."""
    from splice.evaluation import EvalOptions, evaluate  # noqa: PLC0415 - the harness loads engines

    if len(sources) < 2:
        return {"refused": ("the guardrail needs two or more repositories: it measures the artifact from a "
                            "repository that is not in it (pass --no-guardrail to publish unmeasured)"),
                "tasks": 0}
    roots = [s.path.resolve() for s in sources]
    siblings = {root: tuple(other for other in roots if other != root) for root in roots}
    report = await evaluate(roots, EvalOptions(
        tasks=tasks, seed=seed, ablations=(BASELINE, CANDIDATE), tenant=tenant, siblings=siblings,
        artifact_knobs=selection_knobs(skipped, sources)))
    if CANDIDATE in report.unavailable or BASELINE in report.unavailable:
        reason = report.unavailable.get(CANDIDATE) or report.unavailable.get(BASELINE)
        return {"refused": f"the evaluation could not run: {reason}", "tasks": len(report.tasks)}
    return verdict(report, seed)


def verdict(report: Any, seed: int, *, baseline: str = BASELINE, candidate: str = CANDIDATE,
            subject: str = "the customization") -> dict[str, Any]:
    """Metrics and the decision from an evaluation of ``baseline`` against ``candidate`` (rows of
    ``report``); ``subject`` names what is judged in the refusal."""
    lift = report.lift(candidate, baseline)
    summary = {name: report.summary(name) for name in (baseline, candidate)}
    delta = float(lift["edit_similarity"]["delta"])
    low, high = (float(x) for x in lift["edit_similarity"]["ci95"])
    changed = sum(1 for task in report.tasks
                  if (ours := report.score(candidate, task)) is not None
                  and (theirs := report.score(baseline, task)) is not None and ours != theirs)
    metrics: dict[str, Any] = {
        "tasks": lift["n"], "seed": seed, "baseline": baseline, "lift": lift, "summary": summary,
        "changed": changed, "quality_score": quality_score(delta if low > 0 else 0.0),
    }
    if lift["n"] == 0:
        metrics["refused"] = "no held-out task could be evaluated"
    elif changed == 0:
        metrics["refused"] = (f"{subject} changed none of the {lift['n']} held-out suggestions: "
                              "no evidence that it helps")
    elif delta < 0 and high < 0:
        metrics["refused"] = (f"{subject} does worse than the same pipeline without it (edit "
                              f"similarity {delta:+.3f} [{low:+.3f}, {high:+.3f}] over {lift['n']} held-out lines)")
    elif low <= 0:
        metrics["refused"] = (f"no measurable lift: edit similarity {delta:+.3f}, 95% interval [{low:+.3f}, "
                              f"{high:+.3f}] includes zero over {lift['n']} held-out lines")
    return metrics


def guardrail(*, tenant: str, tasks: int, seed: int = 0) -> Callable[[Path, Sequence[Source], IndexReport],
                                                                     Awaitable[dict[str, Any]]]:
    """The check :func:`splice.retrieval.customization.customize` runs before publishing."""

    async def check(staging: Path, sources: Sequence[Source], report: IndexReport) -> dict[str, Any]:
        return await evaluate_customization(sources, report.skipped, tenant=tenant, tasks=tasks, seed=seed)

    return check
