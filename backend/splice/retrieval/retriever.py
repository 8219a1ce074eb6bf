"""Repository snippets for a cursor: lexical and semantic search in parallel, fused, filtered, ordered.

The query is the code around the cursor (the last lines of the prefix and the rest of the cursor's line
and the next few). BM25 over identifier terms runs on the calling thread while nearest-neighbour search over
embeddings runs on a small thread pool beside it (SQLite and numpy both release the GIL); the semantic side
is fused, by reciprocal rank fusion, only if it has answered by the deadline, and the snippet sources'
own deadline bounds what a request waits for either, so a slow side costs quality, never latency. Chunks that
overlap the lines already in the prompt's window, or each other, are dropped. The result is ordered by a
stable key (path, then line) rather than by score, so the prompt's leading snippet blocks stay the same
from one keystroke to the next and an inference server's KV cache can reuse them.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import TYPE_CHECKING

from splice.context.prompt import Snippet
from splice.logging import get_logger
from splice.retrieval.fusion import reciprocal_rank_fusion
from splice.retrieval.index import Hit, RepositoryIndex
from splice.retrieval.lexical import focus_identifiers
from splice.retrieval.query import RetrievalQuery, query_text

if TYPE_CHECKING:
    from splice.retrieval.semantic import VectorTable
    from splice.retrieval.static_model import StaticEncoder

log = get_logger()

CANDIDATES = 20
SOURCE = "retrieval"

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="splice-retrieval")


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


class Retriever:
    """Searches one index (a workspace's or a tenant artifact's)."""

    def __init__(self, index: RepositoryIndex, *, encoder: StaticEncoder | None = None,
                 vectors: VectorTable | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.vectors = vectors

    def search(self, text: str, limit: int, *, deadline_s: float = 1.0, exclude_path: str | None = None,
               cursor_line: str | None = None) -> list[Hit]:
        """Chunks for ``text``, best first by fused rank, their score the fused score. ``cursor_line`` (by
        default the last line of ``text``) names the identifiers whose definitions rank first."""
        started = time.perf_counter()
        focus = focus_identifiers(text.rsplit("\n", 1)[-1] if cursor_line is None else cursor_line)
        semantic = _POOL.submit(self._semantic, text) if self.encoder is not None and self.vectors is not None \
            else None
        rankings: list[list[int]] = []
        found: dict[int, Hit] = {}
        # The lexical half runs on the calling thread while the semantic half runs beside it: one thread
        # hand-off fewer on the path a request waits for (back to back after a keystroke, a pool thread for
        # it too cost about 0.8 ms of context assembly in scripts/bench-server, side by side).
        try:
            lexical = self._lexical(text, focus, exclude_path)
        except Exception as exc:  # the semantic half may still answer
            log.warning("retrieval.lexical_failed", error=repr(exc))
            lexical = []
        for hits in lexical:
            rankings.append([h.chunk_id for h in hits])
            found.update((h.chunk_id, h) for h in hits)
        if semantic is not None:
            remaining = max(0.0, deadline_s - (time.perf_counter() - started))
            done, _ = concurrent.futures.wait([semantic], timeout=remaining)
            if semantic in done and semantic.exception() is None:
                rankings.append([chunk_id for chunk_id, _ in semantic.result()])
        fused = reciprocal_rank_fusion(rankings)
        missing = [chunk_id for chunk_id, _ in fused if chunk_id not in found]
        if missing:
            found.update(self.index.hits(missing))
        out: list[Hit] = []
        for chunk_id, score in fused:
            hit = found.get(chunk_id)
            if hit is None or (exclude_path is not None and hit.path == exclude_path):
                continue
            out.append(Hit(chunk_id=hit.chunk_id, path=hit.path, language=hit.language, symbol=hit.symbol,
                           start_line=hit.start_line, end_line=hit.end_line, text=hit.text, score=score))
            if len(out) >= limit:
                break
        return out

    def _lexical(self, text: str, focus: list[str], exclude_path: str | None) -> list[list[Hit]]:
        """Two BM25 rankings: definitions of the identifiers at the cursor, then the whole query's terms."""
        definitions = self.index.definitions(focus, CANDIDATES, exclude_path=exclude_path)
        return [definitions, self.index.lexical(text, CANDIDATES, exclude_path=exclude_path)]

    def _semantic(self, text: str) -> list[tuple[int, float]]:
        assert self.encoder is not None and self.vectors is not None
        vector = self.encoder.encode([text])[0]
        return self.vectors.search(vector, CANDIDATES)

    def snippets(self, query: RetrievalQuery, *, deadline_s: float) -> list[Snippet]:
        """Up to ``query.limit`` snippets for the cursor, in stable order, none overlapping the window or each other."""
        text = query_text(query.prefix, query.suffix)
        if not text.strip():
            return []
        cursor_line = query.prefix.rsplit("\n", 1)[-1]
        window = (query.window_start, query.window_end)
        chosen: list[Hit] = []
        for hit in self.search(text, CANDIDATES, deadline_s=deadline_s, cursor_line=cursor_line):
            span = (hit.start_line, hit.end_line)
            # Artifact paths start with the repository's name; the document's path is inside its repository.
            same_file = hit.path == query.path or hit.path.endswith("/" + query.path)
            if same_file and _overlaps(span, window):
                continue
            if any(c.path == hit.path and _overlaps(span, (c.start_line, c.end_line)) for c in chosen):
                continue
            if any(hit.text.strip() == c.text.strip() for c in chosen):
                continue
            chosen.append(hit)
            if len(chosen) >= query.limit:
                break
        chosen.sort(key=lambda h: (h.path, h.start_line, h.chunk_id))
        return [Snippet(path=h.path, text=h.text if h.text.endswith("\n") else h.text + "\n",
                        start_line=h.start_line, end_line=h.end_line, score=round(h.score, 6), source=SOURCE)
                for h in chosen]
