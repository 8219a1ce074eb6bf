"""Snippets from the other open documents, chosen by Jaccard similarity of identifier sets.

Each other document is cut into sliding windows of lines; the query is the identifier set of the code
just before the cursor (and the line after it). Windows are scored through an inverted index from
identifier part to window, so only windows that share something with the query cost anything; the best
non-overlapping ones are kept, ties broken by path and line so the choice is deterministic. Windows are
cached per document text, so a keystroke costs only the scoring; a large document's windows are cut on a
background thread (:mod:`splice.derived`) and one past ``CONTEXT_SOURCE_MAX_CHARS`` has none, so
no completion waits for another document's size.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from splice.context.identifiers import identifier_parts, jaccard, line_parts
from splice.context.prompt import Snippet
from splice.derived import CONTEXT_SOURCE_MAX_CHARS, DerivedCache
from splice.documents import lf_line_ends

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MIN_SCORE = 0.08


@dataclass(frozen=True, kw_only=True)
class SourceDocument:
    """Another open document, as the snippet finder sees it."""

    key: str  # URI or path: unique per document
    path: str  # shown in the prompt
    version: int
    text: str


_SERIALS = itertools.count()


@dataclass
class _Index:
    serial: int  # unique per build: caches key on it, since a document's text can recur
    lines: list[str]
    spans: list[tuple[int, int]]  # window -> (start line, end line)
    sizes: npt.NDArray[np.int32]  # window -> number of distinct parts
    postings: dict[str, npt.NDArray[np.int32]]  # part -> windows holding it


@dataclass
class _Merged:
    key: tuple[tuple[str, int], ...]
    docs: list[SourceDocument]
    indexes: list[_Index]
    doc_of: npt.NDArray[np.int32]  # merged window -> document rank
    local: npt.NDArray[np.int32]  # merged window -> window within its document
    sizes: npt.NDArray[np.int32]
    postings: dict[str, npt.NDArray[np.int32]]


class OpenFileSnippets:
    """Finds the windows of other open documents most similar to the code at the cursor."""

    def __init__(self, window_lines: int = 20) -> None:
        self.window_lines = window_lines
        self._indexes: DerivedCache[_Index] = DerivedCache(self._index_of, max_chars=CONTEXT_SOURCE_MAX_CHARS,
                                                           name="splice-open-windows")
        self._paths: dict[str, str] = {}  # key -> the path its windows were redacted for
        self._answers: dict[tuple[object, ...], list[Snippet]] = {}
        self._merged: _Merged | None = None

    def prepare(self, document: SourceDocument) -> None:
        """Cut a newly opened document's windows now (a large one's on the background thread), so the first
        request from another document does not cut them all while the editor waits."""
        self._ready((document,))

    def forget(self, key: str) -> None:
        """Drop cached windows of a closed document."""
        self._indexes.forget(key)
        self._paths.pop(key, None)
        self._answers.clear()

    def _index_of(self, key: str, text: str) -> _Index:
        import numpy as np  # noqa: PLC0415 - numpy loads after the initialize reply, not before

        from splice.workspace import shared_text  # noqa: PLC0415 - with its redactor, after the reply too

        # Windows go into the prompt of another document, so they are cut from the redacted text.
        lines = shared_text(self._paths.get(key, key), lf_line_ends(text)).split("\n")
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
        return _Index(
            next(_SERIALS), lines, spans, np.asarray(sizes, dtype=np.int32),
            {part: np.asarray(ws, dtype=np.int32) for part, ws in postings.items()},
        )

    def _ready(self, documents: Iterable[SourceDocument]) -> list[tuple[SourceDocument, _Index]]:
        """The documents whose windows are ready now, each with them."""
        ready = []
        for doc in documents:
            self._paths[doc.key] = doc.path
            index = self._indexes.get(doc.key, doc.text)
            if index is not None:
                ready.append((doc, index))
        return ready

    def find(self, query_text: str, documents: Iterable[SourceDocument], limit: int) -> list[Snippet]:
        """Up to ``limit`` snippets, best first, never two overlapping windows of one document."""
        query = identifier_parts(query_text)
        if not query or limit <= 0:
            return []
        ready = self._ready(documents)
        # Typing inside a line rarely changes the query's identifier set, so the same answer recurs from one
        # keystroke to the next: remember the last few.
        key = (frozenset(query), tuple((d.key, index.serial) for d, index in ready), limit)
        cached = self._answers.get(key)
        if cached is not None:
            return cached
        found = self._find(query, ready, limit)
        self._answers[key] = found
        if len(self._answers) > 64:
            self._answers.pop(next(iter(self._answers)))
        return found

    def _merged_of(self, ready: list[tuple[SourceDocument, _Index]]) -> _Merged:
        """One index over all ready documents' windows, rebuilt only when one of them changes."""
        import numpy as np  # noqa: PLC0415 - numpy loads after the initialize reply, not before

        key = tuple((d.key, index.serial) for d, index in ready)
        if self._merged is not None and self._merged.key == key:
            return self._merged
        documents = [d for d, _ in ready]
        indexes = [index for _, index in ready]
        # Documents in path order, so window numbers, and with them tie-breaks, follow paths.
        order = sorted(range(len(documents)), key=lambda i: (documents[i].path, documents[i].key))
        parts: dict[str, list[npt.NDArray[np.int32]]] = {}
        doc_of: list[npt.NDArray[np.int32]] = []
        local: list[npt.NDArray[np.int32]] = []
        offset = 0
        for rank, i in enumerate(order):
            index = indexes[i]
            count = len(index.spans)
            for part, windows in index.postings.items():
                parts.setdefault(part, []).append(windows + offset)
            doc_of.append(np.full(count, rank, dtype=np.int32))
            local.append(np.arange(count, dtype=np.int32))
            offset += count
        empty = np.zeros(0, dtype=np.int32)
        self._merged = _Merged(
            key=key,
            docs=[documents[i] for i in order],
            indexes=[indexes[i] for i in order],
            doc_of=np.concatenate(doc_of) if doc_of else empty,
            local=np.concatenate(local) if local else empty,
            sizes=np.concatenate([indexes[i].sizes for i in order]) if order else empty,
            postings={part: np.concatenate(ws) if len(ws) > 1 else ws[0] for part, ws in parts.items()},
        )
        return self._merged

    def _find(self, query: set[str], ready: list[tuple[SourceDocument, _Index]], limit: int) -> list[Snippet]:
        import numpy as np  # noqa: PLC0415 - numpy loads after the initialize reply, not before

        merged = self._merged_of(ready)
        hits = [merged.postings[part] for part in query if part in merged.postings]
        if not hits:
            return []
        # Intersection sizes for every window at once: how many query parts each window holds.
        shared = np.bincount(np.concatenate(hits), minlength=len(merged.sizes))
        scores = jaccard(shared, len(query), merged.sizes)
        candidates = np.flatnonzero(scores >= MIN_SCORE)
        # Best score first; ties by path (window numbers follow path order), then line.
        ranked = candidates[np.lexsort((candidates, -scores[candidates]))]
        chosen: list[Snippet] = []
        taken: dict[int, list[tuple[int, int]]] = {}
        for window in ranked:
            rank = int(merged.doc_of[window])
            index = merged.indexes[rank]
            start, end = index.spans[int(merged.local[window])]
            spans = taken.setdefault(rank, [])
            if any(start < e and s < end for s, e in spans):
                continue
            spans.append((start, end))
            text = "\n".join(index.lines[start:end]).strip("\n")
            chosen.append(
                Snippet(path=merged.docs[rank].path, text=text + "\n", start_line=start, end_line=end,
                        score=round(float(scores[window]), 4), source="open_files")
            )
            if len(chosen) >= limit:
                break
        return chosen
