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
        # Rows live in buffers with spare capacity, so a save appends without copying the whole matrix;
        # ``_ids``/``_matrix`` are views of the used rows, which readers snapshot under the lock.
        self._id_buffer = np.asarray(ids, dtype=np.int64)
        self._buffer = matrix
        self._ids = self._id_buffer
        self._matrix = self._buffer
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
            used = len(self._ids)
            live = self._live.copy()
            if removed:
                live &= ~np.isin(self._ids, np.asarray(removed, dtype=np.int64))
            if added is not None and len(added_ids):
                count = len(added_ids)
                width = added.shape[1] if self._buffer.size == 0 else self._buffer.shape[1]
                if used + count > len(self._buffer) or self._buffer.size == 0:
                    capacity = max(used + count, 2 * len(self._buffer), 64)
                    buffer = np.zeros((capacity, width), dtype=np.float32)
                    id_buffer = np.zeros(capacity, dtype=np.int64)
                    buffer[:used] = self._matrix
                    id_buffer[:used] = self._ids
                    self._buffer, self._id_buffer = buffer, id_buffer
                # Rows past ``used`` belong to no reader's snapshot, so writing them in place is safe.
                self._buffer[used : used + count] = added.astype(np.float32)
                self._id_buffer[used : used + count] = np.asarray(added_ids, dtype=np.int64)
                live = np.concatenate([live, np.ones(count, dtype=bool)])
                used += count
            if live.size and live.sum() < 0.5 * live.size:
                # Compact into fresh buffers: readers may still hold views of the old ones.
                keep = np.flatnonzero(live)
                self._buffer = self._buffer[:used][keep].copy()
                self._id_buffer = self._id_buffer[:used][keep].copy()
                live = np.ones(len(keep), dtype=bool)
                used = len(keep)
            self._ids, self._matrix, self._live = self._id_buffer[:used], self._buffer[:used], live
