"""Chunks follow the syntax and keep symbols and line ranges."""

from splice.retrieval.chunking import MAX_CHUNK_LINES, chunk_file

PYTHON = '''import os


def top(a):
    return a + 1


class Box:
    """A box."""

    def open(self):
        return True

    def close(self):
        return False
'''


def test_python_functions_and_classes() -> None:
    chunks = chunk_file("m.py", "python", PYTHON)
    symbols = [(c.symbol, c.kind) for c in chunks]
    assert ("top", "function_definition") in symbols
    assert ("Box", "class_definition") in symbols
    top = next(c for c in chunks if c.symbol == "top")
    assert (top.start_line, top.end_line) == (3, 5)
    assert top.text == "def top(a):\n    return a + 1"


def test_long_class_is_split_into_methods() -> None:
    body = "".join(f"    def m{i}(self):\n" + "        x = 1\n" * 8 + "\n" for i in range(10))
    chunks = chunk_file("big.py", "python", "class Big:\n" + body)
    assert {"Big.m0", "Big.m9"} <= {c.symbol for c in chunks}
    assert all(c.end_line - c.start_line <= MAX_CHUNK_LINES for c in chunks)


def test_other_languages_and_plain_text() -> None:
    go = "package main\n\nfunc Add(a int, b int) int {\n\treturn a + b\n}\n"
    assert any(c.symbol == "Add" for c in chunk_file("a.go", "go", go))
    text = "\n".join(f"line number {i}" for i in range(100))
    windows = chunk_file("notes.md", "text", text)
    assert len(windows) == 3 and windows[0].kind == "window"
    assert windows[0].start_line == 0 and windows[-1].end_line == 100
