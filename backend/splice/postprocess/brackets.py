"""Brackets in a piece of code, skipping those inside strings and comments.

Suggestions are fragments, so a full parse cannot say which bracket closes which; a small lexer can. It
knows the string and comment forms of the supported languages closely enough for counting (triple-quoted
strings and ``#`` comments in Python, ``//`` and ``/* */`` elsewhere, backtick strings in JavaScript,
TypeScript and Go, Rust lifetimes that look like unterminated character literals) and nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator

_PAIRS = {")": "(", "]": "[", "}": "{"}
_OPENING = "([{"
_BACKTICK_LANGUAGES = frozenset({"javascript", "javascriptreact", "typescript", "typescriptreact", "go"})


def bracket_tokens(text: str, language: str) -> Iterator[tuple[int, str]]:
    """Offsets and characters of the brackets in ``text`` that are code, not string or comment."""
    python = language == "python"
    quotes = "\"'`" if language in _BACKTICK_LANGUAGES else "\"'"
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "([{)]}":
            yield i, char
            i += 1
        elif (python and char == "#") or (not python and text.startswith("//", i)):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif not python and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif char in quotes:
            i = _string_end(text, i, python)
        else:
            i += 1


def _string_end(text: str, start: int, python: bool) -> int:
    """Offset just past the string literal opening at ``start`` (end of line if it never closes)."""
    quote = text[start]
    if python and text.startswith(quote * 3, start):
        end = text.find(quote * 3, start + 3)
        return len(text) if end < 0 else end + 3
    if quote == "'" and not python and not _is_char_literal(text, start):
        return start + 1  # a Rust lifetime or label such as 'a, not a string
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == quote:
            return i + 1
        if char == "\n" and quote != "`":
            return i
        i += 1
    return len(text)


def _is_char_literal(text: str, start: int) -> bool:
    # A character literal closes within a couple of characters ('a', '\n', '\x41', '\u{1F600}').
    window = text[start + 1 : start + 12]
    if window.startswith("\\"):
        return "'" in window[2:]
    return window[1:2] == "'"


def line_depths(text: str, language: str, kinds: str = "([{") -> list[int]:
    """Depth at the start of each line of ``text`` in the brackets ``kinds`` (opening forms), counted from
    the start of ``text``: closers of brackets opened before it make it negative."""
    line_starts = _line_starts(text)
    depths = [0]
    depth = 0
    counted = set(kinds) | {closer for closer, opener in _PAIRS.items() if opener in kinds}
    for offset, char in bracket_tokens(text, language):
        if char not in counted:
            continue
        while len(depths) < len(line_starts) and line_starts[len(depths)] <= offset:
            depths.append(depth)
        depth += 1 if char in _OPENING else -1
    while len(depths) < len(line_starts):
        depths.append(depth)
    return depths


def _line_starts(text: str) -> list[int]:
    starts = [0]
    index = text.find("\n")
    while index >= 0:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    return starts


def unclosed_openers(text: str, language: str) -> str:
    """The opening brackets ``text`` leaves open, outermost first: ``"f(a, [b"`` gives ``"(["``."""
    stack: list[str] = []
    for _, char in bracket_tokens(text, language):
        if char in _OPENING:
            stack.append(char)
        elif stack and stack[-1] == _PAIRS[char]:
            stack.pop()
    return "".join(stack)


def closers_for(openers: str) -> str:
    """The closing brackets that close ``openers``, innermost first."""
    closing = {opener: closer for closer, opener in _PAIRS.items()}
    return "".join(closing[opener] for opener in reversed(openers))


def unmatched_closers(text: str, language: str) -> str:
    """The closing brackets in ``text`` that close something opened before it, in order: ``"1), 2)"`` gives
    ``"))"``."""
    stack: list[str] = []
    unmatched: list[str] = []
    for _, char in bracket_tokens(text, language):
        if char in _OPENING:
            stack.append(char)
        elif stack and stack[-1] == _PAIRS[char]:
            stack.pop()
        elif not stack:
            unmatched.append(char)
    return "".join(unmatched)
