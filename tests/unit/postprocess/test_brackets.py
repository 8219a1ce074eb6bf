"""Brackets in code, ignoring strings and comments."""

from __future__ import annotations

from splice.postprocess.brackets import bracket_tokens, line_depths, unmatched_closers


def chars(text: str, language: str) -> str:
    return "".join(char for _, char in bracket_tokens(text, language))


def test_strings_and_comments_are_skipped() -> None:
    assert chars('f("(", x) # )', "python") == "()"
    assert chars("f('}', x) // }\n/* { */ g()", "javascript") == "()()"
    assert chars('s = """\n(\n""" + t[0]', "python") == "[]"
    assert chars("let s = `${a}(`; f()", "typescript") == "()"


def test_rust_lifetimes_are_not_strings() -> None:
    assert chars("fn f<'a>(x: &'a str) -> char { '{' }", "rust") == "(){}"


def test_line_depths() -> None:
    assert line_depths("f(\n  a,\n)\nb", "python") == [0, 1, 1, 0]
    assert line_depths("x\n}\ny", "c") == [0, 0, -1]
    assert line_depths("if (a) {\n  f(\n  )\n}", "c", kinds="([") == [0, 0, 1, 0]


def test_unmatched_closers() -> None:
    assert unmatched_closers("1), 2)", "python") == "))"
    assert unmatched_closers("g(1))", "python") == ")"
    assert unmatched_closers("x]; }", "c") == "]}"
