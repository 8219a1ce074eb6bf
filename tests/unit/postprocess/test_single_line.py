"""Single-line positions keep the cursor's line only."""

from __future__ import annotations

from splice.postprocess.single_line import single_line

from .support import context, text_of


def test_cut_at_the_first_newline() -> None:
    ctx = context("total = compute(", ")\n")
    assert text_of(single_line, "a, b\n    extra = 1\n", ctx) == "a, b"


def test_trailing_whitespace_before_the_newline_goes_too() -> None:
    assert text_of(single_line, "a + b   \nc", context("x = ")) == "a + b"


def test_single_line_text_is_untouched() -> None:
    assert text_of(single_line, "a + b", context("x = ")) == "a + b"


def test_multiline_positions_are_untouched() -> None:
    ctx = context("def f():\n    ", multiline=True)
    assert text_of(single_line, "x = 1\n    return x", ctx) == "x = 1\n    return x"


def test_nothing_before_the_newline_is_dropped() -> None:
    ctx = context("x = 1\n", "\ny = 2\n")
    assert text_of(single_line, "\nprint(x)", ctx) is None
    assert text_of(single_line, "   \n    print(x)", ctx) is None
