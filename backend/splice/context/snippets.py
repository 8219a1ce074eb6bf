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
    version: int
    lines: list[str]
    spans: list[tuple[int, int]]  # window -> (start line, end line)
    sizes: list[int]  # window -> number of distinct parts
    postings: dict[str, list[int]]  # part -> windows holding it


class OpenFileSnippets:
    """Finds the windows of other open documents most similar to the code at the cursor."""

    def __init__(self, window_lines: int = 20) -> None:
        self.window_lines = window_lines
        self._indexes: dict[str, _Index] = {}

    def forget(self, key: str) -> None:
        """Drop cached windows of a closed document."""
        self._indexes.pop(key, None)

    def _index_of(self, doc: SourceDocument) -> _Index:
        cached = self._indexes.get(doc.key)
        if cached is not None and cached.version == doc.version:
            return cached
        lines = doc.text.replace("\r\n", "\n").split("\n")
        size = self.window_lines
        step = max(1, size // 2)
        per_line = [line_parts(line) for line in lines]
        index = _Index(doc.version, lines, [], [], {})
        for start in range(0, max(1, len(lines) - step), step):
            end = min(len(lines), start + size)
            parts = frozenset().union(*per_line[start:end])
            if not parts:
                continue
            window = len(index.spans)
            index.spans.append((start, end))
            index.sizes.append(len(parts))
            for part in parts:
                index.postings.setdefault(part, []).append(window)
        self._indexes[doc.key] = index
        return index

    def find(self, query_text: str, documents: Iterable[SourceDocument], limit: int) -> list[Snippet]:
        """Up to ``limit`` snippets, best first, never two overlapping windows of one document."""
        query = identifier_parts(query_text)
        if not query or limit <= 0:
            return []
        scored: list[tuple[float, str, int, str, _Index]] = []
        for doc in documents:
            index = self._index_of(doc)
            shared: dict[int, int] = {}
            for part in query:
                for window in index.postings.get(part, ()):
                    shared[window] = shared.get(window, 0) + 1
            for window, inter in shared.items():
                score = inter / (len(query) + index.sizes[window] - inter)
                if score >= MIN_SCORE:
                    scored.append((score, doc.path, window, doc.key, index))
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
