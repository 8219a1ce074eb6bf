"""The parse window: the enclosing definition around the cursor, bounded in size."""

from __future__ import annotations

from splice.postprocess.syntax import (
    MAX_LINES_AFTER,
    MAX_LINES_BEFORE,
    document_window,
    enclosing_brace_block,
    error_count,
    is_closed_block,
    parse,
)

PYTHON = (
    "import os\n\n\n"
    "class Store:\n"
    "    def load(self):\n"
    "        return os.listdir('.')\n\n"
    "    def save(self, name):\n"
    "        "
)
PYTHON_AFTER = "\n\n    def clear(self):\n        pass\n\n\ndef main():\n    Store().save('x')\n"


def test_python_window_spans_the_enclosing_class_only() -> None:
    window = document_window(PYTHON, PYTHON_AFTER)
    assert window.before.startswith("class Store:\n")
    assert window.after.endswith("        pass\n\n\n")
    assert "def main" not in window.after


def test_windows_do_not_start_on_continuations_or_labels() -> None:
    window = document_window("if ready:\n    go()\nelse:\n    ", "\n")
    assert window.before.startswith("if ready:")
    cpp = "class A {\npublic:\n    int f() {\n        "
    assert document_window(cpp, "\n    }\n};\n").before.startswith("class A {")


def test_window_is_bounded_in_a_long_definition() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(1000))
    window = document_window("def big():\n" + body + "    ", "\n" + body)
    assert window.before.count("\n") <= MAX_LINES_BEFORE
    assert window.after.count("\n") <= MAX_LINES_AFTER + 1


def test_window_source_overwrites_the_suffix() -> None:
    window = document_window("print(", ")\n")
    assert window.source("x)", replace_suffix=1) == "print(x)\n"


def test_error_count_counts_errors_and_missing_nodes() -> None:
    tree = parse("python", "def f(:\n    pass\n")
    assert tree is not None and error_count(tree.root_node) >= 1
    tree = parse("python", "def f():\n    pass\n")
    assert tree is not None and error_count(tree.root_node) == 0
    assert parse("perl", "sub f {}") is None


def test_enclosing_brace_block_and_whether_it_is_closed() -> None:
    closed = "int f() {\n    \n}\n"
    tree = parse("c", closed)
    assert tree is not None
    block = enclosing_brace_block(tree, closed.index("    \n") + 4)
    assert block is not None and is_closed_block(block)
    unclosed = "int f() {\n    "
    tree = parse("c", unclosed)
    assert tree is not None
    block = enclosing_brace_block(tree, len(unclosed))
    assert block is not None and not is_closed_block(block)


def test_a_python_try_starts_a_window() -> None:
    window = document_window("x = 1\n\ntry:\n    ", "\nexcept OSError:\n    pass\n")
    assert window.before.startswith("try:")
