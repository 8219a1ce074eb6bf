"""Where, in each cache level, code like the cursor's surroundings already exists.

An occurrence is a place in some corpus that could be copied to the cursor: the position matched with the
last context token, how many context tokens agree there, and which cache level it came from (the current
document, another open document, the current directory, the rest of the project). They are found two ways:

* left context: the longest tails of the text before the cursor, by scan (documents) or by the reversed
  suffix array (project), backing off to shorter tails until enough places are found — an unbounded-order
  n-gram lookup;
* right context: lines elsewhere that are followed by the line that follows the cursor, by exact line
  lookup. This finds the line that belongs *between* two known lines even where what precedes it differs;
* nearness: every line of the live document within a window around the cursor, whatever precedes it. Code
  repeats most near where it was written, often after a different indentation change than at the cursor,
  which context matching (whose first token is the line break) cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from splice.engines.embedded.corpus import TokenCorpus
from splice.engines.embedded.cursor import Cursor
from splice.engines.embedded.lexer import SEPARATOR
from splice.engines.embedded.matching import context_matches, left_agreement, left_agreements
from splice.engines.embedded.project import ProjectIndex


class Level(IntEnum):
    """Cache levels, most local first (Hellendoorn & Devanbu's nested caches)."""

    DOCUMENT = 0
    OPEN = 1
    DIRECTORY = 2
    PROJECT = 3


@dataclass(frozen=True, eq=False)
class Occurrence:
    corpus: TokenCorpus
    position: int  # the token matched with the context's last token; the candidate starts after it
    left: int  # context tokens that agree, ending at ``position``
    level: Level


def by_context_scan(
    corpus: TokenCorpus, cursor: Cursor, level: Level, *, max_context: int, limit: int, min_length: int,
    near: int | None = None,
) -> list[Occurrence]:
    """The ``limit`` places in a small corpus with the longest agreeing context.

    Among places with equally long context, those nearest ``near`` (the cursor's place in its own
    document) come first, or else the latest: code near the cursor is the likeliest to be repeated.
    """
    positions, lengths = context_matches(corpus.tokens, cursor.context, max_context)
    keep = lengths >= min_length
    positions, lengths = positions[keep], lengths[keep]
    if positions.size > limit:
        distance = -positions if near is None else np.abs(positions - near)
        order = np.lexsort((distance, -lengths))[:limit]
        positions, lengths = positions[order], lengths[order]
    return [Occurrence(corpus, int(p), int(n), level) for p, n in zip(positions, lengths, strict=True)]


def by_nearby_lines(
    corpus: TokenCorpus, cursor: Cursor, level: Level, *, near: int, window: int, max_context: int,
) -> list[Occurrence]:
    """Every line within ``window`` tokens of ``near`` whose start agrees with what is typed on the line.

    Context matching requires the line break itself to agree, and its indentation change is often what
    differs when a nearby line is repeated (``self._reset()`` after an ``if`` and again after a block).
    These occurrences carry only the agreement they really have, so ranking weighs them accordingly.
    """
    boundaries = corpus.boundaries
    lo = int(np.searchsorted(boundaries, near - window, side="left"))
    hi = int(np.searchsorted(boundaries, near + window, side="right"))
    starts = boundaries[lo:hi]
    ends = np.append(boundaries[lo + 1: hi + 1], corpus.size)[: starts.size]
    positions = starts + cursor.typed_tokens
    keep = (corpus.tokens[starts] != SEPARATOR) & (positions + 1 < ends)
    positions = positions[keep]
    lefts = left_agreements(corpus.tokens, positions, cursor.context, max_context)
    keep = lefts >= cursor.typed_tokens
    return [Occurrence(corpus, p, n, level)
            for p, n in zip(positions[keep].tolist(), lefts[keep].tolist(), strict=True)]


def by_suffix_index(
    project: ProjectIndex, cursor: Cursor, *, excluded_files: frozenset[int], directory: int | None,
    max_context: int, limit: int, min_length: int,
) -> list[Occurrence]:
    """Places in the project with the longest agreeing context, backing off until ``limit`` are found."""
    ranges = project.suffix_index.match_ranges(cursor.context, max_context)
    found: list[Occurrence] = []
    corpus = project.corpus
    inner_lo = inner_hi = -1
    for match in reversed(ranges):
        if match.length < min_length or len(found) >= limit:
            break
        # Rows not already taken at a longer length.
        rows = [(match.lo, match.hi)] if inner_lo < 0 else [(match.lo, inner_lo), (inner_hi, match.hi)]
        inner_lo, inner_hi = match.lo, match.hi
        for lo, hi in rows:
            if lo >= hi or len(found) >= limit:
                continue
            positions = project.suffix_index.positions(lo, min(hi, lo + 4 * limit))
            files = np.searchsorted(corpus.file_starts, positions, side="right") - 1
            for position, file in zip(positions.tolist(), files.tolist(), strict=True):
                if file in excluded_files:
                    continue
                level = Level.DIRECTORY if directory is not None and \
                    int(project.directories[file]) == directory else Level.PROJECT
                found.append(Occurrence(corpus, position, match.length, level))
                if len(found) >= limit:
                    break
    return found


def _occurrence_before_line(
    corpus: TokenCorpus, line_break: int, cursor: Cursor, level: Level, max_context: int,
) -> Occurrence | None:
    """The occurrence for the line preceding the line that opens at ``line_break``."""
    start = corpus.line_start(line_break - 1)
    if start < 0 or int(corpus.tokens[start]) == SEPARATOR:
        return None
    position = start + cursor.typed_tokens
    if position >= line_break:
        return None
    left = left_agreement(corpus.tokens, position, cursor.context, max_context)
    if cursor.typed_tokens and left < cursor.typed_tokens:
        return None  # the typed part of the line differs
    return Occurrence(corpus, position, left, level)


def by_following_line_scan(
    corpus: TokenCorpus, cursor: Cursor, level: Level, *, max_context: int, limit: int,
) -> list[Occurrence]:
    """Lines in a small corpus followed by the line that follows the cursor."""
    line = np.asarray(cursor.following_line, dtype=np.int32)
    if line.size == 0:
        return []
    ends, lengths = context_matches(corpus.tokens, line, int(line.size))
    found: list[Occurrence] = []
    for end in ends[lengths == line.size].tolist():
        line_break = end - int(line.size)
        if corpus.line_start(end) != line_break or (corpus.line_end(end) != end + 1 and end + 1 < corpus.size):
            continue
        occurrence = _occurrence_before_line(corpus, line_break, cursor, level, max_context)
        if occurrence is not None:
            found.append(occurrence)
            if len(found) >= limit:
                break
    return found


def by_following_line_table(
    project: ProjectIndex, cursor: Cursor, *, excluded_files: frozenset[int], directory: int | None,
    max_context: int, limit: int,
) -> list[Occurrence]:
    """Lines in the project followed by the line that follows the cursor."""
    if not cursor.following_line:
        return []
    corpus = project.corpus
    found: list[Occurrence] = []
    for line_break in project.occurrences_of_line(cursor.following_line)[: 4 * limit]:
        file = corpus.file_index(line_break)
        if file in excluded_files:
            continue
        level = Level.DIRECTORY if directory is not None and \
            int(project.directories[file]) == directory else Level.PROJECT
        occurrence = _occurrence_before_line(corpus, line_break, cursor, level, max_context)
        if occurrence is not None:
            found.append(occurrence)
            if len(found) >= limit:
                break
    return found
