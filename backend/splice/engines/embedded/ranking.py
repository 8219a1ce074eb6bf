"""Turning occurrences into ranked candidate texts.

Each occurrence proposes the rest of its line (or, for a multi-line request, its line and the block under
it). Proposals with the same text are pooled, and a pool is scored by a linear function of a few features:

* agreement on *both* sides of the cursor: the longest agreeing context before it (left), and how much of
  the code after the cursor follows the proposed line where it was found (right) — a proposal after which
  the following code becomes likely is the better one;
* locality: the most local level that proposed it (the nested-cache rule that the most local model wins);
* recurrence: how many places propose it;
* fit with the document: names the document has never mentioned make a copied line unlikely (it came from
  some other scope), and a line identical to one just above is rarely written twice in a row;
* shape: a line opening a string literal is usually prose copied from another docstring.

The coefficients live in :class:`RankingWeights` and were fitted on hidden-line reproduction over packages
that are not used to report figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from splice.engines.base import Candidate
from splice.engines.embedded.cursor import Cursor
from splice.engines.embedded.lexer import SEPARATOR, Vocabulary
from splice.engines.embedded.matching import right_agreements
from splice.engines.embedded.occurrences import Level, Occurrence
from splice.engines.embedded.weights import RankingWeights


@dataclass
class Proposal:
    """One distinct candidate text with the pooled evidence for it."""

    text: str
    tokens: tuple[int, ...]  # content tokens of the proposed line (after any typed part)
    left: float
    right: float
    level: int
    count: int
    bonus: float = 0.0  # evidence from outside the occurrences (generation)
    origin: str = ""
    renamed: bool = False  # a copied line echoing another parameter (see ``renamed_proposals``)
    nearness: float = 0.0  # 1 beside the cursor in its own document, falling towards 0 with distance
    same_break: bool = False  # some occurrence's line opens with the cursor's indentation change
    longest: int = 0  # the longest agreeing context among its occurrences, in tokens
    share: float = 1.0  # its part of all occurrences whose context is at least that long
    redefines: bool = False  # a ``def``/``class`` line the live document already has

    def features(self, vocab: Vocabulary, cursor: Cursor, known: Known) -> list[float]:
        """The feature vector :func:`ranked_candidates` scores (see the module docstring)."""
        mask = known.document
        unknown = sum(1 for token in self.tokens
                      if vocab.is_word(token) and (token >= mask.size or not mask[token]))
        first = vocab.text(self.tokens[0]).lstrip() if self.tokens else ""
        stringy = first[:1] in {'"', "'"} or first[1:2] in {'"', "'"}
        repeated = self.tokens in cursor.previous_lines
        names = {vocab.text(token).lstrip() for token in self.tokens if vocab.is_word(token)}
        scope = cursor.scope
        return [
            self.left, self.right, float(self.level == Level.DOCUMENT), float(self.level == Level.OPEN),
            float(self.level == Level.DIRECTORY), math.log(self.count), math.log1p(unknown),
            math.log1p(len(self.tokens)), float(stringy), float(repeated),
            float(not names.isdisjoint(scope.unused_parameters)),
            float(bool(scope.unused_parameters) and scope.unused_parameters[0] in names),
            float(not names.isdisjoint(scope.needed)), float(self.renamed),
            self.nearness, float(self.same_break),
            math.log(self.share), math.log1p(len(names & known.following)),
            math.log1p(len(names & known.preceding)), float(self.redefines), self.bonus,
        ]


def coefficients(weights: RankingWeights) -> list[float]:
    """The weights in the order of :meth:`Proposal.features`."""
    return [weights.left, weights.right, *weights.level_bonus[:3], weights.repeat, weights.unknown_names,
            weights.length, weights.string_line, weights.repeated_line, weights.unused_parameter,
            weights.next_parameter, weights.needed_name, weights.renamed_parameter,
            weights.nearness, weights.same_break, weights.share,
            weights.following_names, weights.preceding_names, weights.redefinition, 1.0]


@dataclass(frozen=True)
class Known:
    """What the live document mentions: every token (a mask over the vocabulary), and the names of the code
    just after and just before the cursor."""

    document: npt.NDArray[np.bool_]
    following: frozenset[str]
    preceding: frozenset[str]


def known_tokens(vocab: Vocabulary, cursor: Cursor) -> Known:
    """What the live document around ``cursor`` mentions."""
    mask = np.zeros(len(vocab), dtype=np.bool_)
    mask[cursor.document.tokens] = True
    mask[cursor.context] = True

    def names(tokens: Iterable[int]) -> frozenset[str]:
        return frozenset(vocab.text(t).lstrip() for t in tokens if vocab.is_word(t))

    return Known(mask, names(cursor.following.tolist()),
                 names(t for line in cursor.previous_lines for t in line))


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


def pooled_proposals(
    vocab: Vocabulary, cursor: Cursor, occurrences: list[Occurrence], *, multiline: bool,
    weights: RankingWeights,
) -> dict[str, Proposal]:
    """Occurrences pooled by the text they propose.

    Agreement is measured for all occurrences of one corpus at once, and a line's text is built once per
    distinct line, which keeps hundreds of occurrences within a millisecond or two.
    """
    pools: dict[str, Proposal] = {}
    rest = cursor.rest_of_line.strip()
    at_cursor = int(cursor.document.file_starts[-1])
    lefts: dict[str, list[int]] = {}  # per text, the context lengths of its occurrences
    by_corpus: dict[int, list[Occurrence]] = {}
    for occurrence in occurrences:
        by_corpus.setdefault(id(occurrence.corpus), []).append(occurrence)
    for group in by_corpus.values():
        corpus = group[0].corpus
        positions = np.fromiter((o.position for o in group), dtype=np.int64, count=len(group))
        index = np.searchsorted(corpus.boundaries, positions, side="right")
        ends = np.where(index < corpus.boundaries.size,
                        corpus.boundaries[np.minimum(index, corpus.boundaries.size - 1)], corpus.size)
        rights = np.log1p(right_agreements(corpus.tokens, ends, cursor.following, weights.right_cap))
        if corpus is cursor.document:
            nearness = np.exp(-np.abs(positions - at_cursor) / weights.nearness_scale)
        else:
            nearness = np.zeros(len(group))
        texts: dict[bytes, tuple[str, tuple[int, ...]] | None] = {}
        for occurrence, end, right, near in zip(group, ends.tolist(), rights.tolist(), nearness.tolist(),
                                               strict=True):
            span = corpus.tokens[occurrence.position + 1: end]
            key = span.tobytes()
            if key in texts:
                line = texts[key]
            else:
                line = texts[key] = _proposed_text(vocab, cursor, span, rest)
            if line is None:
                continue
            text, content = line
            left = math.log1p(min(occurrence.left, weights.left_cap))
            if multiline:
                text += _block(vocab, occurrence, end, cursor, weights.max_block_lines)
            lefts.setdefault(text, []).append(occurrence.left)
            pool = pools.get(text)
            if pool is None:
                pools[text] = Proposal(text, content, left, right, int(occurrence.level), 1,
                                       origin=Level(occurrence.level).name.lower(), nearness=near,
                                       same_break=occurrence.left > cursor.typed_tokens,
                                       redefines=corpus is cursor.document and _defines(text))
                continue
            pool.count += 1
            pool.left = max(pool.left, left)
            pool.right = max(pool.right, right)
            pool.nearness = max(pool.nearness, near)
            pool.redefines = pool.redefines or (corpus is cursor.document and _defines(text))
            pool.same_break = pool.same_break or occurrence.left > cursor.typed_tokens
            if occurrence.level < pool.level:
                pool.level = int(occurrence.level)
                pool.origin = Level(occurrence.level).name.lower()
    # The infini-gram estimate: among all places whose context agrees at least as far as this text's best
    # place does, the fraction that propose this text.
    every = np.sort(np.fromiter((n for ns in lefts.values() for n in ns), dtype=np.int64))
    for text, pool in pools.items():
        ns = lefts[text]
        pool.longest = max(ns)
        at_least = every.size - int(np.searchsorted(every, pool.longest, side="left"))
        pool.share = sum(1 for n in ns if n >= pool.longest) / max(1, at_least)
    return pools


def _defines(text: str) -> bool:
    return text.startswith(("def ", "class ", "async def "))


def _proposed_text(
    vocab: Vocabulary, cursor: Cursor, span: npt.NDArray[np.int32], rest: str,
) -> tuple[str, tuple[int, ...]] | None:
    """The text a line's remaining tokens propose at the cursor, or None if they do not fit what is typed."""
    content = tuple(span.tolist())
    text = vocab.join(content)
    if not text.startswith(cursor.partial):
        return None
    text = text[len(cursor.partial):]
    if rest and text.endswith(rest):
        text = text[: len(text) - len(rest)]
    return (text, content) if text.strip() else None


