"""Documents: UTF-16/UTF-8 positions, astral characters, incremental edits, CRLF, limits."""

from __future__ import annotations

import random

import pytest

from splice.documents import DocumentStore, TextDocument, _full_text_edit, indent_unit, lf_line_ends
from splice.errors import DocumentRejectedError, PositionOutOfRangeError, UnknownDocumentError


def doc(text: str) -> TextDocument:
    return TextDocument(uri="file:///a.py", language_id="python", version=1, text=text)


def test_utf16_positions_count_surrogate_pairs() -> None:
    d = doc("a😀b\nx")
    # 😀 is two UTF-16 code units: 'b' is at character 3.
    assert d.text[d.offset_at(0, 3, "utf-16", strict=True)] == "b"
    assert d.position_at(d.text.index("b"), "utf-16") == {"line": 0, "character": 3}


def test_utf8_positions_count_bytes() -> None:
    d = doc("é😀b")
    assert d.text[d.offset_at(0, 6, "utf-8", strict=True)] == "b"
    assert d.position_at(2, "utf-8") == {"line": 0, "character": 6}


def test_incremental_edit_after_astral_character() -> None:
    d = doc("x = '😀'\nprint(x)\n")
    d.apply_change({"range": {"start": {"line": 0, "character": 7}, "end": {"line": 0, "character": 7}},
                    "text": "!"}, "utf-16")
    assert d.text == "x = '😀!'\nprint(x)\n"


def test_multi_line_incremental_edit_and_full_replace() -> None:
    d = doc("one\ntwo\nthree\n")
    d.apply_change({"range": {"start": {"line": 0, "character": 1}, "end": {"line": 2, "character": 2}},
                    "text": "X"}, "utf-16")
    assert d.text == "oXree\n"
    d.apply_change({"text": "new"}, "utf-16")
    assert d.text == "new"


def test_crlf_is_kept_and_lines_are_counted_right() -> None:
    d = doc("a\r\nbb\r\nc")
    assert d.eol == "\r\n"
    assert d.line_text(1) == "bb"
    assert d.offset_at(2, 0, "utf-16", strict=True) == d.text.index("c")
    d.apply_change({"range": {"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 2}},
                    "text": "!"}, "utf-16")
    assert d.text == "a\r\nbb!\r\nc"


def test_strict_positions_out_of_range() -> None:
    d = doc("ab\ncd")
    with pytest.raises(PositionOutOfRangeError, match="line 5"):
        d.offset_at(5, 0, "utf-16", strict=True)
    with pytest.raises(PositionOutOfRangeError, match="character 9"):
        d.offset_at(0, 9, "utf-16", strict=True)
    assert d.offset_at(0, 9, "utf-16", strict=False) == 2


def test_store_refuses_large_and_binary_and_remembers_why() -> None:
    store = DocumentStore(max_bytes=100)
    with pytest.raises(DocumentRejectedError, match="larger"):
        store.open("file:///big", "python", 1, "x" * 200)
    with pytest.raises(DocumentRejectedError, match="binary"):
        store.open("file:///bin", "python", 1, "a\x00b")
    with pytest.raises(DocumentRejectedError):
        store.get("file:///big")
    with pytest.raises(UnknownDocumentError, match="not open"):
        store.get("file:///never")


def test_failed_change_leaves_document_intact() -> None:
    store = DocumentStore(max_bytes=1000)
    store.open("file:///a", "python", 1, "hello")
    with pytest.raises(Exception):  # noqa: B017 - any invalid change
        store.change("file:///a", 2, [{"text": " world"}, {"range": {"start": {}}, "text": "x"}], "utf-16")
    assert store.get("file:///a").text == "hello"


@pytest.mark.parametrize(("text", "unit"), [
    ("def f():\n    if x:\n        y\n", "    "),
    ("function f() {\n  if (x) {\n    y;\n  }\n}\n", "  "),
    ("func f() {\n\tif x {\n\t\ty\n\t}\n}\n", "\t"),
])
def test_indent_unit(text: str, unit: str) -> None:
    assert indent_unit(text) == unit


def test_line_starts_stay_right_across_many_incremental_edits() -> None:
    rng = random.Random(3)
    d = doc("alpha\nbeta\r\ngamma\n\ndelta\repsilon\n")
    pieces = ["x", "\n", "yz\n", "\r\n", "", "long line\nnext", "\r", "é😀"]
    for _ in range(400):
        _ = d.line_starts  # keep the cache warm so the incremental path runs
        lines = len(d.line_starts)
        sl = rng.randrange(lines)
        el = rng.randrange(sl, lines)
        sc = rng.randrange(len(d.line_text(sl)) + 1)
        ec = rng.randrange(len(d.line_text(el)) + 1) if el != sl else rng.randrange(sc, len(d.line_text(el)) + 1)
        d.apply_change({"range": {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}},
                        "text": rng.choice(pieces)}, "utf-32")
        fresh = TextDocument(uri="u", language_id="python", version=1, text=d.text)
        assert d.line_starts == fresh.line_starts


def test_full_text_edit_is_the_smallest_replacement_across_block_boundaries() -> None:
    rng = random.Random(7)
    for _ in range(200):
        size = rng.choice([0, 5, 16383, 16384, 16385, 40000])
        old = "".join(rng.choice("ab\n") for _ in range(size))
        i, j = sorted(rng.randint(0, len(old)) for _ in range(2))
        new = old[:i] + "".join(rng.choice("abc") for _ in range(rng.randint(0, 5))) + old[j:]
        edit = _full_text_edit(old, new)
        assert old[: edit.begin] + edit.inserted + old[edit.finish :] == new
        # Smallest: the kept head and tail are the longest common prefix and suffix that fit.
        assert old[: edit.begin + 1] != new[: edit.begin + 1] or edit.begin == min(len(old), len(new))


def test_positions_stay_right_while_typing_and_jumping_between_lines() -> None:
    """Edits a few lines apart (typing) and far apart (jumps) leave a pending shift behind; every position
    and offset must still match a document scanned from scratch."""
    rng = random.Random(11)
    d = doc("".join(f"line {n} = value_{n}\n" for n in range(300)))
    line = 150
    for step in range(300):
        line = rng.randrange(len(d.line_starts)) if step % 10 == 0 else min(max(0, line + rng.randint(-2, 2)),
                                                                              len(d.line_starts) - 1)
        character = rng.randrange(len(d.line_text(line)) + 1)
        end = {"line": line, "character": min(len(d.line_text(line)), character + rng.choice([0, 0, 1, 3]))}
        d.apply_change({"range": {"start": {"line": line, "character": character}, "end": end},
                        "text": rng.choice(["a", "bc", "\n", "x\ny\n", ""])}, "utf-16")
        fresh = TextDocument(uri="u", language_id="python", version=1, text=d.text)
        for offset in [rng.randrange(len(d.text) + 1) for _ in range(5)]:
            assert d.position_at(offset, "utf-16") == fresh.position_at(offset, "utf-16")
        probe = rng.randrange(len(fresh.line_starts))
        assert d.line_text(probe) == fresh.line_text(probe)
        assert d.offset_at(probe, 2, "utf-16", strict=False) == fresh.offset_at(probe, 2, "utf-16", strict=False)


def test_line_ends_become_lf_and_a_text_without_cr_is_returned_as_it_is() -> None:
    assert lf_line_ends("a\r\nb\r\n") == "a\nb\n"
    assert lf_line_ends("a\rb") == "a\rb"  # a lone CR is not a CRLF line end
    text = "x = 1\n" * 1000
    assert lf_line_ends(text) is text
