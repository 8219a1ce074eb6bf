"""The embedded engine reads the document within a window of lines around the cursor."""

from __future__ import annotations

import pytest

from splice.engines.embedded.cursor import _first_lines, _last_lines, cursor_from_text
from splice.engines.embedded.lexer import Vocabulary


@pytest.mark.parametrize(("text", "count", "last", "first"), [
    ("", 2, "", ""),
    ("a", 0, "", ""),
    ("a\nb\nc", 1, "c", "a"),
    ("a\nb\nc", 2, "b\nc", "a\nb"),
    ("a\nb\nc", 3, "a\nb\nc", "a\nb\nc"),
    ("a\nb\nc", 9, "a\nb\nc", "a\nb\nc"),
    ("\n\na\n", 2, "a\n", "\n"),
])
def test_the_window_holds_exactly_the_lines_asked_for(text: str, count: int, last: str, first: str) -> None:
    assert _last_lines(text, count) == last
    assert _first_lines(text, count) == first


def test_lines_outside_the_window_are_not_read() -> None:
    vocab = Vocabulary()
    prefix = "far_away_name = 1\n" + "x = 2\n" * 5 + "y = "
    inside = cursor_from_text(vocab, prefix, "\n", lines_before=5)
    wider = cursor_from_text(vocab, prefix, "\n", lines_before=6)
    far = vocab.intern("far_away_name")
    assert far not in inside.context.tolist()
    assert far in wider.context.tolist()
