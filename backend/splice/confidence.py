"""How likely the developer is to keep a suggestion: a number in [0, 1] for every proposal, and its inputs.

Most of what an engine proposes at an automatic trigger is not what the person goes on to type, and every
wrong suggestion shown costs them a read. Whether to show one at all is decided from what is known when
the request is answered: what the engine said about the candidate (its ranking score, the margin to the
next candidate, how many of the candidates agree with it, how long the context behind its match is, its
mean log-probability where the engine is a language model), where the cursor is (inside an identifier,
after an operator or a dot, at the start or end of a line, inside a comment or string), the suggestion's
size and whether it is the rest of a suggestion the person is typing through. A logistic model turns
these into a probability; its coefficients are fitted on replayed typing by ``scripts/fit-confidence``
(:mod:`splice.evaluation.confidence_fit`) and live in :mod:`splice.confidence_weights`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from splice import confidence_weights
from splice.engines.base import Candidate
from splice.languages import line_comment

# The order of :func:`features`; the fitted coefficients are keyed by these names.
FEATURES = (
    "score", "margin", "alone", "agreement", "match", "mid_identifier", "after_operator", "after_dot",
    "line_start", "end_of_line", "in_comment_or_string", "length", "lines", "typeahead", "logprob",
    "has_logprob", "replaces", "candidates", "word_typed", "one_word", "unbalanced", "after_opener",
    "after_blank_line", "line_start_match",
)
_OPENERS = frozenset(":{([")
_FIRST_WORD = re.compile(r"\s*(?:\w+|[^\w\s]+)")
_WORD_END = re.compile(r"\w+$")  # the part of an identifier typed before the cursor
_ONE_WORD = re.compile(r"\w+")
_OPERATORS = frozenset("=+-*/%<>!&|^~,(:[{?")
_QUOTES = frozenset("\"'`")
_SCORE_CAP = 20.0
_MARGIN_CAP = 10.0


@dataclass(frozen=True)
class Evidence:
    """What the engine said about one candidate, kept with it so the rest of it, once the person types
    into it, is judged on the same grounds."""

    score: float
    margin: float  # its score minus the next candidate's; the cap when there is no next one
    alone: bool  # the engine proposed nothing else
    agreement: float  # share of the candidates that begin with the same word
    context_tokens: int  # tokens of agreeing context behind its best match (0 when the engine has none)
    mean_logprob: float | None
    candidates: int = 1  # how many the engine proposed


def evidence(candidates: Sequence[Candidate], index: int) -> Evidence:
    """The :class:`Evidence` for ``candidates[index]`` among all the engine proposed."""
    candidate = candidates[index]
    following = candidates[index + 1].score if index + 1 < len(candidates) else None
    margin = _MARGIN_CAP if following is None else min(_MARGIN_CAP, max(0.0, candidate.score - following))
    first = _first_word(candidate.text)
    agreeing = sum(1 for other in candidates if _first_word(other.text) == first)
    return Evidence(score=candidate.score, margin=margin, alone=len(candidates) == 1,
                    agreement=agreeing / len(candidates), context_tokens=candidate.context_tokens or 0,
                    mean_logprob=candidate.mean_logprob, candidates=len(candidates))


def features(found: Evidence, text: str, replace_suffix: int, prefix: str, suffix: str, language: str, *,
             typeahead: bool) -> tuple[float, ...]:
    """The model's inputs for suggestion ``text`` at the cursor between ``prefix`` and ``suffix``, in
    :data:`FEATURES` order."""
    line_begins = prefix.rfind("\n") + 1
    line_prefix = prefix[line_begins:]
    line_end = suffix.find("\n")
    rest_of_line = suffix[: line_end if line_end >= 0 else len(suffix)]
    last = line_prefix.rstrip()[-1:]
    score = max(-_SCORE_CAP, min(_SCORE_CAP, found.score)) / 10
    logprob = 0.0 if found.mean_logprob is None else max(-10.0, found.mean_logprob)
    word = _WORD_END.search(line_prefix)
    line_start = not line_prefix.strip()
    # The line above, found without copying the prefix (documents run to megabytes).
    previous = prefix[prefix.rfind("\n", 0, line_begins - 1) + 1: line_begins - 1].strip() if line_begins else ""
    match = math.log1p(found.context_tokens)
    return (
        score, math.log1p(found.margin), float(found.alone), found.agreement, match,
        float(bool(word)), float(last in _OPERATORS), float(last == "."), float(line_start),
        float(not rest_of_line.strip()), float(_in_comment_or_string(line_prefix, language)),
        math.log1p(len(text)), math.log1p(text.count("\n")), float(typeahead), logprob,
        float(found.mean_logprob is not None), float(replace_suffix > 0), math.log(max(1, found.candidates)),
        math.log1p(len(word.group(0)) if word else 0), float(_ONE_WORD.fullmatch(text) is not None),
        float(_bracket_balance(text) != 0), float(line_start and previous[-1:] in _OPENERS),
        float(line_start and not previous and line_begins > 0), float(line_start) * match,
    )


def _bracket_balance(text: str) -> int:
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def named(values: Sequence[float]) -> dict[str, float]:
    """``values`` (from :func:`features`) by feature name, as reports and the wire carry them."""
    return dict(zip(FEATURES, values, strict=True))


def confidence(values: Sequence[float], coefficients: Mapping[str, float] | None = None,
               intercept: float | None = None) -> float:
    """The probability that the suggestion with ``values`` (from :func:`features`) is kept, by the fitted
    model unless ``coefficients`` and ``intercept`` are given."""
    weights = confidence_weights.COEFFICIENTS if coefficients is None else coefficients
    bias = confidence_weights.INTERCEPT if intercept is None else intercept
    z = bias + sum(weights.get(name, 0.0) * value for name, value in zip(FEATURES, values, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def _first_word(text: str) -> str:
    match = _FIRST_WORD.match(text)
    return match.group(0).strip() if match else ""


def _in_comment_or_string(line_prefix: str, language: str) -> bool:
    """Whether the cursor at the end of ``line_prefix`` is inside a line comment or a string literal that
    opened on its line (a scan of quotes and the language's comment leader, not a parse: it is per
    keystroke and only one input among many)."""
    stripped = line_prefix.lstrip()
    if stripped.startswith(("*", "/*")):
        return True
    leader = line_comment(language)
    quote = ""
    index = 0
    while index < len(line_prefix):
        char = line_prefix[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in _QUOTES:
            quote = char
        elif line_prefix.startswith(leader, index):
            return True
        index += 1
    return bool(quote)
