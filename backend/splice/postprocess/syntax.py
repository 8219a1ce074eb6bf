"""Syntax trees of the region around the cursor, cheap enough to build for every suggestion.

Parsing a whole 6,000-line file costs tens of milliseconds, too much to spend on each candidate. A suggestion
can only change the syntax of the definition it lands in, so processors parse a :class:`Window`: from the
start of the enclosing definition (the nearest line above the cursor, within :data:`MAX_LINES_BEFORE`, at
the shallowest indentation found) down to the next line at that depth, bounded by :data:`MAX_LINES_AFTER`.
A window of a couple of hundred lines parses in well under a millisecond. Recent trees are cached, since
several candidates for one request (and several processors for one candidate) share the same window.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import tree_sitter

from splice.languages import parser
from splice.postprocess.indentation import CLOSERS, TAB_COLUMNS, indent_columns

MAX_LINES_BEFORE = 150
MAX_LINES_AFTER = 60

# A label (``retry:``, ``public:``) rather than the start of a definition. Python has no labels; of its
# one-word block lines only ``try:`` starts a statement (``else:`` and ``finally:`` are continuations).
_LABEL = re.compile(r"(?!try\b)[A-Za-z_]\w*\s*:(?!:)\s*(?:$|//|/\*)")

# Lines that continue a statement or body begun above them: a window must not start on one. C++ access
# specifiers and switch labels sit at the left margin inside a body.
_CONTINUATIONS = frozenset({
    "else", "elif", "except", "finally", "catch", "public", "private", "protected", "case", "default",
})


@dataclass(frozen=True)
class Window:
    """The document text around the cursor: ``before`` ends at the cursor, ``after`` starts there."""

    before: str
    after: str

    @property
    def cursor_byte(self) -> int:
        return len(self.before.encode())

    def source(self, insertion: str = "", replace_suffix: int = 0) -> str:
        """The window's text with ``insertion`` at the cursor, overwriting ``replace_suffix`` characters."""
        return self.before + insertion + self.after[replace_suffix:]


def document_window(prefix: str, suffix: str, scale: int = 1) -> Window:
    """The region of the document that a suggestion at the cursor can affect; ``scale`` widens the bounds
    for a second look when the first window turned out not to be self-contained."""
    global _last_window
    last = _last_window
    # The mode decision and every candidate of one request ask for the same window of the same strings;
    # identity (not equality) keeps the check free. Only the event loop's thread runs processors.
    if last is not None and last[0] is prefix and last[1] is suffix and last[2] == scale:
        return last[3]
    start, start_indent = _window_start(prefix, MAX_LINES_BEFORE * scale)
    end = _window_end(suffix, start_indent, MAX_LINES_AFTER * scale)
    window = Window(before=prefix[start:], after=suffix[:end])
    _last_window = (prefix, suffix, scale, window)
    return window


_last_window: tuple[str, str, int, Window] | None = None


def _is_starter(line: str) -> bool:
    stripped = line.lstrip()
    if not stripped or stripped[0] in CLOSERS:
        return False
    word = stripped.split(maxsplit=1)[0].rstrip(":{(")
    return word not in _CONTINUATIONS and not _LABEL.match(stripped)


def _window_start(prefix: str, max_lines: int) -> tuple[int, int]:
    """Offset in ``prefix`` of the line the window starts on, and that line's indentation."""
    line_end = len(prefix)
    line_start = prefix.rfind("\n") + 1
    best: tuple[int, int] | None = None
    for _ in range(max_lines):
        line_start = prefix.rfind("\n", 0, line_end) + 1
        line = prefix[line_start:line_end]
        if _is_starter(line):
            indent = indent_columns(line, TAB_COLUMNS)
            # The nearest line at each shallower depth starts a definition enclosing the cursor.
            if best is None or indent < best[1]:
                best = (line_start, indent)
                if indent == 0:
                    return best
        if line_start == 0:
            return 0, 0  # the top of the file: everything above the cursor fits
        line_end = line_start - 1
    return best if best is not None else (line_start, 0)


def _window_end(suffix: str, start_indent: int, max_lines: int) -> int:
    """Offset in ``suffix`` where the window stops: the next definition at the window's starting depth."""
    line_start = suffix.find("\n") + 1
    if line_start == 0:
        return len(suffix)
    # The first statement after the cursor always belongs to the window: what is inserted can change how
    # it parses (a decorator needs the definition below it, an ``if`` the ``else`` after it).
    first_statement = True
    for _ in range(max_lines):
        line_end = suffix.find("\n", line_start)
        line = suffix[line_start:] if line_end < 0 else suffix[line_start:line_end]
        if line.strip():
            indent = indent_columns(line, TAB_COLUMNS)
            # A closer at the starting depth closes the window's own block and belongs to it; one further
            # out closes something the window never opened.
            ends = indent < start_indent or (indent == start_indent and _is_starter(line))
            if ends and not (first_statement and indent >= start_indent):
                return line_start
            if ends:
                start_indent = indent
            # Decorators and annotations belong to the definition they precede.
            first_statement = line.lstrip().startswith("@")
        if line_end < 0:
            return len(suffix)
        line_start = line_end + 1
    return line_start


