"""Fitting the embedded engine's ranking weights on hidden-line reproduction.

Tasks come from the evaluation's own machinery: :func:`sample_tasks` draws the hidden lines, the engine
indexes a masked mirror of the repository (:mod:`splice.evaluation.isolation`), the files nearest the
target are open as in the ``open_files`` row, and every request passes :func:`check_isolation`. For each
task the engine's pooled proposals are collected once (:meth:`EmbeddedEngine.ranking_input`); the weights
only decide which of them comes first, so a weight vector is then scored without looking anything up again.

The fit has two steps, both deterministic:

1. **softmax**: a conditional logit over each task's candidates (every proposal and its renamed variant),
   maximising the likelihood of the right line by damped Newton steps from all-zero coefficients, with an
   L2 penalty (ridge) on them;
2. **coordinate ascent** on what is measured, exact match of the first candidate, emulating the ranking's
   pre-selection by prior and its renamed variants exactly; a step is kept only when it wins
   ``min_gain`` more training tasks than it loses.

Nothing starts from the weights already in ``weights.py``, so the fit is a function of the training set,
the seed and the settings alone, and running it again on the same inputs writes the same numbers. The
limits (how many proposals are scored, the context caps) are not fitted; they shape the candidates and are
taken as they are. Reported figures come from the ranking code itself (:func:`ranked_candidates`), not
the emulation.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splice.context.prompt import FimPrompt
from splice.context.snippets import SourceDocument
from splice.engines.base import GenerationRequest
from splice.engines.embedded import EmbeddedEngine
from splice.engines.embedded.ranking import (
    FITTED,
    PRIOR_FEATURES,
    RankingInput,
    coefficients,
    known_tokens,
    ranked_candidates,
    renamed_proposals,
    with_coefficients,
)
from splice.engines.embedded.weights import RankingWeights
from splice.evaluation.ablations import nearest_files
from splice.evaluation.isolation import build_mirrors, check_isolation
from splice.evaluation.metrics import exact_match
from splice.evaluation.sampling import sample_tasks

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class FitTask:
    """One hidden line with everything the fit scores it by.

    ``features`` has a row per proposal, then a row per renamed variant; ``variant_of[i]`` is the row of
    proposal ``i``'s variant or -1, ``texts`` the candidate texts and ``correct`` which of them reproduce
    the hidden line."""

    repo: str
    middle: str
    ranking: RankingInput
    proposals: int
    features: Vector
    texts: tuple[str, ...]
    correct: npt.NDArray[np.bool_]
    variant_of: npt.NDArray[np.int64]


def fit_task(repo: str, middle: str, ranking: RankingInput, weights: RankingWeights) -> FitTask:
    """The features of every candidate the ranking could put first for ``ranking``."""
    vocab, cursor = ranking.vocab, ranking.cursor
    # Multi-line blocks are never asked for here, so the occurrence a block would be copied from (which
    # holds the whole project corpus) is dropped.
    proposals = [replace(p, source=None) for p in ranking.proposals]
    known = known_tokens(vocab, cursor)
    rows = [p.features(vocab, cursor, known) for p in proposals]
    texts = [p.text for p in proposals]
    variant_of = [-1] * len(proposals)
    for number, proposal in enumerate(proposals):
        for variant in renamed_proposals(vocab, cursor, [proposal], limit=1):
            variant_of[number] = len(rows)
            rows.append(variant.features(vocab, cursor, known))
            texts.append(variant.text)
    width = len(coefficients(weights))
    return FitTask(
        repo=repo, middle=middle, ranking=RankingInput(vocab, cursor, proposals), proposals=len(proposals),
        features=np.asarray(rows, dtype=np.float64).reshape(len(rows), width), texts=tuple(texts),
        correct=np.asarray([exact_match(t.split("\n", 1)[0], middle) > 0 for t in texts], dtype=np.bool_),
        variant_of=np.asarray(variant_of, dtype=np.int64),
    )


async def collect_tasks(
    root: Path, *, count: int, seed: int, open_files: int, workdir: Path, weights: RankingWeights,
) -> list[FitTask]:
    """``count`` hidden-line tasks of the repository at ``root``, each with its candidates from an engine
    indexing the masked mirror."""
    sample = sample_tasks([root], count, seed)
    if not sample.tasks:
        return []
    mirror = build_mirrors(sample.files, sample.tasks, workdir)[sample.tasks[0].repo]
    engine = EmbeddedEngine(workspace=mirror.root, weights=weights)
    await engine.start()
    engine.wait_until_ready(900)
    collected: list[FitTask] = []
    for task in sample.tasks:
        others = [SourceDocument(key=os.path.join(mirror.root, rel), path=rel, version=1, text=mirror.texts[rel])
                  for rel in nearest_files(task.path, mirror.texts, open_files)]
        check_isolation(task, mirror, document=task.live_text, others=others)
        target = str(mirror.path_of(task))
        engine.document_changed(target, task.live_text)
        for other in others:
            engine.document_changed(other.key, other.text)
        request = GenerationRequest(
            prompt=FimPrompt(path=task.path, language=task.language, prefix=task.prefix[-4000:],
                             suffix=task.suffix[:2000]),
            document_prefix=task.prefix, document_suffix=task.suffix, multiline=False, num_candidates=1,
            document_path=target,
        )
        found = engine.ranking_input(request)
        for path in (target, *(other.key for other in others)):
            engine.document_closed(path)
        if found is not None:
            collected.append(fit_task(root.name, task.middle, found, weights))
    await engine.aclose()
    return collected




# Emulated ranking --------------------------------------------------------------------------------------


def emulated_first(task: FitTask, weights: Vector, *, scored_limit: int, rename_limit: int) -> int:
    """The row :func:`scored_proposals` puts first under ``weights`` (all coefficients), or -1 for none."""
    n = task.proposals
    if n == 0:
        return -1
    base = task.features[:n]
    order = np.arange(n)
    if n > scored_limit:
        prior = base[:, PRIOR_FEATURES] @ weights[list(PRIOR_FEATURES)]
        order = np.argsort(-prior, kind="stable")[:scored_limit]
    scores = base[order] @ weights
    ranked = order[np.argsort(-scores, kind="stable")]
    best, best_score = int(ranked[0]), float(scores.max())
    seen = {task.texts[i] for i in order.tolist()}
    for i in ranked[:rename_limit].tolist():
        row = int(task.variant_of[i])
        if row < 0 or task.texts[row] in seen:
            continue
        seen.add(task.texts[row])
        score = float(task.features[row] @ weights)
        if score > best_score:
            best, best_score = row, score
    return best


def emulated_hits(tasks: Sequence[FitTask], weights: Vector, limits: RankingWeights) -> int:
    """How many ``tasks`` the emulated ranking answers right under ``weights``."""
    hits = 0
    for task in tasks:
        first = emulated_first(task, weights, scored_limit=limits.scored_limit, rename_limit=limits.rename_limit)
        hits += first >= 0 and bool(task.correct[first])
    return hits


def reproduction(tasks: Sequence[FitTask], weights: RankingWeights) -> float:
    """Exact match of the first candidate that :func:`ranked_candidates` gives under ``weights``."""
    if not tasks:
        return 0.0
    hits = 0.0
    for task in tasks:
        r = task.ranking
        candidates = ranked_candidates(r.vocab, r.cursor, r.proposals, multiline=False, count=1, weights=weights)
        hits += exact_match(candidates[0].text.split("\n", 1)[0], task.middle) if candidates else 0.0
    return hits / len(tasks)


def oracle(tasks: Sequence[FitTask]) -> float:
    """Share of ``tasks`` whose right line is among the candidates at all: the ceiling of any weights."""
    return sum(bool(t.correct.any()) for t in tasks) / len(tasks) if tasks else 0.0


# The two steps -------------------------------------------------------------------------------------------


def softmax_fit(tasks: Sequence[FitTask], start: Vector, *, l2: float, iterations: int = 50) -> Vector:
    """The coefficients maximising Σ log P(right line) − l2/2·|θ − start|², from ``start`` (Newton steps,
    halved until the objective rises); the coefficients past :data:`FITTED` stay as ``start`` has them."""
    usable = [t for t in tasks if t.correct.any() and not t.correct.all()]
    theta = start[:FITTED].astype(np.float64).copy()
    fixed = start[FITTED:]

    def objective(values: Vector) -> tuple[float, Vector, Vector]:
        total, gradient = 0.0, np.zeros(FITTED)
        hessian = np.zeros((FITTED, FITTED))
        full = np.concatenate([values, fixed])
        for task in usable:
            x = task.features
            s = x @ full
            p = np.exp(s - s.max())
            p /= p.sum()
            q = np.where(task.correct, p, 0.0)
            mass = q.sum()
            q /= mass
            total += math.log(mass)
            xs = x[:, :FITTED]
            mean_p, mean_q = p @ xs, q @ xs
            gradient += mean_q - mean_p
            centred_p, centred_q = xs - mean_p, xs - mean_q
            hessian -= (centred_p * p[:, None]).T @ centred_p - (centred_q * q[:, None]).T @ centred_q
        pull = values - start[:FITTED]
        return (total - 0.5 * l2 * float(pull @ pull), gradient - l2 * pull, hessian - l2 * np.eye(FITTED))

    value, gradient, hessian = objective(theta)
    for _ in range(iterations):
        try:
            step = np.linalg.solve(hessian, -gradient)
        except np.linalg.LinAlgError:
            step = gradient
        if float(step @ gradient) <= 0:  # not an ascent direction where the likelihood is not concave
            step = gradient / max(1.0, float(np.abs(gradient).max()))
        size = 1.0
        while size > 1e-4:
            candidate = theta + size * step
            new_value, new_gradient, new_hessian = objective(candidate)
            if new_value > value:
                break
            size /= 2
        else:
            break
        converged = new_value - value < 1e-6
        theta, value, gradient, hessian = candidate, new_value, new_gradient, new_hessian
        if converged:
            break
    return np.concatenate([theta, fixed])


STEPS = (0.8, -0.8, 0.4, -0.4, 0.2, -0.2, 0.1, -0.1, 0.05, -0.05)


def coordinate_ascent(
    tasks: Sequence[FitTask], start: Vector, limits: RankingWeights, *, min_gain: int, passes: int = 4,
    report: Callable[[str], None] = lambda line: None,
) -> Vector:
    """``start`` improved one coefficient at a time on emulated exact match over ``tasks``."""
    weights = start.copy()
    best = emulated_hits(tasks, weights, limits)
    for number in range(passes):
        improved = False
        for index in range(FITTED):
            trials = []
            for step in STEPS:
                trial = weights.copy()
                trial[index] += step
                trials.append((emulated_hits(tasks, trial, limits), -abs(step), trial))
            hits, _, trial = max(trials, key=lambda item: (item[0], item[1]))
            if hits >= best + min_gain:
                weights, best, improved = trial, hits, True
        report(f"coordinate ascent pass {number + 1}: {best}/{len(tasks)} training tasks first")
        if not improved:
            break
    return weights


@dataclass(frozen=True)
class FitResult:
    """The weights the fit settled on, rounded as they are written, and the vectors it passed through."""

    weights: RankingWeights
    softmax: Vector
    ascent: Vector


def fit_weights(
    tasks: Sequence[FitTask], limits: RankingWeights, *, l2: float, min_gain: int, decimals: int = 2,
    report: Callable[[str], None] = lambda line: None,
) -> FitResult:
    """Fit the ranking coefficients on ``tasks`` from zero; ``limits`` gives everything that is not fitted."""
    initial = np.asarray(coefficients(limits), dtype=np.float64)
    initial[:FITTED] = 0.0
    softmax = softmax_fit(tasks, initial, l2=l2)
    report(f"softmax: {emulated_hits(tasks, softmax, limits)} of {len(tasks)} training tasks first (emulated)")
    ascent = coordinate_ascent(tasks, softmax, limits, min_gain=min_gain, report=report)
    rounded = [round(float(v), decimals) + 0.0 for v in ascent[:FITTED]]
    return FitResult(with_coefficients(limits, rounded), softmax, ascent)


# Writing weights.py --------------------------------------------------------------------------------------


def weights_source(text: str, weights: RankingWeights) -> str:
    """``text`` (the source of ``weights.py``) with each coefficient's default replaced by ``weights``' value.

    Only the number after ``=`` on a coefficient's own line changes; limits (integers, ``nearness_scale``),
    comments and everything else stay as they are. A coefficient whose line is not found exactly once is a
    :class:`ValueError`: the file was changed in a way the writer does not understand.
    """
    fitted = {"left", "right", "repeat", "level_bonus", "unknown_names", "length", "string_line",
              "repeated_line", "unused_parameter", "next_parameter", "needed_name", "renamed_parameter",
              "nearness", "share", "following_names", "preceding_names", "redefinition", "imports_needed",
              "import_order"}
    for field in fields(weights):
        if field.name not in fitted:
            continue
        value = getattr(weights, field.name)
        number = (f"({', '.join(_number(v) for v in value)})" if isinstance(value, tuple) else _number(value))
        pattern = re.compile(rf"^(    {field.name}: [^=\n]+= )([^#\n]*?)(\s*(?:#.*)?)$", re.MULTILINE)
        matches = pattern.findall(text)
        if len(matches) != 1:
            raise ValueError(f"weights.py: expected one line defining {field.name}, found {len(matches)}")
        text = pattern.sub(_replacement(number), text)
    return text


def _replacement(number: str) -> Callable[[re.Match[str]], str]:
    def replace_number(match: re.Match[str]) -> str:
        return match.group(1) + number + match.group(3)

    return replace_number


def _number(value: float) -> str:
    return repr(float(value))
