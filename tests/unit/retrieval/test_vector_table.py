"""The in-memory vector table: nearest-first search, in-place updates, compaction."""

from __future__ import annotations

import numpy as np

from splice.retrieval.semantic import VectorTable


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_search_is_nearest_first_with_ties_by_id() -> None:
    table = VectorTable(np.array([3, 1, 2]), np.stack([unit(1, 0), unit(0, 1), unit(1, 0)]))
    assert [i for i, _ in table.search(unit(1, 0.1), 3)] == [2, 3, 1]


def test_replace_masks_removed_rows_and_appends_many_times_without_losing_any() -> None:
    table = VectorTable(np.array([1, 2]), np.stack([unit(1, 0), unit(0, 1)]))
    before = table.search(unit(1, 0), 1)
    for new_id in range(10, 200):
        table.replace([], [new_id], unit(1, new_id / 1000)[None, :])
    assert before == [(1, 1.0)]
    assert len(table) == 192
    table.replace([1], [500], unit(1, 0)[None, :])
    assert table.search(unit(1, 0), 1)[0][0] == 500
    assert 1 not in {i for i, _ in table.search(unit(1, 0), 300)}


def test_compaction_keeps_live_rows_searchable() -> None:
    ids = np.arange(10)
    table = VectorTable(ids, np.stack([unit(1, i) for i in range(10)]))
    table.replace(list(range(8)), [], None)
    assert len(table) == 2
    assert {i for i, _ in table.search(unit(1, 9), 5)} == {8, 9}
