"""The project level of the cache: every indexable source file of the workspace, as read from disk.

Built once, off the event loop, then never mutated: readers on other threads need no locks, and a rebuilt
index simply replaces the old one. Besides the reversed suffix array for left-context search it keeps a
line table, which answers the other question ranking asks: which lines elsewhere are followed by the line
that follows the cursor? Everything is a flat numpy array (tokens, boundaries, suffix array, and the line
table as sorted hashes of line contents beside where each line starts), so :mod:`project_cache` can store
the index and map it back into memory in milliseconds instead of lexing the workspace again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from splice.engines.embedded.corpus import TokenCorpus
from splice.engines.embedded.lexer import SEPARATOR, TokenArray, Vocabulary
from splice.engines.embedded.suffix_index import ReversedSuffixIndex
from splice.languages import language_for_path
from splice.workspace import WalkLimits, WorkspaceEntry, read_entry, workspace_entries

# Line contents are hashed as the polynomial sum of token * BASE**offset modulo 2**64 (numpy's unsigned
# arithmetic wraps), plus the length; a lookup checks the tokens, so a collision costs nothing but time.
_BASE = np.uint64(0x9E3779B97F4A7C15)
_LENGTH_MIX = np.uint64(0xC2B2AE3D27D4EB4F)
_BLOCK_TOKENS = 1 << 20

LineKeys = npt.NDArray[np.uint64]
Positions = npt.NDArray[np.int64]


def _powers(count: int) -> LineKeys:
    """``BASE**0 .. BASE**(count-1)`` modulo 2**64."""
    powers = np.full(count, _BASE, dtype=np.uint64)
    if count:
        powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)


def line_key(content: TokenArray) -> int:
    """The hash of one line's content tokens, as :func:`line_table` computes it for every line."""
    weighted = content.astype(np.uint64) * _powers(int(content.size))
    # In Python integers: numpy warns when a scalar (unlike an array) wraps around.
    return (int(weighted.sum(dtype=np.uint64)) + int(content.size) * int(_LENGTH_MIX)) % 2**64


@dataclass(frozen=True, eq=False)
class ProjectIndex:
    """The workspace's files as one corpus, with its suffix array and line table."""

    root: Path | None
    corpus: TokenCorpus
    suffix_index: ReversedSuffixIndex
    paths: tuple[str, ...]  # absolute, normalised; index = file number in the corpus
    path_numbers: dict[str, int]
    directories: npt.NDArray[np.int32]  # per file, a number shared by files of one directory
    directory_ids: dict[str, int]
    line_keys: LineKeys  # sorted hashes of line contents (lines with content only)
    line_positions: Positions  # the line-break token of each, ascending among equal hashes

    def file_number(self, path: str) -> int | None:
        return self.path_numbers.get(path)

    def occurrences_of_line(self, content: Iterable[int]) -> tuple[int, ...]:
        """Positions of the line-break tokens of lines whose content is exactly ``content``."""
        wanted = np.fromiter(content, dtype=np.int32)
        if wanted.size == 0:
            return ()
        key = np.uint64(line_key(wanted))
        lo = int(np.searchsorted(self.line_keys, key, side="left"))
        hi = int(np.searchsorted(self.line_keys, key, side="right"))
        if lo >= hi:
            return ()
        corpus = self.corpus
        starts = np.asarray(self.line_positions[lo:hi], dtype=np.int64)
        following = np.searchsorted(corpus.boundaries, starts, side="right")
        ends = np.where(following < corpus.boundaries.size,
                        corpus.boundaries[np.minimum(following, corpus.boundaries.size - 1)], corpus.size)
        starts = starts[ends == starts + 1 + wanted.size]
        if starts.size:
            window = corpus.tokens[starts[:, None] + 1 + np.arange(wanted.size)]
            starts = starts[(window == wanted).all(axis=1)]
        return tuple(starts.tolist())


