"""Lexical code tokens for the embedded engine, and the vocabulary that numbers them.

A regex lexer rather than the BPE tokenizer: identifiers, numbers, string literals and operators are the
units code repeats, and keeping each token's leading spaces inside the token (`` =``, ``(``) lets a token
sequence be joined back into the exact source text. Line structure is encoded as one token per line break
that carries the *change* of indentation (``"\\n+4"``, ``"\\n0"``, ``"\\n-8"``), so the same code at a
different nesting depth still matches, and blank lines are dropped so a stray empty line does not break a
match. Whole-line comments and the inside of triple-quoted strings are prose, unique text that would cut
every context match short, so they are dropped too (a docstring's opening line stays: it says "a docstring
starts here"). Lexing a line is cached by its text: between keystrokes almost every line of a document is
unchanged, which is what makes re-lexing a 5,000-line document a few milliseconds.
"""

from __future__ import annotations

import keyword
import re
import threading
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

TokenArray = npt.NDArray[np.int32]

# One token: optional inline whitespace, then a comment, string literal, word, number, operator or any
# other single character. The alternatives cover every character, so joining tokens reproduces the line.
_TOKEN = re.compile(
    r"""[ \t]*(?:
        \#.*                                   # comment to end of line
      | (?:[rRbBuUfF]{1,2})?"(?:[^"\\]|\\.)*"  # double-quoted string on one line
      | (?:[rRbBuUfF]{1,2})?'(?:[^'\\]|\\.)*'  # single-quoted string on one line
      | [A-Za-z_\u00c0-\uffff][\w]*            # identifier or keyword
      | \d[\w.]*                               # number
      | \*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%&|^@=!<>]=|\.\.\.|::|&&|\|\||\+\+|--  # compound operators
      | \S                                     # anything else, one character
      | [ \t]+$                                # trailing whitespace
    )""",
    re.VERBOSE,
)

# Whole-line comments are prose: unique text that would cut every context match short, so they are
# dropped like blank lines. ``#include``-style directives are code and stay.
_COMMENT_LINE = re.compile(r"#(?:[ !#:]|$)|//")

SEPARATOR = 0  # between files in a concatenated corpus; never equal to a real token
_SEPARATOR_TEXT = "\x00<sep>"
_LINE_CACHE_LIMIT = 400_000


def newline_text(delta: int) -> str:
    """The token text of a line break whose next line is indented ``delta`` columns more."""
    return f"\n{delta:+d}" if delta else "\n0"


def indentation_width(line: str) -> int:
    """Columns of leading whitespace, tabs counted as four."""
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4
        else:
            break
    return width


