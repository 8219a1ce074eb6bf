"""Whether the cursor sits where a multi-line suggestion makes sense.

Multi-line suggestions are offered only where the cursor opens an empty block: on a blank line under a block
opener (``:`` in Python, ``{`` in the C family, ``{`` or ``=>`` in JavaScript and TypeScript) whose body is
still empty, or right after such an opener at the end of its line. Anywhere else a long suggestion mostly
duplicates code that is already there. The opener is found by text and, where a grammar ships, confirmed in
the syntax tree, so that a ``{`` inside a string or a ``:`` ending a dict key or a lambda does not count.
"""

from __future__ import annotations

import tree_sitter

from splice.postprocess.indentation import (
    CLOSERS,
    QUOTES,
    TAB_COLUMNS,
    block_openers,
    ends_with_opener,
    first_line,
    indent_columns,
    last_line,
    next_nonblank_lines,
)
from splice.postprocess.syntax import document_window, window_tree

# Python nodes whose ``:`` opens an indented block (a dict pair, slice, lambda or annotation does not).
_PYTHON_BLOCK_NODES = frozenset({
    "function_definition", "class_definition", "if_statement", "elif_clause", "else_clause",
    "for_statement", "while_statement", "with_statement", "try_statement", "except_clause",
    "except_group_clause", "finally_clause", "match_statement", "case_clause",
})
_PYTHON_BLOCK_KEYWORDS = frozenset({
    "def", "async", "class", "if", "elif", "else", "for", "while", "with", "try", "except", "finally",
    "match", "case",
})


def is_multiline_position(prefix: str, suffix: str, language: str) -> bool:
    """Whether a suggestion at the end of ``prefix`` may span several lines."""
    before = last_line(prefix)
    after = first_line(suffix)
    # Text after the cursor on its line means the suggestion completes that line; auto-closed brackets and
    # quotes are the exception, since the editor typed them, not the user.
    if after.strip(" \t" + CLOSERS + QUOTES):
        return False
    if before.strip():
        opener_line, opener_end = before, len(prefix)
    else:
        line_end = _previous_nonblank_end(prefix)
        if line_end is None:
            return False
        opener_line = prefix[prefix.rfind("\n", 0, line_end) + 1 : line_end]
        opener_end = line_end
    if not _opens_block(prefix, suffix, language, opener_line, opener_end):
        return False
    if after.strip():
        return True  # the block's closer sits on the cursor's line, so its body is empty
    following = next_nonblank_lines(suffix, 1)
    # An empty body: the next code is no deeper than the opener (its closer, or the next statement).
    return not following or indent_columns(following[0], TAB_COLUMNS) <= indent_columns(
        opener_line, TAB_COLUMNS
    )


def _previous_nonblank_end(prefix: str) -> int | None:
    """Offset in ``prefix`` of the end of the last non-blank line above the cursor's line."""
    end = prefix.rfind("\n")
    while end >= 0:
        start = prefix.rfind("\n", 0, end) + 1
        if prefix[start:end].strip():
            return end
        end = start - 1
    return None


def _opens_block(prefix: str, suffix: str, language: str, line: str, line_end: int) -> bool:
    """Whether ``line``, ending at offset ``line_end`` of ``prefix``, ends with a block opener."""
    if not any(opener in line for opener in block_openers(language)):
        return False  # no opener anywhere on the line: nothing for the tree to confirm, so no parse
    window = document_window(prefix, suffix)
    tree = window_tree(language, window.source())
    window_start = len(prefix) - len(window.before)
    if tree is None or line_end - len(line) < window_start:
        # No grammar, or the opener sits above the window (after a long run of blank lines): text only.
        return ends_with_opener(line, language)
    line_start_byte = len(prefix[window_start : line_end - len(line)].encode())
    token = _last_code_token(tree, line, line_start_byte)
    if token is None or token.type not in block_openers(language):
        return False
    if language != "python":
        return True
    parent = token.parent
    if parent is None:
        return False
    if parent.type in _PYTHON_BLOCK_NODES:
        return True
    # Incomplete code above can leave the statement inside an ERROR node; trust its keyword then.
    words = line.split(maxsplit=1)
    return parent.is_error and bool(words) and words[0] in _PYTHON_BLOCK_KEYWORDS


def _last_code_token(tree: tree_sitter.Tree, line: str, line_start_byte: int) -> tree_sitter.Node | None:
    """The last token of ``line`` (starting at ``line_start_byte``) that is not a trailing comment."""
    text = line
    while True:
        code = text.rstrip()
        if not code:
            return None
        end_byte = line_start_byte + len(code.encode())
        node = tree.root_node.descendant_for_byte_range(end_byte - 1, end_byte)
        if node is None or node.type != "comment" or node.start_byte < line_start_byte:
            return node
        text = line.encode()[: node.start_byte - line_start_byte].decode(errors="ignore")