def renamed_proposals(vocab: Vocabulary, cursor: Cursor, proposals: list[Proposal], *, limit: int) -> list[Proposal]:
    """Variants of the best proposals that echo the next unused parameter instead of a used one.

    This is the copy mechanism: ``self.level = level`` (or ``level=level,``) proposed just after the line
    that consumed ``level`` becomes ``self.flag = flag`` when ``flag`` is the next parameter the function
    has not used yet. It is kept to lines that echo a single parameter because looser substitutions (any
    foreign name, any used parameter, names the code below reads) were measured to propose a wrong line for
    nearly every right one.
    """
    unused = cursor.scope.unused_parameters
    if not unused or cursor.partial or cursor.rest_of_line.strip():
        return []
    new = unused[0]
    variants: list[Proposal] = []
    seen = {p.text for p in proposals}
    for proposal in proposals[:limit]:
        if "\n" in proposal.text:
            continue
        texts = [vocab.text(token) for token in proposal.tokens]
        names = [text.lstrip() if vocab.is_word(token) else "" for token, text in zip(proposal.tokens, texts,
                                                                                       strict=True)]
        echoed = {name for name in names if name and name not in {"self", "cls"}}
        if len(echoed) != 1 or new in names:
            continue
        old = echoed.pop()
        if names.count(old) < 2 or old not in cursor.scope.used_parameters:
            continue
        tokens = tuple(vocab.intern(text[: len(text) - len(old)] + new) if name == old else token
                       for token, text, name in zip(proposal.tokens, texts, names, strict=True))
        text = vocab.join(tokens)
        if text not in seen:
            seen.add(text)
            variants.append(Proposal(text, tokens, proposal.left, proposal.right, proposal.level,
                                     proposal.count, origin=proposal.origin, renamed=True,
                                     nearness=proposal.nearness, same_break=proposal.same_break,
                                     share=proposal.share))
    return variants


