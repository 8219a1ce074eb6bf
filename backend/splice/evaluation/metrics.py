"""How close a suggestion is to the hidden span: exact match, edit similarity, BLEU, identifier F1, and
latency percentiles. Every score is per task and between 0 and 1, so tasks can be averaged and paired.

- exact match compares whitespace-normalised text: runs of whitespace (line breaks included) collapse to
  one space and the ends are trimmed, so indentation style and trailing blanks never decide a match;
- edit similarity is ``1 - Levenshtein(p, t) / max(len(p), len(t))`` on the texts with their ends trimmed
  (rapidfuzz computes the distance), 1 when both are empty;
- BLEU is sacrebleu's sentence BLEU (exponential smoothing) over code tokens, divided by 100: the text is
  cut into identifiers, numbers, string literals and single punctuation marks, then joined with spaces and
  scored with sacrebleu's ``none`` tokenizer, because its default tokenizer is built for prose;
- identifier F1 is the F1 of the multisets of identifiers (keywords of the language left out), 1 when
  neither side has any.

sacrebleu is imported on first use, so importing this module costs nothing on the completion path.
"""

from __future__ import annotations

import keyword
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rapidfuzz.distance import Levenshtein

_CODE_TOKEN = re.compile(r"""[A-Za-z_]\w*|\d[\w.]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|\S""")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Keywords are not identifiers: predicting ``return`` says nothing about knowing the code's names.
_KEYWORDS: dict[str, frozenset[str]] = {
    "python": frozenset(keyword.kwlist) | frozenset(keyword.softkwlist),
    "javascript": _words(
        "await break case catch class const continue debugger default delete do else export extends false "
        "finally for function if import in instanceof let new null return super switch this throw true try "
        "typeof var void while with yield async of undefined"
    ),
    "java": _words(
        "abstract assert boolean break byte case catch char class const continue default do double else enum "
        "extends final finally float for if implements import instanceof int interface long native new null "
        "package private protected public return short static super switch synchronized this throw throws "
        "true false try void volatile while var record"
    ),
    "go": _words(
        "break case chan const continue default defer else fallthrough for func go goto if import interface "
        "map package range return select struct switch type var nil true false"
    ),
    "rust": _words(
        "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match "
        "mod move mut pub ref return self Self static struct super trait true type unsafe use where while"
    ),
    "c": _words(
        "auto break case char const continue default do double else enum extern float for goto if inline int "
        "long register restrict return short signed sizeof static struct switch typedef union unsigned void "
        "volatile while NULL"
    ),
}
_KEYWORDS["typescript"] = _KEYWORDS["javascript"] | _words(
    "interface type enum implements private protected public readonly declare namespace abstract as any "
    "boolean number string never unknown keyof"
)
_KEYWORDS["javascriptreact"] = _KEYWORDS["javascript"]
_KEYWORDS["typescriptreact"] = _KEYWORDS["typescript"]
_KEYWORDS["cpp"] = _KEYWORDS["c"] | _words(
    "bool catch class constexpr delete explicit false friend mutable namespace new noexcept nullptr operator "
    "private protected public template this throw true try typename using virtual"
)

METRICS = ("exact_match", "edit_similarity", "bleu", "identifier_f1")


def normalised(text: str) -> str:
    """``text`` with runs of whitespace collapsed to one space and the ends trimmed."""
    return " ".join(text.split())


def exact_match(prediction: str, target: str) -> float:
    """1.0 when the two are equal up to whitespace, else 0.0."""
    return 1.0 if normalised(prediction) == normalised(target) else 0.0


def edit_similarity(prediction: str, target: str) -> float:
    """``1 - Levenshtein / max length`` of the trimmed texts; 1.0 when both are empty."""
    p, t = prediction.strip(), target.strip()
    longest = max(len(p), len(t))
    if longest == 0:
        return 1.0
    return 1.0 - Levenshtein.distance(p, t) / longest


def code_tokens(text: str) -> list[str]:
    """Identifiers, numbers, one-line string literals and single punctuation marks, in order."""
    return _CODE_TOKEN.findall(text)


def bleu(prediction: str, target: str) -> float:
    """Sentence BLEU of code tokens (sacrebleu, exponential smoothing), from 0 to 1."""
    import sacrebleu  # noqa: PLC0415 - evaluation-only dependency, kept off the completion path

    hypothesis = " ".join(code_tokens(prediction))
    reference = " ".join(code_tokens(target))
    if not reference:
        return 1.0 if not hypothesis else 0.0
    if not hypothesis:
        return 0.0
    score: Any = sacrebleu.sentence_bleu(hypothesis, [reference], tokenize="none")
    return min(1.0, max(0.0, float(score.score) / 100.0))


def identifiers(text: str, language: str) -> Counter[str]:
    """The multiset of identifiers in ``text``, without the language's keywords."""
    keywords = _KEYWORDS.get(language, frozenset())
    return Counter(word for word in _IDENTIFIER.findall(text) if word not in keywords)


def identifier_f1(prediction: str, target: str, language: str = "python") -> float:
    """F1 of predicted against expected identifiers (multisets); 1.0 when neither has any."""
    predicted, expected = identifiers(prediction, language), identifiers(target, language)
    if not predicted and not expected:
        return 1.0
    overlap = sum((predicted & expected).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(predicted.values())
    recall = overlap / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


def scores(prediction: str, target: str, language: str) -> dict[str, float]:
    """Every metric of one task."""
    return {
        "exact_match": exact_match(prediction, target),
        "edit_similarity": edit_similarity(prediction, target),
        "bleu": bleu(prediction, target),
        "identifier_f1": identifier_f1(prediction, target, language),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and p99 in milliseconds, rounded to 0.01; None for each when there are no samples."""
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    return {name: round(percentile(values, q), 2) for name, q in (("p50", 50), ("p95", 95), ("p99", 99))}
