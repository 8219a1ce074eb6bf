"""Import lines for the names a document reads but never binds.

An import line is rarely a copy of anything near it: which names it brings in is decided by the rest of the
document (``FormatError`` is used below, so something must import it) and where they come from is decided
by the rest of the project (another file already says ``from jsonschema.exceptions import FormatError``).
This module puts the two together: the document's unbound names, each name's module as the project imports
it, and one ``from module import a, b`` line per module with the names in the order isort and ruff write
them (or, above a parenthesised list of names, the list's ``from module import (`` line). Ranking then
weighs these lines like any other proposal, helped by whether the module sorts between the import lines
around the cursor.

Binding is judged lexically (imports, ``def``/``class``, assignment targets, ``as``/``for`` targets, the
names on a ``def`` line), so a name bound in a way this misses can look unbound; it only matters if some
other file imports a name spelled the same.
"""

from __future__ import annotations

import builtins
import keyword
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from splice.engines.embedded.corpus import TokenCorpus
from splice.engines.embedded.cursor import Cursor
from splice.engines.embedded.lexer import SEPARATOR, Vocabulary
from splice.engines.embedded.project import ProjectIndex

_COMMON = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"self", "cls"}
_BINDERS = frozenset({"def", "class", "as", "for", "global", "nonlocal", "import"})
_ASSIGN = frozenset({"=", ":", "+=", "-=", "*=", "/=", "|=", "&=", ",", ":="})
_MAX_NAMES = 16
_MAX_PLACES = 64


def _bare(vocab: Vocabulary, token: int) -> str:
    return vocab.text(token).strip()


def _lines(corpus: TokenCorpus) -> Iterable[tuple[int, ...]]:
    """Content tokens of each line of ``corpus``."""
    tokens = corpus.tokens.tolist()
    bounds = [*corpus.boundaries.tolist(), corpus.size]
    for start, end in pairwise(bounds):
        if tokens[start] != SEPARATOR:
            yield tuple(tokens[start + 1: end])


def module_of(vocab: Vocabulary, line: tuple[int, ...]) -> str | None:
    """The module an import line imports from (``from M import ...``) or imports (``import M``)."""
    texts = [_bare(vocab, token) for token in line]
    if len(texts) >= 2 and texts[0] == "import":
        return "".join(vocab.text(token) for token in line[1:]).strip().split(",")[0].split(" as ")[0]
    if len(texts) >= 3 and texts[0] == "from" and "import" in texts:
        return "".join(vocab.text(token) for token in line[1: texts.index("import")]).strip()
    return None


def import_position(vocab: Vocabulary, line: tuple[int, ...]) -> int:
    """The index of the first imported name in an import line (0 for any other line)."""
    if module_of(vocab, line) is None:
        return 0
    for index, token in enumerate(line):
        if vocab.text(token).strip() == "import":
            return index + 1
    return 0


def unbound_names(vocab: Vocabulary, document: TokenCorpus) -> list[str]:
    """Names the document reads but never binds, most used first."""
    read: Counter[str] = Counter()
    bound: set[str] = set()
    for line in _lines(document):
        texts = [_bare(vocab, token) for token in line]
        if not texts or texts[0][-1:] in {'"', "'"}:
            continue  # empty, or a docstring's opening line, whose words are prose
        if texts[0] in {"from", "import", "def", "async", "class", "@"}:
            bound.update(text for token, text in zip(line, texts, strict=True) if vocab.is_word(token))
            if texts[0] != "@":
                continue
        for index, (token, text) in enumerate(zip(line, texts, strict=True)):
            if not vocab.is_word(token):
                continue
            before = texts[index - 1] if index else ""
            after = texts[index + 1] if index + 1 < len(texts) else ""
            if before in _BINDERS or (index == 0 and after in _ASSIGN):
                bound.add(text)
            elif before != "." and after != "=":
                read[text] += 1
    return [name for name, _ in read.most_common() if name not in bound and name not in _COMMON]


