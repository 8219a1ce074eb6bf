"""Semantic search: the chunks whose embeddings lie nearest a query's, by cosine similarity.

Vectors live in the index file (float16, one per chunk) and are held here as one float32 matrix, so a
query is one matrix-vector product: a few milliseconds for a million-line repository. Updates replace a
file's rows in place of a rebuild: removed rows are masked, new rows appended, and the matrix is compacted
when masked rows pile up.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class VectorTable:
    """Chunk ids and their unit vectors, searchable by dot product."""

    def __init__(self, ids: npt.NDArray[np.int64], matrix: Vectors) -> None:
        self._lock = threading.Lock()
        self._ids = ids
        self._matrix = matrix
        self._live = np.ones(len(ids), dtype=bool)

    def __len__(self) -> int:
        return int(self._live.sum())

    def search(self, query: Vectors, limit: int, *, exclude: frozenset[int] = frozenset()) -> list[tuple[int, float]]:
        """``(chunk id, similarity)`` of the ``limit`` nearest live chunks, nearest first."""
        with self._lock:
            ids, matrix, live = self._ids, self._matrix, self._live
        if not len(ids) or query.size == 0 or matrix.shape[1] != query.shape[-1]:
            return []
        scores = matrix @ query.reshape(-1)
        scores = np.where(live, scores, -np.inf)
        take = min(limit + len(exclude), len(scores))
        top = np.argpartition(-scores, take - 1)[:take]
        # Ties broken by chunk id so equal scores always come back in one order.
        ordered = sorted(top.tolist(), key=lambda row: (-float(scores[row]), int(ids[row])))
        found = [(int(ids[row]), float(scores[row])) for row in ordered
                 if np.isfinite(scores[row]) and int(ids[row]) not in exclude]
        return found[:limit]

    def replace(self, removed: Sequence[int], added_ids: Sequence[int], added: Vectors | None) -> None:
        """Mask ``removed`` chunk ids and append ``added`` rows."""
        with self._lock:
            ids, matrix, live = self._ids, self._matrix, self._live.copy()
            if removed:
                live &= ~np.isin(ids, np.asarray(removed, dtype=np.int64))
            if added is not None and len(added_ids):
                if matrix.size == 0:
                    matrix = np.zeros((0, added.shape[1]), dtype=np.float32)
                ids = np.concatenate([ids, np.asarray(added_ids, dtype=np.int64)])
                matrix = np.concatenate([matrix, added.astype(np.float32)])
                live = np.concatenate([live, np.ones(len(added_ids), dtype=bool)])
            if live.size and live.sum() < 0.5 * live.size:
                ids, matrix, live = ids[live], matrix[live], live[live]
            self._ids, self._matrix, self._live = ids, matrix, live
