"""Removing the part of a suggestion that the code after the cursor already contains.

Models trained on fill-in-the-middle often write a little past the hole: the closing ``)`` the editor
already inserted, or the line below the cursor. Three cases are handled. Trailing lines of a multi-line
suggestion that equal the lines after the cursor's line are trimmed (and the suggestion dropped if nothing
is left). A suggestion that completes the cursor's line into a copy of the next non-blank line is dropped.
And when the suggestion ends with the rest of the cursor's line, or closes the brackets and quotes the rest
of the line consists of, ``replace_suffix`` is set so the editor overwrites those characters instead of
doubling them.
"""

from __future__ import annotations

from dataclasses import replace

from splice.postprocess.base import CompletionContext, DropSuggestion, Suggestion
from splice.postprocess.brackets import unmatched_closers
from splice.postprocess.indentation import CLOSERS, QUOTES, first_line, last_line, next_nonblank_lines


def dedupe_suffix(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Trim or drop what repeats the suffix, and overwrite the rest of the line the suggestion retypes."""
    before = last_line(context.prefix)
    rest = first_line(context.suffix)
    text = suggestion.text
    if "\n" in text and not rest.strip():
        text = _trim_repeated_tail(text, before, context.suffix)
        if not (before + text).strip() or not text.strip():
            raise DropSuggestion("repeats the lines below the cursor")
    if "\n" not in text and text.strip():
        completed = (before + text + rest[suggestion.replace_suffix :]).strip()
        following = next_nonblank_lines(context.suffix, 1)
        if following and completed == following[0].strip():
            raise DropSuggestion("repeats the next line")
    overwrite = max(suggestion.replace_suffix, _retyped_rest(text, rest, context.language))
    if text == suggestion.text and overwrite == suggestion.replace_suffix:
        return suggestion
    return replace(suggestion, text=text, replace_suffix=overwrite)


def _trim_repeated_tail(text: str, before: str, suffix: str) -> str:
    """``text`` without its trailing lines that equal the first lines after the cursor's line."""
    lines = text.split("\n")
    completed = [before + lines[0], *lines[1:]]
    nonblank = [index for index, line in enumerate(completed) if line.strip()]
    following = [line.rstrip() for line in next_nonblank_lines(suffix, len(nonblank))]
    for count in range(min(len(nonblank), len(following)), 0, -1):
        tail = [completed[index].rstrip() for index in nonblank[-count:]]
        if tail == following[:count]:
            return "\n".join(lines[: nonblank[-count]]).rstrip()
    return text


def _retyped_rest(text: str, rest: str, language: str) -> int:
    """How many characters of the rest of the cursor's line ``text`` already types (0 if none)."""
    code = rest.strip()
    if not code:
        return 0
    # Ordinary text after the cursor is overwritten when the suggestion ends with all of it; a bare ``)``
    # at the end proves nothing, since the suggestion may close a bracket of its own.
    if code.strip(CLOSERS + QUOTES) and text.rstrip().endswith(code):
        return len(rest)
    # Otherwise only the brackets and quotes the editor auto-closed at the start of the rest (the ``)`` of
    # ``);``) can be retyped, and only those the suggestion itself closes.
    leading = len(rest) - len(rest.lstrip(" \t" + CLOSERS + QUOTES))
    return _closed_prefix(text, rest[:leading], language) if rest[:leading].strip() else 0


def _closed_prefix(text: str, closers: str, language: str) -> int:
    """Length of the leading part of ``closers`` (brackets and quotes after the cursor) that ``text`` closes
    itself, matching them in order."""
    wanted = [(offset, char) for offset, char in enumerate(closers) if not char.isspace()]
    closing = ""
    if wanted[0][1] in QUOTES:
        # A quote after the cursor was auto-inserted: the cursor is inside that string, and the
        # suggestion's first matching quote ends it.
        quote = wanted[0][1]
        end = text.find(quote)
        if end < 0:
            return 0
        closing = quote
        text = text[end + 1 :]
    closing += unmatched_closers(text, language)
    matched = 0
    for (_, char), closed in zip(wanted, closing, strict=False):
        if char != closed:
            break
        matched += 1
    return 0 if matched == 0 else wanted[matched - 1][0] + 1