class Vocabulary:
    """Interns token texts as small integers, shared by every corpus so ids compare across them.

    Lookups of known tokens take no lock; a miss takes one so two threads never give one text two ids.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {_SEPARATOR_TEXT: SEPARATOR}
        self._texts: list[str] = [_SEPARATOR_TEXT]
        self._newline: list[bool] = [False]
        self._deltas: list[int] = [0]
        self._words: list[bool] = [False]
        self._lock = threading.Lock()
        self._line_cache: dict[str, tuple[int, ...]] = {}
        self._raw_cache: dict[str, tuple[int, tuple[int, ...]] | None] = {}
        self._break_ids: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._texts)

    def snapshot(self) -> tuple[list[str], list[bool], list[int], list[bool]]:
        """Every token text in id order with its flags (line break, indentation change, name): what a stored
        project index needs to read its token ids back."""
        with self._lock:
            return list(self._texts), list(self._newline), list(self._deltas), list(self._words)

    @classmethod
    def restored(cls, texts: list[str], newline: list[bool], deltas: list[int], words: list[bool]) -> Vocabulary:
        """A vocabulary giving exactly the ids of a :meth:`snapshot`; ValueError when it cannot be one."""
        if not texts or texts[SEPARATOR] != _SEPARATOR_TEXT or not len(texts) == len(newline) == len(deltas) \
                == len(words):
            raise ValueError("not a vocabulary snapshot")
        vocab = cls()
        vocab._ids = {text: number for number, text in enumerate(texts)}
        if len(vocab._ids) != len(texts):
            raise ValueError("a token text appears twice")
        vocab._texts, vocab._newline, vocab._deltas, vocab._words = texts, newline, deltas, words
        return vocab

    def boundary_mask(self) -> npt.NDArray[np.bool_]:
        """Per token id, whether the token opens a piece of a corpus (a line break or the file separator)."""
        with self._lock:
            mask = np.asarray(self._newline, dtype=np.bool_)
        mask[SEPARATOR] = True
        return mask

    def intern(self, text: str) -> int:
        """The id of ``text``, assigning one on first sight."""
        found = self._ids.get(text)
        if found is not None:
            return found
        with self._lock:
            found = self._ids.get(text)
            if found is None:
                found = len(self._texts)
                self._texts.append(text)
                is_newline = text.startswith("\n")
                self._newline.append(is_newline)
                self._deltas.append(int(text[1:]) if is_newline else 0)
                bare = text.lstrip(" \t")
                self._words.append(bare.isidentifier() and not keyword.iskeyword(bare))
                self._ids[text] = found
            return found

    def lookup(self, text: str) -> int | None:
        """The id of ``text`` if it has been seen, without assigning one."""
        return self._ids.get(text)

    def text(self, token: int) -> str:
        return self._texts[token]

    def is_newline(self, token: int) -> bool:
        return self._newline[token]

    def is_word(self, token: int) -> bool:
        """Whether ``token`` is a name (an identifier that is not a keyword)."""
        return self._words[token]

    def delta(self, token: int) -> int:
        """The indentation change a line-break token carries (0 for other tokens)."""
        return self._deltas[token]

    def line_tokens(self, content: str) -> tuple[int, ...]:
        """Token ids of one line's content (its text after the indentation), cached by text."""
        cached = self._line_cache.get(content)
        if cached is not None:
            return cached
        tokens = tuple(self.intern(match) for match in _TOKEN.findall(content))
        if len(self._line_cache) >= _LINE_CACHE_LIMIT:
            self._line_cache.clear()
        self._line_cache[content] = tokens
        return tokens

    def line_stream(self, lines: Iterable[str], base_indent: int = 0) -> Iterable[tuple[int, ...]]:
        """Per non-blank line, the tuple (line-break token, content tokens...)."""
        previous = base_indent
        raw_cache = self._raw_cache
        breaks = self._break_ids
        in_prose = False
        for line in lines:
            if '"""' in line or "'''" in line:
                opened = in_prose
                if (line.count('"""') + line.count("'''")) % 2:
                    in_prose = not in_prose
                if opened:
                    continue  # the closing line of a docstring
            elif in_prose:
                continue
            try:
                lexed = raw_cache[line]
            except KeyError:
                lexed = self._lex_raw(line)
            if lexed is None:
                continue
            width, content = lexed
            delta = width - previous
            token = breaks.get(delta)
            if token is None:
                token = breaks[delta] = self.intern(newline_text(delta))
            yield (token, *content)
            previous = width

    def _lex_raw(self, line: str) -> tuple[int, tuple[int, ...]] | None:
        """A raw line's indentation and content tokens (None for blank and comment lines), cached."""
        stripped = line.lstrip(" \t")
        lexed = None
        if stripped and not _COMMENT_LINE.match(stripped):
            lexed = (indentation_width(line), self.line_tokens(stripped.rstrip()))
        if len(self._raw_cache) >= _LINE_CACHE_LIMIT:
            self._raw_cache.clear()
        self._raw_cache[line] = lexed
        return lexed

    def join(self, tokens: Iterable[int]) -> str:
        """The source text of content tokens (no line breaks among them)."""
        return "".join(self._texts[token] for token in tokens)
