"""Where multi-line suggestions are allowed: empty blocks only, confirmed by the syntax tree."""

from __future__ import annotations

import pytest

from splice.postprocess.mode import is_multiline_position


@pytest.mark.parametrize(
    ("prefix", "suffix", "language"),
    [
        ("def area(r):\n    ", "\n", "python"),
        ("def area(r):", "\n", "python"),
        ("class Shape:\n    def area(self):  # square units\n        ", "\n", "python"),
        ("def area(r):\n    ", "\n\ndef perimeter(r):\n    return 2 * r\n", "python"),
        ("for item in items:\n    ", "\nprint('done')\n", "python"),
        ("function area(r) {", "}\n", "javascript"),
        ("function area(r) {\n  ", "\n}\n", "javascript"),
        ("const area = (r) =>", "\n", "typescript"),
        ("class Shape {\n    double area() {\n        ", "\n    }\n}\n", "java"),
        ("func area(r float64) float64 {\n\t", "\n}\n", "go"),
        ("fn area(r: f64) -> f64 {", "\n}\n", "rust"),
        ("int area(int r) {\n    ", "\n}\n", "c"),
        ("int Shape::area() const {\n    ", "\n}\n", "cpp"),
        ("sub area {\n    ", "\n}\n", "perl"),  # no grammar: the opener is judged by text
    ],
)
def test_multiline_inside_an_empty_block(prefix: str, suffix: str, language: str) -> None:
    assert is_multiline_position(prefix, suffix, language)


@pytest.mark.parametrize(
    ("prefix", "suffix", "language"),
    [
        # The block already has a body.
        ("def area(r):\n    ", "\n    return 3.14 * r * r\n", "python"),
        ("int area(int r) {\n    ", "\n    return r * r;\n}\n", "c"),
        # Text after the cursor on its line.
        ("def area(r):\n    ", "return r\n", "python"),
        ("def area(r):\n    x = max(", "r, 0)\n", "python"),
        # Not after a block opener.
        ("x = 1\n", "\n", "python"),
        ("total = compute(", ")\n", "python"),
        ("const total = 1;\n", "\n", "javascript"),
        # A colon that opens no block: a dict value on the next line.
        ("settings = {\n    'name':", "\n}\n", "python"),
        # A brace inside a string or a comment.
        ('message = "{\n', "\n", "javascript"),
        ("int x = 1; // {\n", "\n", "c"),
        ("x = 1  # if y:\n", "\n", "python"),
    ],
)
def test_single_line_elsewhere(prefix: str, suffix: str, language: str) -> None:
    assert not is_multiline_position(prefix, suffix, language)


def test_auto_closed_brackets_after_the_cursor_do_not_force_single_line() -> None:
    assert is_multiline_position("function f() {", "})\n", "javascript")


def test_far_from_the_start_of_a_long_file() -> None:
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(2000))
    assert is_multiline_position(body + "def g(x):\n    ", "\n", "python")
    assert not is_multiline_position(body + "y = g(", ")\n", "python")
