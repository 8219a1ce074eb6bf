"""Cutting runaway repetition, the commonest way a small model fails.

Two shapes are caught. A block of one to :data:`MAX_PERIOD` lines repeated :data:`MIN_LINE_REPEATS` or more
times in a row keeps its first copy only. A short pattern repeated :data:`MIN_INLINE_REPEATS` or more times
within a line (``self.self.self.``, ``foo(foo(foo(``) cuts the suggestion after the pattern's first copy;
what is left is usually incomplete code, which the parse check then rejects. Repeats of a pattern with no
identifier in it (``0, 0, 0, 0, 0``, ``=====``, ``))))``) are left alone: tables, rulers and closing
brackets repeat legitimately.
"""

from __future__ import annotations

import re

from splice.postprocess.base import CompletionContext, Suggestion
from splice.postprocess.indentation import last_line

MAX_PERIOD = 4
MIN_LINE_REPEATS = 3
MIN_INLINE_REPEATS = 5

_INLINE_REPEAT = re.compile(rf"(.{{2,32}}?)\1{{{MIN_INLINE_REPEATS - 1},}}")
# Numbers and escape sequences carry letters (0x1F, \t) but are not identifiers.
_NOT_IDENTIFIER = re.compile(r"\\.|\b(?:0[xXbBoO][0-9a-fA-F_]+|\d[\w.]*)")
_IDENTIFIER_CHAR = re.compile(r"[A-Za-z_]")


def remove_repetition(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Keep the first copy of a repeated block of lines or of a pattern repeated within a line."""
    text = _cut_repeated_lines(suggestion.text, last_line(context.prefix))
    text = _cut_inline_repeat(text)
    return suggestion if text == suggestion.text else suggestion.with_text(text)


def _cut_repeated_lines(text: str, cursor_line: str) -> str:
    # The first line continues the cursor's line; compare it as the whole line it completes.
    lines = text.split("\n")
    lines[0] = cursor_line + lines[0]
    for start in range(len(lines)):
        for period in range(1, MAX_PERIOD + 1):
            block = lines[start : start + period]
            if len(block) < period:
                break
            if not any(line.strip() for line in block):
                continue
            repeats = 1
            while lines[start + repeats * period : start + (repeats + 1) * period] == block:
                repeats += 1
            if repeats >= MIN_LINE_REPEATS:
                return "\n".join(lines[: start + period])[len(cursor_line) :]
    return text


def _cut_inline_repeat(text: str) -> str:
    for match in _INLINE_REPEAT.finditer(text):
        pattern = match.group(1)
        if "\n" in pattern or not _IDENTIFIER_CHAR.search(_NOT_IDENTIFIER.sub("", pattern)):
            continue
        return text[: match.start() + len(pattern)]
    return text
