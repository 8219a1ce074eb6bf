"""What the engine knows at the cursor, in tokens: the context before it, the code after it, and the part of
the current line already typed.

The last word of the current line may be half typed (``sel`` of ``self``), and a trailing space may or may
not belong to the next token; neither is a token the corpus contains. Such a tail is held back as
``partial`` text that every candidate must start with, and the context stops before it. The current line's
break token carries its indentation change, so a cursor at the start of an indented line already says
"a line one level deeper than the last". The cursor also carries the enclosing function's ``scope`` (the
names the line is likely to use) and the last few lines, which ranking compares candidates with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain

import numpy as np

from splice.engines.embedded.corpus import TokenCorpus, corpus_from_lines
from splice.engines.embedded.lexer import TokenArray, Vocabulary, indentation_width, newline_text
from splice.engines.embedded.scope import Scope, scope_at

_PARTIAL_TAIL = re.compile(r"(?:[ \t]*[\w]+|[ \t]+)$")
_NEARBY_LINES = 3


@dataclass(frozen=True, eq=False)
class Cursor:
    """The cursor's surroundings as token arrays."""

    context: TokenArray  # tokens before the cursor, ending with the complete tokens of the current line
    partial: str  # typed text of the current line after the last complete token
    typed_tokens: int  # complete tokens typed on the current line (the context's tail after its break)
    following: TokenArray  # tokens after the current line: its successor's line break first
    following_line: tuple[int, ...]  # content tokens of the next non-blank line
    previous_lines: tuple[tuple[int, ...], ...]  # content tokens of the last few lines, nearest last
    indent: str  # the current line's leading whitespace
    line_typed: str  # the current line's text after its indentation
    rest_of_line: str  # text after the cursor on the current line
    document: TokenCorpus  # the live document without the current line, as a corpus
    scope: Scope  # names the enclosing function makes likely at the cursor


def cursor_from_text(
    vocab: Vocabulary, prefix: str, suffix: str, *, following_limit: int = 64, lines_before: int = 2500,
    lines_after: int = 1000,
) -> Cursor:
    """Tokenize the document around the cursor, within a window of lines on either side.

    The window bounds the cost on very long documents; the project level still covers the rest of the code.
    """
    head, _, current = prefix.rpartition("\n")
    rest_of_line, _, tail = suffix.partition("\n")
    head = _last_lines(head, lines_before)
    tail = _first_lines(tail, lines_after)
    indent = current[: len(current) - len(current.lstrip(" \t"))]
    typed = current[len(indent):]
    width = indentation_width(current)
    head_lines = head.split("\n") if head else []
    tail_lines = tail.split("\n")
    before_lines = list(vocab.line_stream(head_lines))
    previous_width = _last_indentation(head)
    match = _PARTIAL_TAIL.search(typed)
    partial = match.group(0) if match else ""
    complete = typed[: len(typed) - len(partial)]
    current_tokens = (vocab.intern(newline_text(width - previous_width)),
                      *(vocab.line_tokens(complete) if complete else ()))
    context = np.fromiter(chain.from_iterable(before_lines), dtype=np.int32,
                          count=sum(map(len, before_lines)))
    context = np.concatenate((context, np.asarray(current_tokens, dtype=np.int32)))

    after_lines = list(vocab.line_stream(tail_lines, width)) if suffix.count("\n") else []
    following = np.fromiter(chain.from_iterable(after_lines[:16]), dtype=np.int32)[:following_limit]
    following_line = after_lines[0][1:] if after_lines else ()
    document = corpus_from_lines([before_lines, after_lines])
    return Cursor(context=context, partial=partial, typed_tokens=len(current_tokens) - 1,
                  following=following, following_line=following_line,
                  previous_lines=tuple(line[1:] for line in before_lines[-_NEARBY_LINES:]),
                  indent=indent, line_typed=typed, rest_of_line=rest_of_line, document=document,
                  scope=scope_at([*head_lines, current], width, tail_lines))


def _last_lines(text: str, count: int) -> str:
    """The last ``count`` lines of ``text``, found by one split at C speed rather than ``count`` searches."""
    if text.count("\n") < count:
        return text
    return text[len(text.rsplit("\n", count)[0]) + 1:]


def _first_lines(text: str, count: int) -> str:
    """The first ``count`` lines of ``text``."""
    if text.count("\n") < count:
        return text
    return text[:len(text) - len(text.split("\n", count)[-1]) - 1]


def _last_indentation(text: str) -> int:
    """Indentation of the last non-blank line of ``text`` (0 when there is none)."""
    end = len(text)
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end]
        if line.strip():
            return indentation_width(line)
        end = start - 1
    return 0

