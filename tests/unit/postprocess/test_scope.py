"""Multi-line suggestions stop where they would leave the cursor's block."""

from __future__ import annotations

from splice.postprocess.scope import MAX_LINES, truncate_to_scope

from .support import context, text_of


def test_python_stops_at_the_next_definition() -> None:
    ctx = context("def area(r):\n    ", "\n\ndef perimeter(r):\n    return 2 * r\n", multiline=True)
    raw = "pi = 3.14159\n    return pi * r * r\n\n\ndef volume(r):\n    return r ** 3\n"
    assert text_of(truncate_to_scope, raw, ctx) == "pi = 3.14159\n    return pi * r * r"


def test_python_nested_blocks_inside_the_body_are_kept() -> None:
    ctx = context("class Cart:\n    def total(self):\n        ", "\n", multiline=True)
    raw = (
        "result = 0\n        for item in self.items:\n            if item.price:\n"
        "                result += item.price\n        return result\n\n    def clear(self):\n"
        "        self.items = []"
    )
    assert text_of(truncate_to_scope, raw, ctx) == (
        "result = 0\n        for item in self.items:\n            if item.price:\n"
        "                result += item.price\n        return result"
    )


def test_python_after_an_opener_on_the_cursor_line() -> None:
    ctx = context("def area(r):", "\n", multiline=True)
    raw = "\n    return 3.14 * r * r\nprint(area(2))"
    assert text_of(truncate_to_scope, raw, ctx) == "\n    return 3.14 * r * r"


def test_continuation_lines_inside_brackets_may_dedent() -> None:
    ctx = context("def f():\n    ", "\n", multiline=True)
    raw = "return dict(\n  a=1,\n)\nprint(f())"
    assert text_of(truncate_to_scope, raw, ctx) == "return dict(\n  a=1,\n)"


def test_javascript_drops_the_closer_the_document_already_has() -> None:
    ctx = context("function area(r) {\n  ", "\n}\n\nfunction other() {}\n", "javascript", multiline=True)
    raw = "const pi = Math.PI;\n  return pi * r * r;\n}\n\nfunction volume(r) {\n  return r ** 3;\n}"
    assert text_of(truncate_to_scope, raw, ctx) == "const pi = Math.PI;\n  return pi * r * r;"


def test_typescript_keeps_nested_blocks_the_suggestion_opens() -> None:
    ctx = context("function sum(xs: number[]): number {\n  ", "\n}\n", "typescript", multiline=True)
    raw = "let total = 0;\n  for (const x of xs) {\n    total += x;\n  }\n  return total;\n}\nexport {};"
    assert text_of(truncate_to_scope, raw, ctx) == (
        "let total = 0;\n  for (const x of xs) {\n    total += x;\n  }\n  return total;"
    )


def test_java_closer_on_the_cursor_line() -> None:
    ctx = context("class A {\n    int twice(int x) {", "}\n}\n", "java", multiline=True)
    raw = "\n        return 2 * x;\n    }\n\n    int thrice(int x) {\n        return 3 * x;\n    }\n"
    # The closer on the cursor's line moves to a line of its own, at the depth the model gave it.
    assert text_of(truncate_to_scope, raw, ctx) == "\n        return 2 * x;\n    "


def test_go_keeps_the_closer_of_an_unclosed_block() -> None:
    ctx = context("package main\n\nfunc double(x int) int {\n\t", "", "go", multiline=True, indent_unit="\t")
    raw = "return 2 * x\n}\n\nfunc main() {\n}"
    assert text_of(truncate_to_scope, raw, ctx) == "return 2 * x\n}"


def test_rust_drops_the_closer_of_a_closed_block() -> None:
    ctx = context("fn double(x: i32) -> i32 {\n    ", "\n}\n\nfn main() {}\n", "rust", multiline=True)
    raw = "let y = x * 2;\n    y\n}\n\nfn triple(x: i32) -> i32 {\n    x * 3\n}"
    assert text_of(truncate_to_scope, raw, ctx) == "let y = x * 2;\n    y"


def test_c_else_branch_leaves_the_block() -> None:
    ctx = context("int sign(int x) {\n    if (x > 0) {\n        ", "\n    }\n    return 0;\n}\n", "c",
                  multiline=True)
    raw = "return 1;\n    } else {\n        return -1;\n    }"
    assert text_of(truncate_to_scope, raw, ctx) == "return 1;"


def test_cpp_lambda_body_inside_brackets_is_kept() -> None:
    ctx = context("void run(std::vector<int>& v) {\n    ", "\n}\n", "cpp", multiline=True)
    raw = "std::sort(v.begin(), v.end(), [](int a, int b) {\nreturn a > b;\n});\n    print(v);\n}\nint x;"
    assert text_of(truncate_to_scope, raw, ctx) == (
        "std::sort(v.begin(), v.end(), [](int a, int b) {\nreturn a > b;\n});\n    print(v);"
    )


def test_braces_in_strings_and_comments_do_not_count() -> None:
    ctx = context("function f() {\n  ", "\n}\n", "javascript", multiline=True)
    raw = "const s = \"}\"; // }\n  return s;\n}\nf();"
    assert text_of(truncate_to_scope, raw, ctx) == "const s = \"}\"; // }\n  return s;"


def test_long_suggestions_are_capped() -> None:
    ctx = context("def f():\n    ", "\n", multiline=True)
    raw = "\n".join(["x = 0", *[f"    x += {i}" for i in range(40)]])
    assert text_of(truncate_to_scope, raw, ctx) == "\n".join(raw.split("\n")[:MAX_LINES])


def test_single_line_positions_are_untouched() -> None:
    ctx = context("x = ", "\n")
    assert text_of(truncate_to_scope, "1\ndef g(): pass", ctx) == "1\ndef g(): pass"


def test_a_closer_at_the_end_of_a_line_leaves_the_block_too() -> None:
    ctx = context("void f() {\n    ", "\n}\n", "c", multiline=True)
    raw = "g(); }\nint h() {\n    return 1;\n}"
    assert text_of(truncate_to_scope, raw, ctx) == "g(); }"
