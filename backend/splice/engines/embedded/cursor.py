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
    around = _lexed_around(vocab, head, tail, width)
    match = _PARTIAL_TAIL.search(typed)
    partial = match.group(0) if match else ""
    complete = typed[: len(typed) - len(partial)]
    current_tokens = (vocab.intern(newline_text(width - around.previous_width)),
                      *(vocab.line_tokens(complete) if complete else ()))
    context = np.concatenate((around.before_tokens, np.asarray(current_tokens, dtype=np.int32)))
    after_lines = around.after_lines
    following = np.fromiter(chain.from_iterable(after_lines[:16]), dtype=np.int32)[:following_limit]
    following_line = after_lines[0][1:] if after_lines else ()
    return Cursor(context=context, partial=partial, typed_tokens=len(current_tokens) - 1,
                  following=following, following_line=following_line,
                  previous_lines=tuple(line[1:] for line in around.before_lines[-_NEARBY_LINES:]),
                  indent=indent, line_typed=typed, rest_of_line=rest_of_line, document=around.document,
                  scope=scope_at([*around.head_lines, current], width, around.tail_lines))


@dataclass(frozen=True, eq=False)
class _Around:
    """The lines before and after the current one, lexed: what stays the same while a person types on one
    line, keyed by the texts it was made from."""

    vocab: Vocabulary
    head: str
    tail: str
    width: int
    head_lines: list[str]
    tail_lines: list[str]
    before_lines: list[tuple[int, ...]]
    after_lines: list[tuple[int, ...]]
    before_tokens: TokenArray
    previous_width: int
    document: TokenCorpus


_REMEMBERED = 4  # a few documents' surroundings: the one being typed in, and any the person switches between
_recent: list[_Around] = []


def _lexed_around(vocab: Vocabulary, head: str, tail: str, width: int) -> _Around:
    """The window around the current line, lexed, remembered for the last few windows.

    Typing on one line leaves every other line as it was, yet lexing the 3,500 lines of a long document's
    window, joining them into arrays and building the document's corpus again at every keystroke took about
    a fifth of the engine's time. A repeat is recognised by comparing the texts (a memory comparison, much
    cheaper than hashing them), and the token ids it holds stay valid as long as the vocabulary does."""
    recent = tuple(_recent)
    for rank, around in enumerate(recent):
        if around.vocab is vocab and around.width == width and around.head == head and around.tail == tail:
            if rank:
                _recent[:] = [around, *(other for other in recent if other is not around)]
            return around
    head_lines = head.split("\n") if head else []
    tail_lines = tail.split("\n")
    before_lines = list(vocab.line_stream(head_lines))
    after_lines = list(vocab.line_stream(tail_lines, width))  # none when the cursor is on the last line
    before_tokens = np.fromiter(chain.from_iterable(before_lines), dtype=np.int32,
                                count=sum(map(len, before_lines)))
    around = _Around(vocab=vocab, head=head, tail=tail, width=width, head_lines=head_lines,
                     tail_lines=tail_lines, before_lines=before_lines, after_lines=after_lines,
                     before_tokens=before_tokens, previous_width=_last_indentation(head),
                     document=corpus_from_lines([before_lines, after_lines]))
    # One slice assignment, atomic under the interpreter lock: completions for two documents may run at once.
    _recent[:] = [around, *_recent[:_REMEMBERED - 1]]
    return around


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

