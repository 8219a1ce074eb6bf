"""Snippets from the other open documents, chosen by Jaccard similarity of identifier sets.

Each other document is cut into sliding windows of lines; the query is the identifier set of the code
just before the cursor (and the line after it). Windows are scored through an inverted index from
identifier part to window, so only windows that share something with the query cost anything; the best
non-overlapping ones are kept, ties broken by path and line so the choice is deterministic. Windows are
cached per document version and line sets per line text, so a keystroke costs only the scoring.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from splice.context.identifiers import identifier_parts, line_parts
from splice.context.prompt import Snippet

MIN_SCORE = 0.08


@dataclass(frozen=True, kw_only=True)
class SourceDocument:
    """Another open document, as the snippet finder sees it."""

    key: str  # URI or path: unique per document
    path: str  # shown in the prompt
    version: int
    text: str


@dataclass
class _Index:
    version: tuple[int, int]
    lines: list[str]
    spans: list[tuple[int, int]]  # window -> (start line, end line)
    sizes: npt.NDArray[np.int32]  # window -> number of distinct parts
    postings: dict[str, npt.NDArray[np.int32]]  # part -> windows holding it


class OpenFileSnippets:
    """Finds the windows of other open documents most similar to the code at the cursor."""

    def __init__(self, window_lines: int = 20) -> None:
        self.window_lines = window_lines
        self._indexes: dict[str, _Index] = {}
        self._answers: dict[tuple[object, ...], list[Snippet]] = {}

    def forget(self, key: str) -> None:
        """Drop cached windows of a closed document."""
        self._indexes.pop(key, None)
        self._answers.clear()

    def _index_of(self, doc: SourceDocument) -> _Index:
        # The length guards against clients that never bump versions.
        version = (doc.version, len(doc.text))
        cached = self._indexes.get(doc.key)
        if cached is not None and cached.version == version:
            return cached
        lines = doc.text.replace("\r\n", "\n").split("\n")
        size = self.window_lines
        step = max(1, size // 2)
        per_line = [line_parts(line) for line in lines]
        spans: list[tuple[int, int]] = []
        sizes: list[int] = []
        postings: dict[str, list[int]] = {}
        for start in range(0, max(1, len(lines) - step), step):
            end = min(len(lines), start + size)
            parts = frozenset().union(*per_line[start:end])
            if not parts:
                continue
            window = len(spans)
            spans.append((start, end))
            sizes.append(len(parts))
            for part in parts:
                postings.setdefault(part, []).append(window)
        index = _Index(
            version, lines, spans, np.asarray(sizes, dtype=np.int32),
            {part: np.asarray(ws, dtype=np.int32) for part, ws in postings.items()},
        )
        self._indexes[doc.key] = index
        return index

    def find(self, query_text: str, documents: Iterable[SourceDocument], limit: int) -> list[Snippet]:
        """Up to ``limit`` snippets, best first, never two overlapping windows of one document."""
        query = identifier_parts(query_text)
        if not query or limit <= 0:
            return []
        documents = list(documents)
        # Typing inside a line rarely changes the query's identifier set, so the same answer recurs from one
        # keystroke to the next: remember the last few.
        key = (frozenset(query), tuple((d.key, d.version, len(d.text)) for d in documents), limit)
        cached = self._answers.get(key)
        if cached is not None:
            return cached
        found = self._find(query, documents, limit)
        self._answers[key] = found
        if len(self._answers) > 64:
            self._answers.pop(next(iter(self._answers)))
        return found

    def _find(self, query: set[str], documents: list[SourceDocument], limit: int) -> list[Snippet]:
        scored: list[tuple[float, str, int, str, _Index]] = []
        for doc in documents:
            index = self._index_of(doc)
            hits = [index.postings[part] for part in query if part in index.postings]
            if not hits:
                continue
            # Intersection sizes for every window at once: count how many query parts each window holds.
            inter = np.bincount(np.concatenate(hits), minlength=len(index.spans))
            scores = inter / (len(query) + index.sizes - inter)
            for window in np.flatnonzero(scores >= MIN_SCORE):
                scored.append((float(scores[window]), doc.path, int(window), doc.key, index))
        scored.sort(key=lambda item: (-item[0], item[1], item[2]))
        chosen: list[Snippet] = []
        taken: dict[str, list[tuple[int, int]]] = {}
        for score, path, window, key, index in scored:
            start, end = index.spans[window]
            spans = taken.setdefault(key, [])
            if any(start < e and s < end for s, e in spans):
                continue
            spans.append((start, end))
            text = "\n".join(index.lines[start:end]).strip("\n")
            chosen.append(
                Snippet(path=path, text=text + "\n", start_line=start, end_line=end,
                        score=round(score, 4), source="open_files")
            )
            if len(chosen) >= limit:
                break
        return chosen