def scored_proposals(
    vocab: Vocabulary, cursor: Cursor, proposals: list[Proposal], *, weights: RankingWeights,
) -> list[tuple[float, Proposal]]:
    """Every proposal and renamed variant with its score, best first."""
    if not proposals:
        return []
    known = known_tokens(vocab, cursor)
    coefficient = coefficients(weights)

    def score(pool: list[Proposal]) -> list[tuple[float, Proposal]]:
        result = [(sum(w * f for w, f in zip(coefficient, p.features(vocab, cursor, known), strict=True)), p)
                  for p in pool]
        # A stable sort keeps ties in insertion order (most local, longest context first): deterministic.
        result.sort(key=lambda item: item[0], reverse=True)
        return result

    first = score(proposals)
    variants = renamed_proposals(vocab, cursor, [p for _, p in first], limit=weights.rename_limit)
    return sorted(first + score(variants), key=lambda item: item[0], reverse=True)


def ranked_candidates(
    vocab: Vocabulary, cursor: Cursor, proposals: list[Proposal], *, count: int, weights: RankingWeights,
) -> list[Candidate]:
    """The best ``count`` distinct candidate texts, best first."""
    scored = scored_proposals(vocab, cursor, proposals, weights=weights)
    return [Candidate(text=p.text, score=s, origin=p.origin) for s, p in scored[:count]]
