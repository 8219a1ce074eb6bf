"""How deep a line sits, and which line endings open a block, measured the same way by every processor.

Indentation is compared in columns, with a tab worth one indent unit (the document's own unit width, or
:data:`TAB_COLUMNS` in a tab-indented document), so that a processor never has to care whether a file uses
tabs or spaces. Block openers are textual (``:`` in Python, ``{`` elsewhere, ``=>`` in JavaScript and
TypeScript): processors that need certainty confirm them against the syntax tree (see :mod:`.mode`).
"""

from __future__ import annotations

# Columns a tab stands for when the document itself indents with tabs.
TAB_COLUMNS = 4

_PYTHON_OPENERS = (":",)
_BRACE_OPENERS = ("{",)
_ARROW_OPENERS = ("{", "=>")
_ARROW_LANGUAGES = frozenset({"javascript", "javascriptreact", "typescript", "typescriptreact"})

CLOSERS = ")]}"
QUOTES = "\"'`"


def unit_columns(indent_unit: str) -> int:
    """Width of one indent level in columns; a tab unit counts as :data:`TAB_COLUMNS`."""
    if not indent_unit or "\t" in indent_unit:
        return TAB_COLUMNS
    return len(indent_unit)


def leading_whitespace(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def columns(whitespace: str, tab_columns: int) -> int:
    """Width of a run of leading whitespace, a tab counting ``tab_columns``."""
    if "\t" not in whitespace:
        return len(whitespace)
    return len(whitespace) + whitespace.count("\t") * (tab_columns - 1)


def indent_columns(line: str, tab_columns: int) -> int:
    return columns(leading_whitespace(line), tab_columns)


def render_indent(width: int, indent_unit: str) -> str:
    """Leading whitespace ``width`` columns wide in the document's style (tabs, then alignment spaces)."""
    if "\t" in indent_unit:
        tabs, spaces = divmod(width, TAB_COLUMNS)
        return "\t" * tabs + " " * spaces
    return " " * width


def block_openers(language: str) -> tuple[str, ...]:
    """Line endings that open an indented block in ``language`` (braces for languages not listed)."""
    if language == "python":
        return _PYTHON_OPENERS
    if language in _ARROW_LANGUAGES:
        return _ARROW_OPENERS
    return _BRACE_OPENERS


def ends_with_opener(line: str, language: str) -> bool:
    """Whether ``line`` (ignoring trailing whitespace) ends with a block opener, by text alone."""
    return line.rstrip().endswith(block_openers(language))


def last_line(text: str) -> str:
    """The text after the last newline: for a prefix, the cursor's line up to the cursor."""
    return text[text.rfind("\n") + 1 :]


def first_line(text: str) -> str:
    """The text before the first newline: for a suffix, the rest of the cursor's line."""
    end = text.find("\n")
    return text if end < 0 else text[:end]


def previous_nonblank_line(prefix: str) -> str | None:
    """The last non-blank line before the cursor's line, scanning back without splitting the document."""
    end = prefix.rfind("\n")
    while end >= 0:
        start = prefix.rfind("\n", 0, end) + 1
        line = prefix[start:end]
        if line.strip():
            return line
        end = start - 1
    return None


def next_nonblank_lines(suffix: str, count: int) -> list[str]:
    """Up to ``count`` non-blank lines after the cursor's line, without splitting the whole document."""
    lines: list[str] = []
    start = suffix.find("\n")
    while start >= 0 and len(lines) < count:
        end = suffix.find("\n", start + 1)
        line = suffix[start + 1 :] if end < 0 else suffix[start + 1 : end]
        if line.strip():
            lines.append(line)
        start = end
    return lines


def is_closing_line(line: str) -> bool:
    """A line that starts with a closing bracket, such as ``}`` or ``) -> None:``."""
    stripped = line.lstrip()
    return bool(stripped) and stripped[0] in CLOSERS