def line_table(corpus: TokenCorpus, max_positions: int) -> tuple[LineKeys, Positions]:
    """Hashes of every line's content tokens, sorted, and where each such line starts; at most
    ``max_positions`` places per hash, the first ones, since very common lines ("else:", "return") say little
    about what precedes them."""
    starts = np.asarray(corpus.boundaries, dtype=np.int64)
    if not starts.size:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    lengths = np.diff(np.append(starts, corpus.size))
    sums = np.empty(starts.size, dtype=np.uint64)
    weights = np.zeros(int(lengths.max()) + 1, dtype=np.uint64)
    weights[1:] = _powers(int(lengths.max()))  # a content token weighs BASE**(its place); the line break 0
    tokens = np.asarray(corpus.tokens)
    first = 0
    while first < starts.size:  # in blocks of about a million tokens, so the temporaries stay small
        last = int(np.searchsorted(starts, starts[first] + _BLOCK_TOKENS, side="right"))
        last = max(last, first + 1)
        begin = int(starts[first])
        end = int(starts[last]) if last < starts.size else corpus.size
        offsets = np.arange(begin, end, dtype=np.int64) - np.repeat(starts[first:last], lengths[first:last])
        weighted = tokens[begin:end].astype(np.uint64) * weights[offsets]
        sums[first:last] = np.add.reduceat(weighted, starts[first:last] - begin, dtype=np.uint64)
        first = last
    keep = (lengths > 1) & (tokens[starts] != SEPARATOR)
    keys = sums[keep] + (lengths[keep] - 1).astype(np.uint64) * _LENGTH_MIX
    positions = starts[keep]
    order = np.argsort(keys, kind="stable")
    keys, positions = keys[order], positions[order]
    rank = np.arange(keys.size) - np.searchsorted(keys, keys, side="left")
    capped = rank < max_positions
    return keys[capped], positions[capped]


def file_tokens(vocab: Vocabulary, text: str) -> TokenArray:
    """One file's tokens as they stand in a project corpus: each non-blank line's break, then its content."""
    return np.fromiter(chain.from_iterable(vocab.line_stream(text.split("\n"))), dtype=np.int32)


def joined_corpus(files: Sequence[TokenArray], boundary_mask: npt.NDArray[np.bool_]) -> TokenCorpus:
    """The files' tokens in one corpus, a separator between each two; ``boundary_mask`` (per token id,
    :meth:`Vocabulary.boundary_mask`) finds the line breaks."""
    pieces: list[TokenArray] = []
    starts: list[int] = []
    offset = 0
    separator = np.asarray([SEPARATOR], dtype=np.int32)
    for number, tokens in enumerate(files):
        if number:
            pieces.append(separator)
            offset += 1
        starts.append(offset)
        pieces.append(tokens)
        offset += int(tokens.size)
    joined = np.concatenate(pieces).astype(np.int32, copy=False) if pieces else np.zeros(0, dtype=np.int32)
    # Every line begins with its break token and every file after the first with the separator, and no
    # content token is either: so these positions are exactly the corpus's boundaries.
    boundaries = np.flatnonzero(boundary_mask[joined]).astype(np.int64)
    return TokenCorpus(tokens=joined, boundaries=boundaries, file_starts=np.asarray(starts or [0], dtype=np.int64))


def project_index(root: Path, corpus: TokenCorpus, paths: Sequence[str], *, max_line_positions: int,
                  suffix_array: npt.NDArray[np.integer[Any]] | None = None,
                  lines: tuple[LineKeys, Positions] | None = None) -> ProjectIndex:
    """The index over ``corpus`` (whose files are ``paths``, absolute), computing the suffix array and the
    line table unless they are given (read back from a stored index)."""
    directory_ids: dict[str, int] = {}
    directories = [directory_ids.setdefault(os.path.dirname(path), len(directory_ids)) for path in paths]
    keys, positions = lines if lines is not None else line_table(corpus, max_line_positions)
    return ProjectIndex(root=root, corpus=corpus, suffix_index=ReversedSuffixIndex(corpus.tokens, suffix_array),
                        paths=tuple(paths), path_numbers={path: number for number, path in enumerate(paths)},
                        directories=np.asarray(directories, dtype=np.int32), directory_ids=directory_ids,
                        line_keys=keys, line_positions=positions)


def code_entries(root: Path, limits: WalkLimits) -> Iterator[WorkspaceEntry]:
    """The walk's files that are in a programming language: the only ones the engine learns from, so
    prose and data files are never even read."""
    return (entry for entry in workspace_entries(root, limits) if language_for_path(entry.path) != "plaintext")


def build_project(root: Path, vocab: Vocabulary, limits: WalkLimits, max_line_positions: int) -> ProjectIndex:
    """Read, lex and index the code files under ``root``, in memory."""
    files: list[TokenArray] = []
    paths: list[str] = []
    for entry in code_entries(root, limits):
        source = read_entry(entry, limits)
        if isinstance(source, str):
            continue
        paths.append(os.path.normpath(str(root / source.path)))
        files.append(file_tokens(vocab, source.text))
        if len(paths) >= limits.max_files:
            break
    return project_index(root, joined_corpus(files, vocab.boundary_mask()), paths,
                         max_line_positions=max_line_positions)
