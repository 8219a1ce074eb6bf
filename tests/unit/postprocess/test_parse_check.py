"""A suggestion that adds syntax errors to the code around it is rejected; one that removes or keeps
them passes. One valid and one broken suggestion per language, in real snippets."""

from __future__ import annotations

import pytest

from splice.postprocess.parse_check import reject_parse_errors

from .support import context, run

# (language, prefix, suffix, valid suggestion, broken suggestion)
CASES = [
    (
        "python",
        "import math\n\n\ndef area(r):\n    ",
        "\n\n\ndef perimeter(r):\n    return 2 * math.pi * r\n",
        "return math.pi * r ** 2",
        "return math.pi * (r ** 2",
    ),
    (
        "javascript",
        "function area(r) {\n  ",
        "\n}\n\nmodule.exports = { area };\n",
        "return Math.PI * r * r;",
        "return Math.PI * r * r);",
    ),
    (
        "typescript",
        "interface Shape { r: number }\n\nexport function area(s: Shape): number {\n  ",
        "\n}\n",
        "return Math.PI * s.r ** 2;",
        "return Math.PI * s.r ** 2 }}",
    ),
    (
        "java",
        "public class Circle {\n    private final double r;\n\n    public double area() {\n        ",
        "\n    }\n}\n",
        "return Math.PI * r * r;",
        "return Math.PI * r * r;; }",
    ),
    (
        "go",
        "package shapes\n\nimport \"math\"\n\nfunc Area(r float64) float64 {\n\t",
        "\n}\n",
        "return math.Pi * r * r",
        "return math.Pi * (r * r",
    ),
    (
        "rust",
        "use std::f64::consts::PI;\n\npub fn area(r: f64) -> f64 {\n    ",
        "\n}\n",
        "PI * r * r",
        "PI * r * r)",
    ),
    (
        "c",
        "#include <math.h>\n\ndouble area(double r) {\n    ",
        "\n}\n",
        "return M_PI * r * r;",
        "return M_PI * r * r; }",
    ),
    (
        "cpp",
        "#include <cmath>\n\nclass Circle {\npublic:\n    double area() const {\n        ",
        "\n    }\nprivate:\n    double r_;\n};\n",
        "return M_PI * r_ * r_;",
        "return M_PI * r_ * r_; } }",
    ),
]


@pytest.mark.parametrize(
    ("language", "prefix", "suffix", "valid", "broken"), CASES, ids=[case[0] for case in CASES]
)
def test_valid_passes_and_broken_is_rejected(
    language: str, prefix: str, suffix: str, valid: str, broken: str
) -> None:
    ctx = context(prefix, suffix, language)
    passed = run(reject_parse_errors, valid, ctx)
    assert passed is not None and passed.text == valid
    assert run(reject_parse_errors, broken, ctx) is None


def test_finishing_an_open_string_passes() -> None:
    ctx = context('def greet():\n    print("he', "\n")
    assert run(reject_parse_errors, 'llo")', ctx) is not None
    # The editor auto-closed the string: overwriting the closers keeps the code valid...
    ctx = context('def greet():\n    print("he', '")\n')
    assert run(reject_parse_errors, 'llo")', ctx, replace_suffix=2) is not None
    assert run(reject_parse_errors, "llo", ctx) is not None
    # ...while inserting them again in front of the existing ones would break it.
    assert run(reject_parse_errors, 'llo")', ctx) is None


def test_a_partial_line_in_already_broken_code_passes() -> None:
    ctx = context("def f(items):\n    total = sum(", "\n    return total\n")
    # Still unclosed, but no worse than before.
    assert run(reject_parse_errors, "item.price for item in items", ctx) is not None
    assert run(reject_parse_errors, "item.price for item in items)", ctx) is not None


def test_errors_far_from_the_cursor_do_not_matter() -> None:
    many = "".join(f"def f{i}():\n    return {i}\n\n" for i in range(200))
    broken_above = "def broken(:\n    pass\n\n" + many
    ctx = context(broken_above + "def g(x):\n    ", "\n")
    assert run(reject_parse_errors, "return x", ctx) is not None
    assert run(reject_parse_errors, "return (x", ctx) is None


def test_languages_without_a_grammar_pass_through() -> None:
    ctx = context("sub f {\n    ", "\n}\n", "perl")
    assert run(reject_parse_errors, "return ((((;", ctx) is not None


def test_a_suggestion_that_ends_by_opening_a_block_passes() -> None:
    ctx = context("export function add(", ")\n", "typescript")
    assert run(reject_parse_errors, "x: number, y: number): number {", ctx, replace_suffix=1) is not None
    ctx = context("int main(void) {\n    ", "\n    return 0;\n}\n", "c")
    assert run(reject_parse_errors, "for (int i = 0; i < 10; i++) {", ctx) is not None
    # Ending inside an expression is still broken.
    assert run(reject_parse_errors, "for (int i = 0; i < (10", ctx) is None


def test_decorator_before_a_decorated_definition_is_kept() -> None:
    prefix = "import click\n\n\n"
    suffix = '\n@click.option("--name")\ndef cli(name):\n    click.echo(name)\n'
    assert run(reject_parse_errors, "@click.command()", context(prefix, suffix, "python")).text == "@click.command()"
