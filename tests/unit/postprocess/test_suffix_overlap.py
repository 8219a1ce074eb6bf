"""Text that repeats the code after the cursor is trimmed, dropped, or overwritten."""

from __future__ import annotations

from splice.postprocess.suffix_overlap import dedupe_suffix

from .support import context, run


def test_trailing_lines_equal_to_the_next_lines_are_trimmed() -> None:
    ctx = context("def f(x):\n    ", "\n    return y\n", multiline=True)
    result = run(dedupe_suffix, "y = x * 2\n    return y", ctx)
    assert result is not None and result.text == "y = x * 2"


def test_a_closer_the_suffix_has_is_trimmed_but_a_nested_one_is_not() -> None:
    ctx = context("func f() {\n\t", "\n}\n", "go", multiline=True, indent_unit="\t")
    result = run(dedupe_suffix, "if ok {\n\t\trun()\n\t}\n}", ctx)
    assert result is not None and result.text == "if ok {\n\t\trun()\n\t}"


def test_nothing_left_after_trimming_is_dropped() -> None:
    ctx = context("def f(x):\n    ", "\n    y = x * 2\n    return y\n", multiline=True)
    assert run(dedupe_suffix, "y = x * 2\n    return y", ctx) is None


def test_a_copy_of_the_next_line_is_dropped() -> None:
    ctx = context("def f(x):\n    ", "\n    return x + 1\n")
    assert run(dedupe_suffix, "return x + 1", ctx) is None
    ctx = context("def f(x):\n    ret", "\n\n    return x + 1\n")
    assert run(dedupe_suffix, "urn x + 1", ctx) is None


def test_a_different_line_is_kept() -> None:
    ctx = context("def f(x):\n    ", "\n    return x + 1\n")
    result = run(dedupe_suffix, "x = abs(x)", ctx)
    assert result is not None and (result.text, result.replace_suffix) == ("x = abs(x)", 0)


def test_retyped_rest_of_line_is_overwritten() -> None:
    result = run(dedupe_suffix, "a, b)", context("total = add(", "b)\nprint(total)\n"))
    assert result is not None and (result.text, result.replace_suffix) == ("a, b)", 2)


def test_auto_closed_bracket_is_overwritten_when_the_suggestion_closes_it() -> None:
    result = run(dedupe_suffix, "x, y)", context("print(", ")\n"))
    assert result is not None and result.replace_suffix == 1


def test_a_bracket_the_suggestion_opens_and_closes_itself_is_not_overwritten() -> None:
    result = run(dedupe_suffix, "len(x)", context("print(", ")\n"))
    assert result is not None and result.replace_suffix == 0


def test_only_the_closers_the_suggestion_closes_are_overwritten() -> None:
    # ``1)`` closes ``inner(`` only; the outer call's auto-closed ``)`` stays.
    result = run(dedupe_suffix, "1)", context("outer(inner(", "))\n"))
    assert result is not None and result.replace_suffix == 1
    result = run(dedupe_suffix, "1), 2)", context("outer(inner(", "))\n"))
    assert result is not None and result.replace_suffix == 2


def test_auto_closed_quote_and_bracket() -> None:
    result = run(dedupe_suffix, 'llo")', context('print("he', '")\n'))
    assert result is not None and result.replace_suffix == 2
    result = run(dedupe_suffix, "llo", context('print("he', '")\n'))
    assert result is not None and result.replace_suffix == 0


def test_overwrite_never_shrinks() -> None:
    result = run(dedupe_suffix, "x", context("f(", ")\n"), replace_suffix=1)
    assert result is not None and result.replace_suffix == 1


def test_auto_closed_bracket_before_other_text_is_overwritten() -> None:
    result = run(dedupe_suffix, "a, b)", context("const x = foo(", ");\n", "javascript"))
    assert result is not None and result.replace_suffix == 1
    result = run(dedupe_suffix, "a, b);", context("const x = foo(", ");\n", "javascript"))
    assert result is not None and result.replace_suffix == 2
