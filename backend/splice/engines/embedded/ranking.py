"""Turning occurrences into ranked candidate texts.

Each occurrence proposes the rest of its line. Occurrences proposing the same line are pooled, and a pool is
scored by a linear function of features that each answer one question about the line:

* does it agree with the cursor's surroundings on *both* sides? The longest agreeing context before it
  (left), how much of the code after the cursor follows it where it was found (right), and its share of all
  places whose context agrees that far (the infini-gram estimate of its probability);
* where does it come from? The cache level, and for the live document how near the cursor (the nested-cache
  rule that the most local model wins is mostly carried by nearness);
* does it fit this document? Names the document never mentions make a copied line unlikely (it came from
  another scope); names shared with the lines just above and the code just below make it likely; a copy of
  one of the last lines, or a second ``def`` of something already defined, is rarely what comes next;
* does it use what the enclosing function makes likely (see ``scope``): its next unused parameter, or a name
  the code below reads without a definition? Is it an import line built for names the document reads but
  never binds (see ``imports``), and does its module sort between the import lines around it?
* its shape: a line opening a string literal is usually prose copied from another docstring.

Only the proposals with the best prior (the features that need no look at the text) are scored in full, so
hundreds of occurrences stay within a few milliseconds. The coefficients live in :class:`RankingWeights`;
``scripts/fit-ranking`` fits them (softmax over each task's candidates, then coordinate ascent on exact
match; :mod:`splice.evaluation.ranking_fit`) on hidden-line tasks from a declared training set that it
checks holds no evaluation code. A multi-line suggestion is the line plus the block copied from its
best-agreeing occurrence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from splice.engines.base import Candidate
from splice.engines.embedded.cursor import Cursor
from splice.engines.embedded.imports import import_position, module_of
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
    longest: int = 0  # the longest agreeing context among its occurrences, in tokens
    share: float = 1.0  # its part of all occurrences whose context is at least that long
    redefines: bool = False  # a ``def``/``class`` line the live document already has
    source: tuple[Occurrence, int, float] | None = None  # best-agreeing occurrence, its line end, agreement
    imports_needed: bool = False  # an import line built for names the document reads without binding

    def prior(self, weights: RankingWeights) -> float:
        """The part of the score that needs no look at the text: what pre-selects proposals to score."""
        return (weights.left * self.left + weights.right * self.right + weights.level_bonus[self.level]
                + weights.repeat * math.log(self.count) + weights.nearness * self.nearness
                + weights.share * math.log(self.share) + weights.imports_needed * self.imports_needed)

    def features(self, vocab: Vocabulary, cursor: Cursor, known: Known) -> list[float]:
        """The feature vector :func:`ranked_candidates` scores (see the module docstring)."""
        # An import line's module path is mentioned nowhere else by nature; only the names it brings in count.
        imported = import_position(vocab, self.tokens)
        unknown = sum(1 for token in self.tokens[imported:]
                      if vocab.is_word(token) and not known.mentions(vocab, token))
        first = vocab.text(self.tokens[0]).lstrip() if self.tokens else ""
        stringy = first[:1] in {'"', "'"} or first[1:2] in {'"', "'"}
        # A copy of a line just above or below, or of the end of one (the tail of the line above pasted
        # after an opening bracket), is a repeat, not a continuation.
        size = len(self.tokens)
        repeated = (self.tokens in cursor.previous_lines or self.tokens == cursor.following_line
                    or (size >= 2 and any(len(line) > size and line[-size:] == self.tokens
                                          for line in cursor.previous_lines)))
        names = {vocab.text(token).lstrip() for token in self.tokens if vocab.is_word(token)}
        scope = cursor.scope
        return [
            self.left, self.right, float(self.level == Level.DOCUMENT), float(self.level == Level.OPEN),
            float(self.level == Level.DIRECTORY), math.log(self.count), math.log1p(unknown),
            math.log1p(len(self.tokens)), float(stringy), float(repeated),
            float(not names.isdisjoint(scope.unused_parameters)),
            float(bool(scope.unused_parameters) and scope.unused_parameters[0] in names),
            float(not names.isdisjoint(scope.needed)), float(self.renamed),
            self.nearness,
            math.log(self.share), math.log1p(len(names & known.following)),
            # A copy of a line just above shares all its names; that is not evidence of belonging here.
            0.0 if repeated else math.log1p(len(names & known.preceding)), float(self.redefines),
            float(self.imports_needed), float(_sorts_between(vocab, self.tokens, cursor)), self.bonus,
        ]


@dataclass(frozen=True)
class RankingInput:
    """What ranking needs for one cursor: the vocabulary the tokens belong to, the cursor, and the pooled
    proposals (with any import line), in the order they were found."""

    vocab: Vocabulary
    cursor: Cursor
    proposals: list[Proposal]


def coefficients(weights: RankingWeights) -> list[float]:
    """The weights in the order of :meth:`Proposal.features`."""
    return [weights.left, weights.right, *weights.level_bonus[:3], weights.repeat, weights.unknown_names,
            weights.length, weights.string_line, weights.repeated_line, weights.unused_parameter,
            weights.next_parameter, weights.needed_name, weights.renamed_parameter,
            weights.nearness, weights.share,
            weights.following_names, weights.preceding_names, weights.redefinition, weights.imports_needed,
            weights.import_order, 1.0]


# How many leading entries of :func:`coefficients` are weights; the last one (generation's bonus) is fixed.
FITTED = 21
# The features :meth:`Proposal.prior` uses, by index in :meth:`Proposal.features`: the prior is the score
# restricted to them (the project level's bonus is the baseline, 0).
PRIOR_FEATURES = (0, 1, 2, 3, 4, 5, 14, 15, 19)


def with_coefficients(weights: RankingWeights, values: Sequence[float]) -> RankingWeights:
    """``weights`` with the :data:`FITTED` coefficients replaced by ``values``, in :func:`coefficients` order."""
    if len(values) != FITTED:
        raise ValueError(f"expected {FITTED} coefficients, got {len(values)}")
    v = [float(x) for x in values]
    return replace(
        weights, left=v[0], right=v[1], level_bonus=(v[2], v[3], v[4], weights.level_bonus[3]), repeat=v[5],
        unknown_names=v[6], length=v[7], string_line=v[8], repeated_line=v[9], unused_parameter=v[10],
        next_parameter=v[11], needed_name=v[12], renamed_parameter=v[13], nearness=v[14], share=v[15],
        following_names=v[16], preceding_names=v[17], redefinition=v[18], imports_needed=v[19],
        import_order=v[20],
    )


@dataclass(frozen=True)
class Known:
    """What the live document mentions: every token (a mask over the vocabulary), and the names of the code
    just after and just before the cursor."""

    document: npt.NDArray[np.bool_]
    following: frozenset[str]
    preceding: frozenset[str]

    def mentions(self, vocab: Vocabulary, token: int) -> bool:
        """Whether the document has ``token``'s name, with or without the space before it."""
        if token < self.document.size and self.document[token]:
            return True
        name = vocab.text(token).lstrip()
        return any(other is not None and other < self.document.size and bool(self.document[other])
                   for other in (vocab.lookup(name), vocab.lookup(" " + name)))


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
    """The lines that belong with a proposed line in a multi-line suggestion, re-indented for the cursor.

    Always the lines under it that are indented deeper (the body it opens). When the code after the cursor
    is indented less than the cursor, the cursor's block has nothing after it yet, so the lines that follow
    the proposed line at its own depth come too: that is the rest of the body being written. Either way the
    block ends where its source's block ends, or at the line that already follows the cursor.
    """
    tokens = occurrence.corpus.tokens
    corpus = occurrence.corpus
    lines: list[str] = []
    depth = 0
    floor = 0 if _block_is_open(vocab, cursor) else 1
    stop_line = cursor.following_line
    while end < corpus.size and len(lines) < max_lines:
        token = int(tokens[end])
        if token == SEPARATOR:
            break
        depth += vocab.delta(token)
        if depth < floor:
            break
        next_end = corpus.line_end(end)
        content = tuple(int(t) for t in tokens[end + 1: next_end])
        if content == stop_line:
            break
        lines.append(cursor.indent + " " * depth + vocab.join(content))
        end = next_end
    return "".join("\n" + line for line in lines)


