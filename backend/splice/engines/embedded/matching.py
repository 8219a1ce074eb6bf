"""Context matching by direct comparison, for token arrays too small or too fresh to deserve an index.

The live document and the other open documents change on every keystroke, so they are matched by a
vectorised scan instead of a suffix array: find every occurrence of the token just before the cursor, then
keep extending backwards only the survivors. On a 50,000-token document this is well under a millisecond,
and it needs no rebuild when the text changes. The same module measures how far a single occurrence agrees
with the cursor's surroundings on either side, which is what ranking scores.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from splice.engines.embedded.lexer import TokenArray


def context_matches(
    tokens: TokenArray, context: TokenArray, max_length: int, *, end: int | None = None,
) -> tuple[TokenArray, npt.NDArray[np.int32]]:
    """Positions ``p < end`` whose preceding tokens match the tail of ``context``, and the match lengths.

    ``p`` is the position of the token matched with the context's last token. Only positions matching at
    least that one token are returned.
    """
    size = int(tokens.size if end is None else min(end, tokens.size))
    if size == 0 or context.size == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    positions = np.flatnonzero(tokens[:size] == context[-1]).astype(np.int32)
    lengths = np.ones(positions.size, dtype=np.int32)
    alive = positions
    limit = min(max_length, int(context.size))
    for depth in range(1, limit):
        if alive.size == 0:
            break
        back = alive - depth
        ok = back >= 0
        ok[ok] = tokens[back[ok]] == context[-1 - depth]
        alive = alive[ok]
        if alive.size:
            lengths[np.searchsorted(positions, alive)] += 1
    return positions, lengths


def left_agreement(tokens: TokenArray, position: int, context: TokenArray, cap: int) -> int:
    """How many tokens ending at ``position`` (inclusive) equal the tail of ``context``."""
    span = min(cap, position + 1, int(context.size))
    if span <= 0:
        return 0
    window = tokens[position + 1 - span: position + 1][::-1]
    wanted = context[context.size - span:][::-1]
    differ = np.flatnonzero(window != wanted)
    return int(differ[0]) if differ.size else span


def right_agreement(tokens: TokenArray, position: int, following: TokenArray, cap: int) -> int:
    """How many tokens starting at ``position`` equal the start of ``following``."""
    span = min(cap, int(tokens.size) - position, int(following.size))
    if span <= 0:
        return 0
    differ = np.flatnonzero(tokens[position: position + span] != following[:span])
    return int(differ[0]) if differ.size else span


def left_agreements(tokens: TokenArray, positions: npt.NDArray[np.int64], context: TokenArray,
                    cap: int) -> npt.NDArray[np.int64]:
    """:func:`left_agreement` for many positions at once."""
    span = min(cap, int(context.size))
    if span <= 0 or positions.size == 0:
        return np.zeros(positions.size, dtype=np.int64)
    at = positions[:, None] - np.arange(span)[None, :]
    equal = (tokens[np.maximum(at, 0)] == context[::-1][:span][None, :]) & (at >= 0)
    agreed: npt.NDArray[np.int64] = np.cumprod(equal, axis=1).sum(axis=1)
    return agreed


def right_agreements(tokens: TokenArray, positions: npt.NDArray[np.int64], following: TokenArray,
                     cap: int) -> npt.NDArray[np.int64]:
    """:func:`right_agreement` for many positions at once."""
    span = min(cap, int(following.size))
    if span <= 0 or positions.size == 0:
        return np.zeros(positions.size, dtype=np.int64)
    size = int(tokens.size)
    at = positions[:, None] + np.arange(span)[None, :]
    equal = (tokens[np.minimum(at, size - 1)] == following[:span][None, :]) & (at < size)
    agreed: npt.NDArray[np.int64] = np.cumprod(equal, axis=1).sum(axis=1)
    return agreed
