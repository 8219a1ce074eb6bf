"""Reciprocal rank fusion: one ranking from several, each contributing ``1 / (k + rank)`` per item.

RRF needs no calibration between BM25 scores and cosine similarities, which live on unrelated scales, and
``k = 60`` is the constant from Cormack, Clarke and Büttcher (2009), which damps the influence of any
single list's top ranks. Ties are broken by the item itself, so the fused order is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """``(item, fused score)`` best first, for rankings given as item ids best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
