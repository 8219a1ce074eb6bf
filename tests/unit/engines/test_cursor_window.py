"""The embedded engine reads the document within a window of lines around the cursor."""

from __future__ import annotations

import pytest

from splice.engines.embedded import cursor as cursor_module
from splice.engines.embedded.cursor import Cursor, _first_lines, _last_lines, cursor_from_text
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


def _fields(cursor: Cursor) -> tuple[object, ...]:
    return (cursor.context.tolist(), cursor.partial, cursor.typed_tokens, cursor.following.tolist(),
            cursor.following_line, cursor.previous_lines, cursor.indent, cursor.line_typed, cursor.rest_of_line,
            cursor.document.tokens.tolist(), cursor.document.boundaries.tolist(),
            cursor.document.file_starts.tolist(), cursor.scope)


def test_a_cursor_whose_surroundings_were_lexed_before_is_the_cursor_a_fresh_lexing_gives() -> None:
    head = "class Box:\n    def put(self, item):\n        '''Doc.\n        more'''\n        self.items = []\n"
    tail = "\n        return self.items\n\n    def take(self):\n        pass\n"
    # Typing along one line, then changing a line before it, a line after it, the indentation, the end.
    steps = [(head, "        self.items.", tail), (head, "        self.items.app", tail),
             (head, "        self.items.append(", tail),
             (head.replace("self.items = []", "self.things = []"), "        self.items.append(", tail),
             (head, "        self.items.append(", tail.replace("take", "pop")),
             (head, "    self.items.append(", tail), (head, "        self.items.append(", ""),
             (head, "        self.items.append(", "")]
    vocab = Vocabulary()
    fresh = []
    for before, line, after in steps:
        cursor_module._recent.clear()
        fresh.append(_fields(cursor_from_text(vocab, before + line, after)))
    cursor_module._recent.clear()
    assert [_fields(cursor_from_text(vocab, before + line, after)) for before, line, after in steps] == fresh
    # Another vocabulary, whose ids differ, never gets the first one's lexing.
    other = Vocabulary()
    other.intern("unrelated")
    cursor_from_text(vocab, head + "        x", tail)
    reused = cursor_from_text(other, head + "        x", tail)
    cursor_module._recent.clear()
    assert _fields(reused) == _fields(cursor_from_text(other, head + "        x", tail))
