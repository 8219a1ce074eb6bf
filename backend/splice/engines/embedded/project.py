"""The project level of the cache: every indexable source file of the workspace, as read from disk.

Built once, off the event loop, then never mutated: readers on other threads need no locks, and a rebuilt
index simply replaces the old one. Besides the reversed suffix array for left-context search it keeps a
table from a line's tokens to where that line occurs, which answers the other question ranking asks: which
lines elsewhere are followed by the line that follows the cursor?
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splice.engines.embedded.corpus import TokenCorpus, corpus_from_lines
from splice.engines.embedded.lexer import Vocabulary
from splice.engines.embedded.suffix_index import ReversedSuffixIndex
from splice.languages import language_for_path
from splice.logging import get_logger
from splice.workspace import WalkLimits, workspace_files

_log = get_logger()


def _line_key(tokens: Iterable[int]) -> bytes:
    return np.fromiter(tokens, dtype=np.int32).tobytes()


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
    line_table: dict[bytes, tuple[int, ...]]  # content tokens of a line -> positions of its line-break token

    def file_number(self, path: str) -> int | None:
        return self.path_numbers.get(path)

    def occurrences_of_line(self, content: Iterable[int]) -> tuple[int, ...]:
        """Positions of the line-break tokens of lines whose content is exactly ``content``."""
        return self.line_table.get(_line_key(content), ())


def build_project(root: Path, vocab: Vocabulary, limits: WalkLimits, max_line_positions: int) -> ProjectIndex:
    """Read, lex and index the code files under ``root``."""
    files: list[list[tuple[int, ...]]] = []
    paths: list[str] = []
    directory_ids: dict[str, int] = {}
    directories: list[int] = []
    for source in workspace_files(root, limits):
        if language_for_path(source.path) == "plaintext":
            continue
        absolute = os.path.normpath(str(root / source.path))
        paths.append(absolute)
        directories.append(directory_ids.setdefault(os.path.dirname(absolute), len(directory_ids)))
        files.append(list(vocab.line_stream(source.text.split("\n"))))
    corpus = corpus_from_lines(files)
    line_table: dict[bytes, list[int]] = {}
    position = 0
    for number, lines in enumerate(files):
        if number:
            position += 1  # the separator
        for line in lines:
            if len(line) > 1:
                bucket = line_table.setdefault(_line_key(line[1:]), [])
                # Very common lines ("else:", "return") say little about what precedes them.
                if len(bucket) < max_line_positions:
                    bucket.append(position)
            position += len(line)
    suffix_index = ReversedSuffixIndex(corpus.tokens)
    # Tuples of ints are dropped from the cycle collector's tracking, lists never are: with hundreds of
    # thousands of buckets, lists made every full collection (and the request it lands in) ~70 ms slower.
    frozen = {key: tuple(bucket) for key, bucket in line_table.items()}
    _log.info("embedded.project_indexed", root=str(root), files=len(paths), tokens=corpus.size,
              vocabulary=len(vocab))
    return ProjectIndex(root=root, corpus=corpus, suffix_index=suffix_index, paths=tuple(paths),
                        path_numbers={path: number for number, path in enumerate(paths)},
                        directories=np.asarray(directories, dtype=np.int32), directory_ids=directory_ids,
                        line_table=frozen)
