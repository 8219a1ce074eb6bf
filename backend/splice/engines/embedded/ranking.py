"""Turning occurrences into ranked candidate texts.

Each occurrence proposes the rest of its line (or, for a multi-line request, its line and the block under
it). An occurrence is scored by how much of the cursor's surroundings agrees with its own on *both* sides:
the context before it (left agreement), and whether the code after its line is the code after the cursor
(right agreement) — a proposal after which the following code becomes likely is the better one. Locality
adds a bonus, so with equal evidence the current document beats the directory, which beats the project
(the nested-cache rule that the most local model wins). Proposals with the same text pool their evidence:
the best occurrence counts, plus a small bonus for how often the text recurs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from splice.engines.base import Candidate
from splice.engines.embedded.cursor import Cursor
from splice.engines.embedded.lexer import SEPARATOR, Vocabulary
from splice.engines.embedded.matching import right_agreement
from splice.engines.embedded.occurrences import Level, Occurrence
from splice.engines.embedded.weights import RankingWeights


@dataclass
class _Pool:
    text: str
    best: float
    count: int
    origin: str


def _block(vocab: Vocabulary, occurrence: Occurrence, end: int, cursor: Cursor, max_lines: int) -> str:
    """The lines after a proposed line that are indented deeper than it, re-indented for the cursor."""
    tokens = occurrence.corpus.tokens
    corpus = occurrence.corpus
    lines: list[str] = []
    depth = 0
    stop_line = cursor.following_line
    while end < corpus.size and len(lines) < max_lines:
        token = int(tokens[end])
        if token == SEPARATOR:
            break
        depth += vocab.delta(token)
        if depth <= 0:
            break
        next_end = corpus.line_end(end)
        content = tuple(int(t) for t in tokens[end + 1: next_end])
        if content == stop_line:
            break
        lines.append(cursor.indent + " " * depth + vocab.join(content))
        end = next_end
    return "".join("\n" + line for line in lines)


def ranked_candidates(
    vocab: Vocabulary, cursor: Cursor, occurrences: list[Occurrence], *, multiline: bool, count: int,
    weights: RankingWeights,
) -> list[Candidate]:
    """The best ``count`` distinct candidate texts, best first."""
    pools: dict[str, _Pool] = {}
    rest = cursor.rest_of_line.strip()
    for occurrence in occurrences:
        corpus = occurrence.corpus
        end = corpus.line_end(occurrence.position)
        text = vocab.join(int(t) for t in corpus.tokens[occurrence.position + 1: end])
        if not text.startswith(cursor.partial):
            continue
        text = text[len(cursor.partial):]
        if rest and text.endswith(rest):
            text = text[: len(text) - len(rest)]
        if not text.strip():
            continue
        right = 0
        if end < corpus.size and int(corpus.tokens[end]) != SEPARATOR:
            right = right_agreement(corpus.tokens, end, cursor.following, weights.right_cap)
        score = (weights.left * math.log1p(min(occurrence.left, weights.left_cap))
                 + weights.right * math.log1p(right)
                 + weights.level_bonus[occurrence.level])
        if multiline:
            text += _block(vocab, occurrence, end, cursor, weights.max_block_lines)
        pool = pools.get(text)
        if pool is None:
            pools[text] = _Pool(text, score, 1, Level(occurrence.level).name.lower())
        else:
            pool.count += 1
            if score > pool.best:
                pool.best = score
                pool.origin = Level(occurrence.level).name.lower()
    ranked = sorted(pools.values(), key=lambda p: p.best + weights.repeat * math.log(p.count), reverse=True)
    return [Candidate(text=p.text, score=p.best + weights.repeat * math.log(p.count), origin=p.origin)
            for p in ranked[:count]]
