"""Suggestions that change nothing are dropped."""

from __future__ import annotations

from splice.postprocess.trivial import drop_trivial

from .support import context, run


def test_blank_suggestions_are_dropped() -> None:
    ctx = context("x = ")
    assert run(drop_trivial, "", ctx) is None
    assert run(drop_trivial, "   \n  ", ctx) is None


def test_a_lone_closer_the_suffix_already_has_is_dropped() -> None:
    assert run(drop_trivial, ")", context("print(x", ")\n")) is None
    assert run(drop_trivial, ";", context("int x = 1", " ;\n", "c")) is None


def test_overwriting_the_suffix_with_itself_is_dropped() -> None:
    assert run(drop_trivial, ")", context("print(x", ")\n"), replace_suffix=1) is None


def test_a_closer_the_code_needs_is_kept() -> None:
    kept = run(drop_trivial, ")", context("print(x", "\n"))
    assert kept is not None and kept.text == ")"


def test_code_is_kept() -> None:
    kept = run(drop_trivial, "x)", context("print(", ")\n"), replace_suffix=1)
    assert kept is not None and (kept.text, kept.replace_suffix) == ("x)", 1)
