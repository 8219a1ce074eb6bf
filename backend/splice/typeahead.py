"""Typing through a suggestion: what remains of it is served at once, without asking the engine again.

When the person types the first characters of the suggestion on screen, the editor asks again at the new
cursor. The document below the cursor has not changed and the text before it grew by exactly what the
suggestion proposed, so the rest of the same suggestion is still the answer; recomputing it would cost an
engine call and could even change it under the person's fingers. The cache keeps the last few answers per
document and matches on the whole suffix (a string comparison) and on the prefix having grown by a prefix of
a remembered suggestion.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from splice.confidence import Evidence

# A remembered suggestion: text ("\n" line ends), replace_suffix, score, what its confidence came from.
Remembered = tuple[str, int, float, Evidence]


@dataclass(frozen=True)
class _Answer:
    prefix: str
    suffix: str
    proposals: tuple[Remembered, ...]
    engine: str
    sources: tuple[str, ...]
    multiline: bool
    fallback: str


@dataclass(frozen=True)
class Remainder:
    """What is left of remembered suggestions after the characters typed since."""

    proposals: tuple[Remembered, ...]
    engine: str
    sources: tuple[str, ...]
    multiline: bool
    fallback: str = ""  # why the configured engine did not give the answer, when another stood in


class TypeaheadCache:
    """The last answers per document, looked up by the prefix typed since."""

    def __init__(self, answers_per_document: int = 4, documents: int = 64) -> None:
        self._answers: OrderedDict[str, list[_Answer]] = OrderedDict()
        self._per_document = answers_per_document
        self._documents = documents

    def remember(self, document: str, prefix: str, suffix: str, proposals: list[Remembered],
                 *, engine: str, sources: tuple[str, ...], multiline: bool, fallback: str = "") -> None:
        """Keep an answer given at ``prefix``/``suffix`` of ``document``."""
        if not proposals:
            return
        answers = self._answers.setdefault(document, [])
        answers.insert(0, _Answer(prefix, suffix, tuple(proposals), engine, sources, multiline, fallback))
        del answers[self._per_document :]
        self._answers.move_to_end(document)
        while len(self._answers) > self._documents:
            self._answers.popitem(last=False)

    def lookup(self, document: str, prefix: str, suffix: str) -> Remainder | None:
        """The rest of a remembered answer that the text typed since ``prefix`` agrees with, or None."""
        for answer in self._answers.get(document, ()):
            if len(prefix) < len(answer.prefix) or answer.suffix != suffix or not prefix.startswith(answer.prefix):
                continue
            typed = prefix[len(answer.prefix) :]
            left = tuple(
                (text[len(typed) :], replace, score, found)
                for text, replace, score, found in answer.proposals
                if text.startswith(typed) and text[len(typed) :].strip()
            )
            if left:
                return Remainder(left, answer.engine, answer.sources, answer.multiline, answer.fallback)
        return None

    def forget(self, document: str) -> None:
        """Drop the answers for a closed document."""
        self._answers.pop(document, None)