def _block_is_open(vocab: Vocabulary, cursor: Cursor) -> bool:
    """Whether the code after the cursor's line is indented less than it (or there is none)."""
    return cursor.following.size == 0 or vocab.delta(int(cursor.following[0])) < 0


def pooled_proposals(
    vocab: Vocabulary, cursor: Cursor, occurrences: list[Occurrence], *, weights: RankingWeights,
) -> dict[str, Proposal]:
    """Occurrences pooled by the line they propose.

    Agreement is measured for all occurrences of one corpus at once, and a line's text is built once per
    distinct line, which keeps hundreds of occurrences within a millisecond or two. Each pool remembers its
    best-agreeing occurrence, whose block a multi-line suggestion copies.
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
        ends, rights, nearness = _agreements(group, cursor, at_cursor, weights)
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
            lefts.setdefault(text, []).append(occurrence.left)
            pool = pools.get(text)
            if pool is None:
                pools[text] = Proposal(text, content, left, right, int(occurrence.level), 1,
                                       origin=Level(occurrence.level).name.lower(), nearness=near,
                                       redefines=corpus is cursor.document and _defines(text),
                                       source=(occurrence, end, left + right))
                continue
            if pool.source is None or left + right > pool.source[2]:
                pool.source = (occurrence, end, left + right)
            pool.count += 1
            pool.left = max(pool.left, left)
            pool.right = max(pool.right, right)
            pool.nearness = max(pool.nearness, near)
            pool.redefines = pool.redefines or (corpus is cursor.document and _defines(text))
            if occurrence.level < pool.level:
                pool.level = int(occurrence.level)
                pool.origin = Level(occurrence.level).name.lower()
    _set_shares(pools, lefts)
    return pools


def _agreements(group: list[Occurrence], cursor: Cursor, at_cursor: int, weights: RankingWeights
                ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """For occurrences of one corpus: where each proposed line ends, how far the code after it agrees with
    the code after the cursor (log-scaled), and, in the cursor's own document, how near it is."""
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
    return ends, rights, nearness


