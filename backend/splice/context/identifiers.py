"""Identifier sets for similarity: words split on camelCase and snake_case, lower-cased, keywords dropped.

``parseHTTPResponse`` and ``parse_http_response`` share ``parse``, ``http`` and ``response``, so code that
names the same things in another style still matches.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# Words so common across languages that they say nothing about what code is about.
STOPWORDS = frozenset(
    [
        "and", "as", "assert", "async", "await", "break", "case", "catch", "char", "class", "const",
        "continue", "def", "default", "del", "do", "double", "elif", "else", "enum", "export", "extends",
        "false", "final", "finally", "float", "fn", "for", "from", "func", "function", "go", "if", "impl",
        "import", "in", "int", "interface", "is", "let", "long", "match", "mod", "mut", "new", "none", "not",
        "null", "or", "package", "pass", "private", "protected", "pub", "public", "raise", "return", "self",
        "static", "str", "string", "struct", "super", "switch", "this", "throw", "throws", "true", "try",
        "type", "typeof", "use", "var", "void", "while", "with", "yield", "the", "a", "an", "of", "to", "i",
        "j", "k", "x", "y", "n",
    ]
)


@functools.lru_cache(maxsize=262_144)
def line_parts(line: str) -> frozenset[str]:
    """:func:`identifier_parts` of one line, cached: the same lines recur across edits and requests."""
    return frozenset(identifier_parts(line))


def identifier_parts(text: str) -> set[str]:
    """The lower-cased parts of every identifier in ``text``, without stopwords."""
    parts: set[str] = set()
    for word in _WORD.findall(text):
        for chunk in word.split("_"):
            if not chunk:
                continue
            for part in _PARTS.findall(chunk):
                lowered = part.lower()
                if len(lowered) > 1 and lowered not in STOPWORDS:
                    parts.add(lowered)
    return parts


def jaccard(shared: npt.NDArray[np.int64], size: int, sizes: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
    """|a ∩ b| / |a ∪ b| of one set of ``size`` elements against many, from the sizes alone: ``shared[i]``
    is how many elements it has in common with the ``i``-th, of ``sizes[i]`` elements; 0 where both are empty.

    Sizes rather than sets, because the snippet finder counts shared parts for every window at once through
    an inverted index and never builds the windows' sets again."""
    union = size + sizes - shared
    scores: npt.NDArray[np.float64] = shared / union.clip(min=1)
    return scores
