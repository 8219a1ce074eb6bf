"""Continuation lines follow the document's indentation; a duplicated first-line indent goes."""

from __future__ import annotations

from splice.postprocess.reindent import fix_indentation

from .support import context, text_of


def test_two_space_body_in_a_four_space_file() -> None:
    ctx = context("def total(items):\n    ", multiline=True)
    raw = (
        "result = 0\n    for item in items:\n      result += item\n      if item:\n        break\n"
        "    return result"
    )
    assert text_of(fix_indentation, raw, ctx) == (
        "result = 0\n    for item in items:\n        result += item\n        if item:\n"
        "            break\n    return result"
    )


def test_two_space_body_after_an_opener_on_the_cursor_line() -> None:
    ctx = context("def total(items):", multiline=True)
    assert text_of(fix_indentation, "\n  return sum(items)", ctx) == "\n    return sum(items)"


def test_tabs_in_a_spaces_file() -> None:
    ctx = context("function f() {\n  ", "\n}\n", "javascript", multiline=True, indent_unit="  ")
    raw = "if (a) {\n\t\tb();\n\t}"
    assert text_of(fix_indentation, raw, ctx) == "if (a) {\n    b();\n  }"


def test_spaces_in_a_tabs_file() -> None:
    ctx = context("func f() {\n\t", "\n}\n", "go", multiline=True, indent_unit="\t")
    raw = "if ok {\n        run()\n    }"
    assert text_of(fix_indentation, raw, ctx) == "if ok {\n\t\trun()\n\t}"


def test_two_spaces_in_a_tabs_file() -> None:
    ctx = context("func f() {\n\t", "\n}\n", "go", multiline=True, indent_unit="\t")
    raw = "if ok {\n      run()\n    }"
    assert text_of(fix_indentation, raw, ctx) == "if ok {\n\t\trun()\n\t}"


def test_matching_style_is_untouched() -> None:
    ctx = context("def f(x):\n    ", multiline=True)
    raw = "if x:\n        return 1\n    return 2"
    assert text_of(fix_indentation, raw, ctx) == raw


def test_hanging_alignment_is_untouched() -> None:
    ctx = context("def f(x):\n    ", multiline=True)
    raw = "value = compute(x,\n                    y)\n    if value:\n      return value"
    # The line inside the open parenthesis is aligned, not nested: it keeps its column while the body of
    # the ``if`` moves to the file's four-space unit.
    assert text_of(fix_indentation, raw, ctx) == (
        "value = compute(x,\n                    y)\n    if value:\n        return value"
    )


def test_lines_inside_brackets_move_with_their_statement() -> None:
    ctx = context("def f(x):\n    ", multiline=True)
    raw = "if x:\n      call(\n        x,\n      )"
    assert text_of(fix_indentation, raw, ctx) == "if x:\n        call(\n          x,\n        )"


def test_duplicated_indent_on_the_first_line_is_removed() -> None:
    ctx = context("def f(x):\n    ", multiline=True)
    assert text_of(fix_indentation, "    return x", ctx) == "return x"
    assert text_of(fix_indentation, "\treturn x", ctx) == "return x"


def test_missing_indent_is_kept_when_the_cursor_is_short_of_the_body() -> None:
    # The cursor is at two columns of a four-column body: the model's two spaces complete the indent.
    ctx = context("def f(x):\n  ", multiline=True)
    assert text_of(fix_indentation, "  return x", ctx) == "  return x"
    assert text_of(fix_indentation, "      return x", ctx) == "  return x"


def test_first_line_indent_after_code_is_not_touched() -> None:
    ctx = context("x =")
    assert text_of(fix_indentation, " 1", ctx) == " 1"
