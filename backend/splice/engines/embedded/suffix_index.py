"""Unbounded-order n-gram lookup over a large token corpus: a suffix array of the corpus read backwards.

This is the infini-gram idea (Liu et al., 2024) turned around for completion. The question at a cursor is
"where else does the longest possible tail of what precedes the cursor occur?". In the reversed corpus that
tail, read backwards, is a *prefix* of suffixes, so each extra token of context narrows the current suffix
array range by two binary searches: finding the longest matching context costs O(k log N) with no n-gram
order fixed in advance. The array is built once per project (``pydivsufsort``, linear time in C) and never
updated; live documents are matched by a linear scan instead (see ``matching``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pydivsufsort  # type: ignore[import-untyped]  # ships no type information

from splice.engines.embedded.lexer import TokenArray

# Below this many suffixes a range is narrowed with one vectorised searchsorted instead of bisection.
_VECTOR_RANGE = 256


@dataclass(frozen=True)
class MatchRange:
    """Suffix-array range ``[lo, hi)`` of the positions whose preceding ``length`` tokens match."""

    length: int
    lo: int
    hi: int


class ReversedSuffixIndex:
    """Longest-context search over ``tokens`` (forward order); positions reported are forward positions."""

    def __init__(self, tokens: TokenArray, suffix_array: npt.NDArray[np.integer[Any]] | None = None) -> None:
        """Index ``tokens``, or adopt ``suffix_array``, the one :attr:`suffix_array` gave for the same tokens
        (a stored index: then nothing is copied, so memory-mapped arrays stay mapped)."""
        self._size = int(tokens.size)
        # A reversed view: searching reads it at scattered places, which a view serves as well as a copy.
        self._reversed = tokens[::-1]
        if suffix_array is not None:
            if suffix_array.shape != (self._size,):
                raise ValueError(f"a suffix array of {suffix_array.size} rows for {self._size} tokens")
            self._sa: npt.NDArray[np.integer[Any]] = suffix_array
        elif self._size:
            # divsufsort gives int32 rows below 2**31 tokens: half the memory of int64, and as fast.
            self._sa = np.asarray(pydivsufsort.divsufsort(np.ascontiguousarray(self._reversed, dtype=np.int32)))
        else:
            self._sa = np.zeros(0, dtype=np.int64)

    @property
    def suffix_array(self) -> npt.NDArray[np.integer[Any]]:
        """The rows, for storing the index."""
        return self._sa

    def __len__(self) -> int:
        return self._size

    def _key(self, row: int, depth: int) -> int:
        """The token ``depth`` places into suffix ``row``, or -1 past the end (which sorts first)."""
        at = int(self._sa[row]) + depth
        return int(self._reversed[at]) if at < self._size else -1

    def _narrow(self, lo: int, hi: int, depth: int, token: int) -> tuple[int, int]:
        if hi - lo <= _VECTOR_RANGE:
            at = self._sa[lo:hi] + depth
            keys = np.where(at < self._size, self._reversed[np.minimum(at, self._size - 1)], -1)
            left = int(np.searchsorted(keys, token, side="left"))
            right = int(np.searchsorted(keys, token, side="right"))
            return lo + left, lo + right
        a, b = lo, hi
        while a < b:
            mid = (a + b) // 2
            if self._key(mid, depth) < token:
                a = mid + 1
            else:
                b = mid
        first = a
        b = hi
        while a < b:
            mid = (a + b) // 2
            if self._key(mid, depth) <= token:
                a = mid + 1
            else:
                b = mid
        return first, a

    def match_ranges(self, context: TokenArray, max_length: int) -> list[MatchRange]:
        """Ranges for every context length 1..longest that occurs, longest last.

        ``context`` ends at the cursor; the range for length k holds the places where its last k tokens
        occur.
        """
        ranges: list[MatchRange] = []
        lo, hi = 0, self._size
        limit = min(max_length, int(context.size))
        for depth in range(limit):
            token = int(context[context.size - 1 - depth])
            lo, hi = self._narrow(lo, hi, depth, token)
            if lo >= hi:
                break
            ranges.append(MatchRange(depth + 1, lo, hi))
        return ranges

    def positions(self, lo: int, hi: int) -> TokenArray:
        """Forward positions of the last context token for suffix-array rows ``[lo, hi)``."""
        return (self._size - 1 - self._sa[lo:hi]).astype(np.int32)
