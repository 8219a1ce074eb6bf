"""A token corpus: token ids of one or many files in one array, with the line boundaries needed to read a
line back out of it.

Every level of the cache (the current document, other open documents, the project) is a ``TokenCorpus``, so
candidate extraction and ranking treat them alike. Files are joined with a separator token so no match runs
from one file into the next; ``boundaries`` holds the position of every line-break token and separator,
which is where a copied line ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import numpy.typing as npt

from splice.engines.embedded.lexer import SEPARATOR, TokenArray, Vocabulary


@dataclass(frozen=True, eq=False)
class TokenCorpus:
    """Tokens, line/file boundaries, and which file each stretch of tokens came from."""

    tokens: TokenArray
    boundaries: npt.NDArray[np.int64]  # sorted positions of line breaks and separators
    file_starts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def size(self) -> int:
        return int(self.tokens.size)

    def line_end(self, position: int) -> int:
        """The first boundary after ``position`` (or the corpus end): where the line holding it ends."""
        index = int(np.searchsorted(self.boundaries, position, side="right"))
        return int(self.boundaries[index]) if index < self.boundaries.size else self.size

    def line_start(self, position: int) -> int:
        """The boundary at or before ``position``: the line-break token that opens its line (or -1)."""
        index = int(np.searchsorted(self.boundaries, position, side="right")) - 1
        return int(self.boundaries[index]) if index >= 0 else -1

    def file_index(self, position: int) -> int:
        """Which of the joined files ``position`` lies in."""
        return int(np.searchsorted(self.file_starts, position, side="right")) - 1


def corpus_from_lines(files: Sequence[Iterable[tuple[int, ...]]]) -> TokenCorpus:
    """A corpus of ``files``, each given as its per-line token tuples (line break first), separated."""
    pieces: list[tuple[int, ...]] = []
    starts: list[int] = []
    offset = 0
    for number, lines in enumerate(files):
        if number:
            pieces.append((SEPARATOR,))
            offset += 1
        starts.append(offset)
        for line in lines:
            pieces.append(line)
            offset += len(line)
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    tokens = np.fromiter(chain.from_iterable(pieces), dtype=np.int32, count=int(lengths.sum()))
    # Every piece begins with a line break or a separator, so piece starts are exactly the boundaries.
    boundaries = np.concatenate(([0], np.cumsum(lengths)[:-1])) if lengths.size else lengths
    return TokenCorpus(tokens=tokens, boundaries=boundaries.astype(np.int64),
                       file_starts=np.asarray(starts or [0], dtype=np.int64))


def document_corpus(vocab: Vocabulary, texts: Sequence[tuple[str, int]]) -> TokenCorpus:
    """A corpus of document texts, each with the indentation its first line break is measured from."""
    return corpus_from_lines([list(vocab.line_stream(text.split("\n"), base)) for text, base in texts])