def _import_order(name: str) -> tuple[int, str]:
    """isort's and ruff's default order of imported names: constants, classes, then everything else."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name.lower())


def listed_names(vocab: Vocabulary, following: Iterable[int]) -> list[str]:
    """The names of a parenthesised import list that starts right after the cursor (``Name,`` lines up to
    the closing parenthesis): the cursor is then on the list's ``from M import (`` line."""
    names: list[str] = []
    texts = [vocab.text(token) for token in following]
    index = 0
    while index + 2 < len(texts) and texts[index].startswith("\n"):
        name, comma = texts[index + 1].strip(), texts[index + 2].strip()
        if not (name.isidentifier() and comma == ","):
            break
        names.append(name)
        index += 3
    closing = index + 1 < len(texts) and texts[index].startswith("\n") and texts[index + 1].strip() == ")"
    return names if closing else []


def import_lines(
    vocab: Vocabulary, needed: list[str], places: dict[str, list[tuple[int, ...]]], *, opening: bool = False,
) -> list[str]:
    """``from M import ...`` lines for the ``needed`` names, given the import lines found for each name.

    Each name goes with the module the found lines most often import it from; names of one module share a
    line. A needed name that is itself a module (``import os``) gets a plain import.
    """
    by_module: dict[str, list[str]] = {}
    plain: list[str] = []
    for name in needed:
        modules: Counter[str] = Counter()
        for line in places.get(name, []):
            module = module_of(vocab, line)
            if module is None:
                continue
            if _bare(vocab, line[0]) == "import":
                if module == name:
                    plain.append(name)
                    break
                continue
            modules[module] += 1
        else:
            if modules:
                by_module.setdefault(modules.most_common(1)[0][0], []).append(name)
    if opening:  # the names are listed below the cursor: only the list's opening line is wanted
        return [f"from {module} import (" for module in by_module]
    lines = [f"from {module} import {', '.join(sorted(names, key=_import_order))}"
             for module, names in by_module.items()]
    return lines + [f"import {name}" for name in plain]


def import_places(
    vocab: Vocabulary, corpus: TokenCorpus, positions: npt.NDArray[np.int32], name_token: int,
) -> list[tuple[int, ...]]:
    """The import lines holding the name token at ``positions`` (positions of that token)."""
    lines: list[tuple[int, ...]] = []
    for position in positions.tolist()[:_MAX_PLACES]:
        start = corpus.line_start(position)
        end = corpus.line_end(position)
        if start < 0 or int(corpus.tokens[start]) == SEPARATOR:
            continue
        line = tuple(int(token) for token in corpus.tokens[start + 1: end])
        if line and line[0] != name_token and _bare(vocab, line[0]) in {"from", "import"}:
            lines.append(line)
    return lines


def project_import_lines(
    vocab: Vocabulary, cursor: Cursor, project: ProjectIndex, excluded_files: frozenset[int],
) -> list[str]:
    """Import lines for the cursor, when it starts a top-level line among import lines (or above a
    parenthesised list of names); the modules come from the project's files other than ``excluded_files``.
    """
    if cursor.indent or cursor.line_typed:
        return []
    listed = listed_names(vocab, cursor.following.tolist())
    neighbours = [line for line in (*cursor.previous_lines[-1:], cursor.following_line) if line]
    if not listed and neighbours and not any(module_of(vocab, line) is not None for line in neighbours):
        return []
    corpus = project.corpus
    excluded = np.fromiter(excluded_files, dtype=np.int64)
    # A name is imported after ``import`` or after a comma of a ``from`` line; a module after line-start
    # ``import``.
    keys = [key for key in (vocab.lookup(text) for text in (" import", ",", "import")) if key is not None]
    places: dict[str, list[tuple[int, ...]]] = {}
    needed = listed or unbound_names(vocab, cursor.document)[:_MAX_NAMES]
    for name in needed:
        token = vocab.lookup(" " + name)
        if token is None:
            continue
        found: list[tuple[int, ...]] = []
        for key in keys:
            ranges = project.suffix_index.match_ranges(np.asarray([key, token], dtype=np.int32), 2)
            if len(ranges) < 2:
                continue
            positions = project.suffix_index.positions(ranges[-1].lo, ranges[-1].hi)
            files = np.searchsorted(corpus.file_starts, positions, side="right") - 1
            found += import_places(vocab, corpus, positions[~np.isin(files, excluded)], token)
        if found:
            places[name] = found
    return import_lines(vocab, [name for name in needed if name in places], places, opening=bool(listed))