def _set_shares(pools: dict[str, Proposal], lefts: dict[str, list[int]]) -> None:
    """The infini-gram estimate: among all places whose context agrees at least as far as a text's best
    place does, the fraction that propose this text."""
    every = np.sort(np.fromiter((n for ns in lefts.values() for n in ns), dtype=np.int64))
    for text, pool in pools.items():
        ns = lefts[text]
        pool.longest = max(ns)
        at_least = every.size - int(np.searchsorted(every, pool.longest, side="left"))
        pool.share = sum(1 for n in ns if n >= pool.longest) / max(1, at_least)


def add_import_line(vocab: Vocabulary, proposals: dict[str, Proposal], text: str) -> None:
    """Add an import line built for unbound names (see ``imports``), or mark the copied one that equals it."""
    found = proposals.get(text)
    if found is None:
        proposals[text] = found = Proposal(text, vocab.line_tokens(text), 0.0, 0.0, int(Level.PROJECT), 1,
                                           origin="imports")
    found.imports_needed = True


def _sorts_between(vocab: Vocabulary, tokens: tuple[int, ...], cursor: Cursor) -> bool:
    """Whether an import line's module sorts between the import lines just above and below the cursor."""
    module = module_of(vocab, tokens)
    if module is None:
        return False
    kind = vocab.text(tokens[0])

    def neighbour(line: tuple[int, ...]) -> str | None:
        # isort and ruff put ``import m`` lines before ``from m import`` lines: only the same kind compares.
        return module_of(vocab, line) if line and vocab.text(line[0]) == kind else None

    above = neighbour(cursor.previous_lines[-1]) if cursor.previous_lines else None
    below = neighbour(cursor.following_line)
    if above is None and below is None:
        return False
    key = module.lower()
    return (above is None or above.lower() <= key) and (below is None or key <= below.lower())


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
        if names.count(old) < 2 or not (old in cursor.scope.used_parameters or old not in cursor.scope.local):
            continue
        tokens = tuple(vocab.intern(text[: len(text) - len(old)] + new) if name == old else token
                       for token, text, name in zip(proposal.tokens, texts, names, strict=True))
        text = vocab.join(tokens)
        if text not in seen:
            seen.add(text)
            variants.append(Proposal(text, tokens, proposal.left, proposal.right, proposal.level,
                                     proposal.count, origin=proposal.origin, renamed=True,
                                     nearness=proposal.nearness,
                                     share=proposal.share))
    return variants


def scored_proposals(
    vocab: Vocabulary, cursor: Cursor, proposals: list[Proposal], *, weights: RankingWeights,
) -> list[tuple[float, Proposal]]:
    """The most promising proposals and their renamed variants with their scores, best first.

    Only the ``weights.scored_limit`` proposals with the best prior get the full feature vector: the rest
    could not overtake them on text features alone, and scoring every one of hundreds costs milliseconds.
    """
    if not proposals:
        return []
    if len(proposals) > weights.scored_limit:
        proposals = sorted(proposals, key=lambda p: p.prior(weights), reverse=True)[: weights.scored_limit]
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
    vocab: Vocabulary, cursor: Cursor, proposals: list[Proposal], *, multiline: bool, count: int,
    weights: RankingWeights,
) -> list[Candidate]:
    """The best ``count`` distinct candidate texts, best first; with ``multiline``, each line with its block
    copied from the proposal's best-agreeing occurrence."""
    candidates: list[Candidate] = []
    seen: set[str] = set()
    for score, proposal in scored_proposals(vocab, cursor, proposals, weights=weights):
        text = proposal.text
        if multiline and proposal.source is not None and not proposal.renamed:
            occurrence, end, _ = proposal.source
            text += _block(vocab, occurrence, end, cursor, weights.max_block_lines)
        if text in seen:
            continue
        seen.add(text)
        candidates.append(Candidate(text=text, score=score, origin=proposal.origin,
                                    context_tokens=proposal.longest))
        if len(candidates) >= count:
            break
    return candidates
