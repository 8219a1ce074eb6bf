"""Fitting the confidence model and its show threshold on replayed typing (``scripts/fit-confidence``).

The input is a typing report (``splice eval --kind typing --json``) of a run whose servers showed every
suggestion (``minConfidence`` 0): each suggestion shown carries the features its confidence was computed
from and what the developer took of it. A logistic regression on "took something of it" is fitted by
Newton's method (iteratively reweighted least squares, a small ridge penalty so that a feature that never
varies gets a zero weight rather than a singular system); it is deterministic, so the same report gives the
same coefficients. The threshold is then chosen offline: hiding a suggestion loses the characters it saved
and the wrong read it cost, so for each threshold the run's own figures are recomputed without the
suggestions under it, and the threshold with the most characters saved minus ``cost`` characters per wrong
suggestion shown wins. Offline the characters of a hidden suggestion are simply lost; in the real server
the person types on and the next keystroke's suggestion often brings them back, so the figures measured
with the threshold applied (``splice eval --kind typing`` again) are the ones to publish.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from splice.confidence import FEATURES

THRESHOLDS = tuple(round(0.02 * step, 2) for step in range(0, 41))  # 0.00 to 0.80


@dataclass(frozen=True)
class ShownRecord:
    """One suggestion shown in a replay: its features (in :data:`FEATURES` order) and what was taken."""

    features: tuple[float, ...]
    accepted: int  # region characters it wrote


@dataclass(frozen=True)
class TaskRecord:
    """One replayed region: its size, the keystrokes it took, and every suggestion shown."""

    task_id: str
    language: str
    region_chars: int
    keystrokes: int
    shown: tuple[ShownRecord, ...]


@dataclass(frozen=True)
class Model:
    """A fitted logistic model: ``P(kept) = 1 / (1 + exp(-(intercept + coefficients . features)))``."""

    intercept: float
    coefficients: dict[str, float]

    def probabilities(self, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        weights = np.asarray([self.coefficients.get(name, 0.0) for name in FEATURES])
        return _sigmoid(self.intercept + matrix @ weights)


def task_records(report: Mapping[str, Any], ablation: str | None = None) -> list[TaskRecord]:
    """The regions of one typing report, for ``ablation`` (default: the report's headline row).

    A report made without the features (an older server) or with a threshold already applied is refused:
    fitting on what a threshold let through would learn from a biased sample."""
    if report.get("kind") != "typing":
        raise ValueError("not a typing report (splice eval --kind typing --json)")
    shown_all = report.get("settings", {}).get("min_confidence", 0.0)
    if shown_all:
        raise ValueError(f"the report's servers hid suggestions under minConfidence {shown_all}; "
                         "replay with SPLICE_MIN_CONFIDENCE=0")
    row = ablation or report.get("latency_ablation")
    records: list[TaskRecord] = []
    for task in report.get("per_task", []):
        replay = task.get("rows", {}).get(row)
        if replay is None:
            continue
        shown = []
        for item in replay["shown"]:
            found = item.get("features") or {}
            if set(found) != set(FEATURES):
                raise ValueError(f"task {task['id']}: a suggestion without the confidence features "
                                 f"{', '.join(sorted(set(FEATURES) - set(found)))}")
            shown.append(ShownRecord(tuple(float(found[name]) for name in FEATURES), int(item["accepted"])))
        records.append(TaskRecord(task["id"], task["language"], len(task["region"]), int(replay["keystrokes"]),
                                  tuple(shown)))
    if not records:
        raise ValueError(f"no replayed regions for row {row!r} in the report")
    return records


def design(records: Iterable[TaskRecord]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Every shown suggestion's features as a matrix, and whether something of it was taken."""
    rows = [(s.features, float(s.accepted > 0)) for record in records for s in record.shown]
    if not rows:
        raise ValueError("no suggestion was shown in the report")
    return (np.asarray([f for f, _ in rows], dtype=np.float64).reshape(len(rows), len(FEATURES)),
            np.asarray([y for _, y in rows], dtype=np.float64))


def fit_model(matrix: npt.NDArray[np.float64], kept: npt.NDArray[np.float64], *, l2: float = 1.0,
              iterations: int = 60) -> Model:
    """The ridge-penalised logistic regression of ``kept`` on ``matrix`` (intercept unpenalised), by Newton
    steps until they stop moving the coefficients.

    Every suggestion counts once, whatever it saved: in the real server a suggestion hidden at one
    keystroke mostly comes back at the next (the replay measured about 1.5 characters lost per hidden
    suggestion that would have been taken), so what hiding costs is the chance of being right, not the
    length. Weighting the kept ones by their characters ranked better offline and worse in the replay."""
    x = np.hstack([np.ones((matrix.shape[0], 1)), matrix])
    penalty = np.eye(x.shape[1]) * l2
    penalty[0, 0] = 0.0
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = _sigmoid(x @ beta)
        gradient = x.T @ (kept - p) - penalty @ beta
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return Model(intercept=round(float(beta[0]), 4),
                 coefficients={name: round(float(b), 4) for name, b in zip(FEATURES, beta[1:], strict=True)})


def split_tasks(records: Sequence[TaskRecord], seed: int, share: float = 0.25) -> tuple[list[TaskRecord],
                                                                                          list[TaskRecord]]:
    """A seeded split of the regions into (fit, held out): how well the model ranks suggestions it was
    not fitted on, per region so that one region's suggestions never sit on both sides."""
    order = np.random.default_rng(seed).permutation(len(records))
    cut = round(len(records) * share)
    held = {int(i) for i in order[:cut]}
    return ([r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held])


def auc(scores: npt.NDArray[np.float64], kept: npt.NDArray[np.float64]) -> float | None:
    """The probability that a kept suggestion scores above a wrong one (ties count half)."""
    positives, negatives = scores[kept > 0], scores[kept == 0]
    if not positives.size or not negatives.size:
        return None
    order = np.argsort(np.concatenate([positives, negatives]), kind="mergesort")
    ranks = np.empty(order.size)
    ranks[order] = np.arange(1, order.size + 1)
    combined = np.concatenate([positives, negatives])
    for value in np.unique(combined):  # average ranks of ties
        tied = combined == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[: positives.size].sum() - positives.size * (positives.size + 1) / 2)
                 / (positives.size * negatives.size))