def parse(language: str, source: str) -> tree_sitter.Tree | None:
    """The syntax tree of ``source``, or None where ``language`` has no grammar."""
    language_parser = parser(language)
    if language_parser is None:
        return None
    return language_parser.parse(source.encode())


@functools.lru_cache(maxsize=32)
def window_tree(language: str, source: str) -> tree_sitter.Tree | None:
    """:func:`parse`, remembering recent windows (every candidate for a request shares one) and candidates
    (the mid-line step and the parse check parse the same insertion)."""
    return parse(language, source)


def edited_tree(language: str, window: Window, insertion: str, replace_suffix: int = 0) -> tree_sitter.Tree | None:
    """The tree of ``window`` with ``insertion`` at the cursor overwriting ``replace_suffix`` characters,
    re-parsed from the window's own tree (:func:`window_tree`): tree-sitter then re-reads only what the
    edit touched, about a seventh of a fresh parse, and the result is the tree a fresh parse would give.
    Remembered like :func:`window_tree`, since the mid-line step and the parse check ask for the same one."""
    return _edited_tree(language, window, insertion, replace_suffix)


@functools.lru_cache(maxsize=32)
def _edited_tree(language: str, window: Window, insertion: str, replace_suffix: int) -> tree_sitter.Tree | None:
    base = window_tree(language, window.source())
    language_parser = parser(language)
    if base is None or language_parser is None:
        return None
    start = window.cursor_byte
    removed = window.after[:replace_suffix]
    tree = base.copy()  # the window's tree stays as it is for the next candidate
    tree.edit(start_byte=start, old_end_byte=start + len(removed.encode()),
              new_end_byte=start + len(insertion.encode()), start_point=_end_point(window.before),
              old_end_point=_end_point(window.before + removed),
              new_end_point=_end_point(window.before + insertion))
    return language_parser.parse(window.source(insertion, replace_suffix).encode(), tree)


def _end_point(text: str) -> tuple[int, int]:
    """The (row, byte column) where ``text`` ends, as tree-sitter counts positions."""
    line_start = text.rfind("\n") + 1
    return text.count("\n"), len(text[line_start:].encode())


def error_count(node: tree_sitter.Node) -> int:
    """ERROR and MISSING nodes under ``node`` (see :func:`error_spans`)."""
    return len(error_spans(node))


def error_spans(node: tree_sitter.Node) -> list[tuple[int, int]]:
    """Byte ranges of the ERROR and MISSING nodes under ``node``, descending only into subtrees that hold one.

    A MISSING token of a hidden rule (Python's ``_newline`` between two statements run together on one
    line) is not among its parent's ``children``: a node that has an error none of its children shows
    counts as one error site itself, or ``return a()return b`` would pass as error-free."""
    spans = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            spans.append((current.start_byte, current.end_byte))
        if current.has_error:
            children = current.children
            if not current.is_error and not any(c.has_error or c.is_error or c.is_missing for c in children):
                spans.append((current.start_byte, current.end_byte))
            stack.extend(children)
    return spans


def enclosing_brace_block(tree: tree_sitter.Tree, cursor_byte: int) -> tree_sitter.Node | None:
    """The innermost ``{ ... }`` node whose opening brace lies before ``cursor_byte`` and which contains
    the cursor, or which the parser closed with an invented brace before reaching it."""
    found = None
    node: tree_sitter.Node | None = tree.root_node
    # Walk down the path of last children starting before the cursor: a block closed by a MISSING brace
    # ends where its text ends, before trailing whitespace, so it need not span the cursor.
    while node is not None:
        children = node.children
        if (
            len(children) >= 2
            and children[0].type == "{"
            and children[0].end_byte <= cursor_byte
            and (node.end_byte > cursor_byte or children[-1].is_missing)
        ):
            found = node
        node = next((child for child in reversed(children) if child.start_byte < cursor_byte), None)
    return found


def is_closed_block(block: tree_sitter.Node) -> bool:
    """Whether ``block`` ends with a real closing brace rather than one the parser had to invent."""
    last = block.children[-1]
    return last.type == "}" and not last.is_missing
