"""Candidate trees re-parsed from the window's tree are the trees a fresh parse gives."""

from __future__ import annotations

from typing import Any

import pytest
import tree_sitter

from splice.postprocess.syntax import document_window, edited_tree, error_count, parse

PREFIX = 'def greet(name):\n    """Say hello — to «name»."""\n    message = f"héllo {name}"\n    print('
SUFFIX = ")\n    return message\n\n\ndef other():\n    pass\n"


@pytest.mark.parametrize(("insertion", "replace_suffix"), [
    ("message", 0),
    ("message)", 1),  # overwrites the auto-closed bracket
    ("'ünïcode', end=''", 0),  # multi-byte characters shift byte columns
    ("message)\n    log(message", 0),  # adds a line
    ("))", 0),  # adds an error
    ("", 1),  # only removes
])
def test_the_re_parsed_tree_matches_a_fresh_parse(insertion: str, replace_suffix: int) -> None:
    window = document_window(PREFIX, SUFFIX)
    tree = edited_tree("python", window, insertion, replace_suffix)
    fresh = parse("python", window.source(insertion, replace_suffix))
    assert tree is not None and fresh is not None
    assert nodes(tree.root_node) == nodes(fresh.root_node)
    assert error_count(tree.root_node) == error_count(fresh.root_node)


def nodes(node: tree_sitter.Node) -> list[tuple[Any, ...]]:
    """Every node with its kind and where it starts and ends, in bytes and in (row, column)."""
    out = [(node.type, node.start_byte, node.end_byte, tuple(node.start_point), tuple(node.end_point))]
    for child in node.children:
        out.extend(nodes(child))
    return out


def test_the_window_tree_is_left_as_it_was() -> None:
    window = document_window(PREFIX, SUFFIX)
    broken = edited_tree("python", window, "))", 0)
    assert broken is not None and error_count(broken.root_node) > 0
    clean = edited_tree("python", window, "name", 0)
    assert clean is not None and error_count(clean.root_node) == 0


def test_a_language_without_a_grammar_has_no_tree() -> None:
    assert edited_tree("plaintext-unknown", document_window("a", "b"), "x") is None
