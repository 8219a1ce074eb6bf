"""Suggestions in front of code on the cursor's line: shown only when the line still reads as one line of
code. Before/after text from real mid-line failures, and the insertions that must keep working."""

from __future__ import annotations

import pytest

from splice.postprocess.mid_line import fit_mid_line
from splice.postprocess.parse_check import reject_parse_errors

from .support import context, run

# (text before the cursor on its line, suggestion, rest of the line)
DROPPED = [
    ("        self.columns.", "get", "append(column)"),  # glues two names into one
    ("        text.", "append", 'partition("\\n")'),
    ("        return self", "._lines.__len__()", "._length"),  # a whole expression in front of the chain
    ("        ", "blink2: Optional[bool] = None,", "underline: Optional[bool] = None,"),  # a line before a line
    ("        ", "return self._header['FontName']", "return self.original_link is not None"),
    ("    x = ", "compute()\n    y = 2", " + offset"),  # multi-line in front of code
    ("    value = ", "total", " count"),
]

KEPT = [
    ("    print(", '"hello"', ', end="")'),  # completes an argument up to the separator
    ("    x = compute(", "value", ")"),  # only an auto-closed bracket follows
    ("    total = ", "compute(", "items)"),  # ends with an opener: the code after is its argument
    ("    if ", "ready", " and count > 0:"),  # a word that goes on with the expression
    ("    y = ", "a", " + b"),  # an operator follows
    ("    label = ", "name", ' if name else "none"'),
    ("    return ", "self.total", ""),  # nothing after the cursor
]


@pytest.mark.parametrize(("before", "text", "rest"), DROPPED)
def test_suggestions_that_break_or_strand_the_rest_of_the_line_are_dropped(before: str, text: str, rest: str) -> None:
    ctx = context("class A:\n    def f(self):\n" + before, rest + "\n        pass\n")
    assert run(fit_mid_line, text, ctx) is None


@pytest.mark.parametrize(("before", "text", "rest"), KEPT)
def test_insertions_that_end_against_the_code_after_them_are_kept(before: str, text: str, rest: str) -> None:
    ctx = context("def f(a, b, items, name, ready, count):\n" + before, rest + "\n    return 0\n")
    assert run(fit_mid_line, text, ctx) is not None


def test_the_rest_the_suggestion_overwrites_does_not_count() -> None:
    # ``dedupe_suffix`` set the range over ``append(column)``: nothing is left after the insertion.
    ctx = context("def f(self, column):\n    self.columns.", "append(column)\n")
    assert run(fit_mid_line, "append(column)", ctx, replace_suffix=len("append(column)")) is not None


def test_two_statements_run_together_on_one_line_are_a_parse_error() -> None:
    # The MISSING newline between them is a hidden node; the check must still count it.
    ctx = context("class A:\n    @property\n    def is_link(self):\n        ",
                  "return self.original_link is not None\n")
    assert run(reject_parse_errors, "return self._header['FontName']", ctx) is None
    assert run(reject_parse_errors, "return self._header['FontName']\n        ", ctx) is not None


def test_a_half_edited_line_must_come_out_whole() -> None:
    # The person cut an argument out of a working line; the old count of errors is no excuse to keep one.
    ctx = context("def f(item):\n    if isinstance(item, ", ", staticmethod)):\n        return 1\n")
    assert run(fit_mid_line, "property):", ctx) is None
    assert run(fit_mid_line, "(property", ctx) is not None


def test_a_line_that_continues_below_is_judged_with_its_continuation() -> None:
    ctx = context("def f():\n    x = compute(\n        a, ", "c,\n        d,\n    )\n")
    assert run(fit_mid_line, "b, ", ctx) is not None
