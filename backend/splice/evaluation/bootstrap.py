"""Whether one configuration beats another on the same tasks: paired bootstrap confidence intervals.

Both configurations answered the same tasks, so the comparison resamples *tasks*, not scores: each of
``resamples`` draws picks ``n`` task indices with replacement and takes the mean difference of the two
configurations' scores on those tasks. The 2.5th and 97.5th percentiles of those means bound the 95%
interval; an interval that excludes 0 is a difference the task sample supports. Pairing removes the
variance that comes from some tasks being easy for everyone, which is most of it. Draws come from a
seeded generator, so a report is reproducible to the last digit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000


@dataclass(frozen=True, kw_only=True)
class Lift:
    """``candidate`` minus ``baseline`` on the same tasks: the mean difference, its 95% interval, and the
    ratio of the means (None when the baseline's mean is 0)."""

    delta: float
    low: float
    high: float
    ratio: float | None

    def as_json(self) -> dict[str, float | list[float] | None]:
        return {
            "delta": round(self.delta, 4),
            "ci95": [round(self.low, 4), round(self.high, 4)],
            "ratio": None if self.ratio is None else round(self.ratio, 3),
        }


def paired_bootstrap(
    candidate: Sequence[float],
    baseline: Sequence[float],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
    confidence: float = 0.95,
) -> Lift:
    """The lift of ``candidate`` over ``baseline`` (per-task scores, same order) with its interval."""
    if len(candidate) != len(baseline):
        raise ValueError(f"paired scores differ in length: {len(candidate)} and {len(baseline)}")
    if not candidate:
        return Lift(delta=math.nan, low=math.nan, high=math.nan, ratio=None)
    a = np.asarray(candidate, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    differences = a - b
    rng = np.random.default_rng(seed)
    # All draws at once: a (resamples, n) matrix of task indices.
    indices = rng.integers(0, len(differences), size=(resamples, len(differences)))
    means = differences[indices].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    base_mean = float(b.mean())
    return Lift(
        delta=float(differences.mean()), low=float(low), high=float(high),
        ratio=float(a.mean()) / base_mean if base_mean > 0 else None,
    )
