"""Re-indenting a suggestion to the document's own indentation style.

Two mistakes are corrected. A model that saw the cursor's line already indented sometimes indents its first
line again; the duplicate is removed so the line lands at the depth the code above implies. And a model may
indent its continuation lines in its own habit (two spaces where the file uses four, tabs where it uses
spaces); those lines are rewritten in ``context.indent_unit``. The model's unit is taken from the steps it
makes after a line ending in an opener, each of which is one level, and lines are rescaled relative to the
cursor's line only when every one of them sits a whole number of model levels from it, so hanging alignment
(``foo(a,\\n    b)``) is never disturbed.
"""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, Suggestion
from splice.postprocess.brackets import line_depths
from splice.postprocess.indentation import (
    columns,
    ends_with_opener,
    indent_columns,
    last_line,
    leading_whitespace,
    previous_nonblank_line,
    render_indent,
    unit_columns,
)

# Line endings after which the next line is exactly one level deeper, in any language. An open parenthesis
# is not one: hanging indents after it are often two levels (PEP 8) or aligned.
_STEP_OPENERS = (":", "{", "=>")


def fix_indentation(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Remove a duplicated first-line indent and restyle continuation lines to the document's unit."""
    text = _strip_duplicated_indent(suggestion.text, context)
    if "\n" in text:
        text = _restyle_continuation(text, context)
    return suggestion if text == suggestion.text else suggestion.with_text(text)


def _expected_indent(context: CompletionContext, width: int) -> int:
    """The depth the code above implies for the cursor's line."""
    above = previous_nonblank_line(context.prefix)
    if above is None:
        return 0
    depth = indent_columns(above, width)
    return depth + width if ends_with_opener(above, context.language) else depth


def _strip_duplicated_indent(text: str, context: CompletionContext) -> str:
    cursor_indent = last_line(context.prefix)
    if not cursor_indent or cursor_indent.strip():
        return text  # the cursor is not inside a line's indentation
    first = text.split("\n", 1)[0]
    lead = leading_whitespace(first)
    if not lead or not first.strip():
        return text
    width = unit_columns(context.indent_unit)
    # Keep only as much of the model's indent as the line still lacks (usually none).
    wanted = max(0, _expected_indent(context, width) - columns(cursor_indent, width))
    if columns(lead, width) <= wanted:
        return text
    return render_indent(wanted, context.indent_unit) + text[len(lead) :]


def _restyle_continuation(text: str, context: CompletionContext) -> str:
    unit = context.indent_unit
    width = unit_columns(unit)
    lines = text.split("\n")
    # Braces open blocks, whose lines are nested statements; parentheses and brackets hold continuations.
    depths = line_depths(text, context.language, kinds="([")
    cursor_line = last_line(context.prefix) + lines[0]
    base = indent_columns(cursor_line, width)
    # Statement lines carry the nesting; lines inside open brackets are aligned to them and move with them.
    statements = [i for i in range(1, len(lines)) if lines[i].strip() and depths[i] <= 0]
    mismatched_style = any(
        _foreign_style(leading_whitespace(line), unit) for line in lines[1:] if line.strip()
    )
    model_unit = _model_unit(cursor_line, [lines[i] for i in statements], width)
    rescale = (
        model_unit is not None
        and model_unit != width
        and all((indent_columns(lines[i], width) - base) % model_unit == 0 for i in statements)
    )
    if not mismatched_style and not rescale:
        return text
    rewritten = [lines[0]]
    shift = 0
    for index, line in enumerate(lines[1:], start=1):
        if not line.strip():
            rewritten.append(line)
            continue
        depth = indent_columns(line, width)
        if depths[index] > 0:
            new_depth = max(0, depth + shift)
        else:
            new_depth = depth
            if rescale and model_unit is not None:
                new_depth = max(0, base + (depth - base) * width // model_unit)
            shift = new_depth - depth
        rewritten.append(render_indent(new_depth, unit) + line.lstrip(" \t"))
    return "\n".join(rewritten)


def _foreign_style(whitespace: str, unit: str) -> bool:
    """Whether leading whitespace uses tabs in a spaces document, or leads with spaces in a tabs one."""
    if "\t" in unit:
        return whitespace.startswith("  ")
    return "\t" in whitespace


def _model_unit(cursor_line: str, lines: list[str], width: int) -> int | None:
    """The model's indent unit: the smallest step deeper after a line ending in an opener."""
    steps: list[int] = []
    previous = cursor_line
    for line in lines:
        if not line.strip():
            continue
        step = indent_columns(line, width) - indent_columns(previous, width)
        if step > 0 and previous.rstrip().endswith(_STEP_OPENERS):
            steps.append(step)
        previous = line
    return min(steps) if steps else None