def curve(records: Sequence[TaskRecord], model: Model, cost: float,
          thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, float]]:
    """Per threshold, the run's figures without the suggestions under it: characters saved, wrong shown,
    shown per 100 keystrokes, and the objective (characters saved minus ``cost`` per wrong one shown).

    A hidden suggestion that was taken gives its characters back to typing: the keystrokes grow by them,
    less the accept keystroke that is no longer pressed."""
    region = sum(r.region_chars for r in records)
    base_keys = sum(r.keystrokes for r in records)
    matrix, kept = design(records)
    accepted = np.asarray([s.accepted for r in records for s in r.shown], dtype=np.float64)
    p = model.probabilities(matrix)
    rows = []
    for threshold in thresholds:
        show = p >= threshold
        hidden_taken = ~show & (kept > 0)
        keys = base_keys + float((accepted[hidden_taken] - 1).sum())
        saved = float(accepted[show].sum())
        wrong = int((show & (kept == 0)).sum())
        shown = int(show.sum())
        rows.append({"threshold": threshold, "chars_saved": saved / region, "saved_chars": saved,
                     "shown": shown, "wrong": wrong, "wrong_shown": wrong / shown if shown else 0.0,
                     "shown_per_100_keystrokes": 100 * shown / keys if keys else 0.0,
                     "objective": saved - cost * wrong})
    return rows


def best_threshold(rows: Sequence[dict[str, float]]) -> float:
    """The threshold of the highest objective; the lowest of equals (show more when it costs nothing)."""
    best = max(row["objective"] for row in rows)
    return min(row["threshold"] for row in rows if math.isclose(row["objective"], best))


def weights_source(model: Model, threshold: float, *, note: str) -> str:
    """The text of ``splice/confidence_weights.py`` holding ``model`` and ``threshold``."""
    lines = "".join(f"    \"{name}\": {model.coefficients[name]},\n" for name in FEATURES)
    return (
        '"""The confidence model\'s coefficients and the default show threshold (see :mod:`splice.confidence`).\n'
        "\n"
        "Written by ``scripts/fit-confidence``; edit the script, not the numbers. Apart from the model so that\n"
        "``config`` can read the default threshold without importing anything else.\n"
        '"""\n\nfrom __future__ import annotations\n\n'
        + "".join(f"# {line}\n" for line in note.splitlines())
        + f"INTERCEPT = {model.intercept}\nCOEFFICIENTS: dict[str, float] = {{\n{lines}}}\n"
        "# The default ``minConfidence``: automatic suggestions below it are not shown.\n"
        f"MIN_CONFIDENCE = {threshold}\n"
    )


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return result
