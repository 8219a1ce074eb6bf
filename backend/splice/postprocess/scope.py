"""Truncating a multi-line suggestion to the block the cursor is in.

A model asked to fill an empty block rarely stops at its end: it closes the block and writes the next
function too. The suggestion is cut at the first line that would leave the cursor's block: a line indented
less than the block's body, or a line starting with a closing bracket that closes the block itself. Lines
inside brackets the suggestion opened are exempt, since continuation lines may sit anywhere. A closing line
is kept only when the document does not already close the block, judged by indentation and, where a
grammar ships, confirmed in the syntax tree. At most :data:`MAX_LINES` lines survive.
"""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, Suggestion
from splice.postprocess.brackets import line_depths
from splice.postprocess.indentation import (
    CLOSERS,
    ends_with_opener,
    first_line,
    indent_columns,
    is_closing_line,
    last_line,
    leading_whitespace,
    next_nonblank_lines,
    unit_columns,
)
from splice.postprocess.syntax import document_window, enclosing_brace_block, is_closed_block, window_tree

MAX_LINES = 20


def truncate_to_scope(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Cut a multi-line suggestion where it would leave the cursor's block."""
    text = suggestion.text
    if not context.multiline or "\n" not in text:
        return suggestion
    width = unit_columns(context.indent_unit)
    lines = text.split("\n")
    before = last_line(context.prefix)
    body = indent_columns(before + lines[0], width)
    if not lines[0].strip() and ends_with_opener(before, context.language):
        body += width  # the cursor sits right after an opener: the suggestion fills that block
    kept = _kept_lines(lines, body, width, context)
    result = "\n".join(lines[:kept])
    rest = first_line(context.suffix)
    if not rest.strip():
        # The suffix already holds the cursor line's end; trailing blank lines would only add space.
        result = result.rstrip()
    elif kept < len(lines) and is_closing_line(lines[kept]):
        # The block's closer sits on the cursor's line (``{|}``): end on the line the model gave it.
        result = result.rstrip() + "\n" + leading_whitespace(lines[kept])
    return suggestion if result == text else suggestion.with_text(result)


def _kept_lines(lines: list[str], body: int, width: int, context: CompletionContext) -> int:
    """How many of ``lines`` stay inside the block whose body is indented ``body`` columns."""
    depths = line_depths("\n".join(lines), context.language)
    for index in range(1, len(lines)):
        line = lines[index]
        if index >= MAX_LINES:
            return index
        if depths[index] < 0:
            return index  # a closer earlier on the previous lines already left the block
        if not line.strip() or depths[index] > 0:
            continue
        if is_closing_line(line):
            return index if _document_closes_block(context, body, width) else index + 1
        if indent_columns(line, width) < body:
            return index
    return len(lines)


def _document_closes_block(context: CompletionContext, body: int, width: int) -> bool:
    """Whether the code after the cursor already closes the block the cursor is in."""
    if any(char in CLOSERS for char in first_line(context.suffix)):
        return True
    following = next_nonblank_lines(context.suffix, 1)
    by_indentation = bool(following) and is_closing_line(following[0]) and (
        indent_columns(following[0], width) < body
    )
    if not by_indentation or context.language == "python":
        return by_indentation
    window = document_window(context.prefix, context.suffix)
    tree = window_tree(context.language, window.source())
    if tree is None:
        return by_indentation
    block = enclosing_brace_block(tree, window.cursor_byte)
    return block is None or is_closed_block(block)
