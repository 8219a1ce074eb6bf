"""Runaway repetition is cut to its first copy; legitimate repeats are kept."""

from __future__ import annotations

from splice.postprocess.repetition import remove_repetition

from .support import context, text_of

CTX = context("def f(items):\n    ", multiline=True)


def test_a_line_repeated_three_times_keeps_one_copy() -> None:
    raw = "total = 0\n    total += 1\n    total += 1\n    total += 1\n    total += 1\n    return total"
    assert text_of(remove_repetition, raw, CTX) == "total = 0\n    total += 1"


def test_a_repeated_block_of_lines_keeps_one_copy() -> None:
    raw = "a = 1\n    b = 2\n    a = 1\n    b = 2\n    a = 1\n    b = 2\n    a = 1"
    assert text_of(remove_repetition, raw, CTX) == "a = 1\n    b = 2"


def test_two_copies_are_not_runaway() -> None:
    raw = "x += 1\n    x += 1\n    return x"
    assert text_of(remove_repetition, raw, CTX) == raw


def test_closing_braces_at_different_depths_are_not_repeats() -> None:
    ctx = context("void f() {\n    ", "\n}\n", "c", multiline=True)
    raw = "if (a) {\n        if (b) {\n            if (c) {\n            }\n        }\n    }"
    assert text_of(remove_repetition, raw, ctx) == raw


def test_blank_lines_are_not_repeats() -> None:
    raw = "x = 1\n\n\n\n    return x"
    assert text_of(remove_repetition, raw, CTX) == raw


def test_a_pattern_repeated_within_a_line_is_cut_after_its_first_copy() -> None:
    ctx = context("value = ")
    assert text_of(remove_repetition, "self.self.self.self.self.self.name", ctx) == "self."
    assert text_of(remove_repetition, "f(foo(foo(foo(foo(foo(foo(", ctx) == "f(foo"


def test_tables_rulers_and_closers_repeat_legitimately() -> None:
    ctx = context("x = ")
    for raw in (
        "[0, 0, 0, 0, 0, 0, 0, 0]",
        "bytes([0x00, 0x00, 0x00, 0x00, 0x00, 0x00])",
        "'=' * 10  # ==========",
        "g(h(i(j(k(1)))))",
        '"\\t\\t\\t\\t\\t\\t"',
    ):
        assert text_of(remove_repetition, raw, ctx) == raw
