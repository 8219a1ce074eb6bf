"""The repository search started on a change is the one the following completion request uses."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from splice.config import Settings
from splice.context.prompt import Snippet
from splice.server.retrieval import LIVE_UPDATE_MAX_CHARS, ServerRetrieval

SNIPPET = Snippet(path="lib.py", text="def helper():\n    pass\n", start_line=0, end_line=2, score=1.0,
                  source="retrieval")


class CountingRetrieval:
    def __init__(self) -> None:
        self.queries: list[Any] = []
        self.lock = threading.Lock()

    def snippets(self, query: Any, deadline_s: float) -> list[Snippet]:
        with self.lock:
            self.queries.append(query)
        return [SNIPPET]


def service() -> tuple[ServerRetrieval, CountingRetrieval]:
    server = SimpleNamespace(settings=Settings(), root=None)
    retrieval = ServerRetrieval(server)
    counting = CountingRetrieval()
    retrieval.retrieval = counting  # type: ignore[assignment]
    return retrieval, counting


TEXT = "import lib\n\n\ndef main():\n    lib.hel\n"
CURSOR = TEXT.index("hel") + 3


async def test_completion_at_the_end_of_a_change_reuses_the_prefetched_search() -> None:
    retrieval, counting = service()
    retrieval.prefetch("file:///w/a.py", "a.py", TEXT, CURSOR)
    found = await retrieval.search("a.py", TEXT, CURSOR, "file:///w/a.py")
    assert found == (SNIPPET,)
    assert len(counting.queries) == 1


async def test_a_request_elsewhere_searches_for_itself() -> None:
    retrieval, counting = service()
    retrieval.prefetch("file:///w/a.py", "a.py", TEXT, CURSOR)
    await retrieval.search("a.py", TEXT, CURSOR - 3, "file:///w/a.py")
    await retrieval._prefetched["file:///w/a.py"][1]  # the prefetch ran, and was not what answered
    assert len(counting.queries) == 2
    assert counting.queries[0] != counting.queries[1]


async def test_a_large_document_is_reindexed_on_save_not_on_every_change() -> None:
    retrieval, counting = service()
    counting.root = Path("/w")  # type: ignore[attr-defined]
    small, large = "x = 1\n", "x = 1\n" * (LIVE_UPDATE_MAX_CHARS // 6 + 1)
    retrieval.document_changed("file:///w/small.py", small)
    retrieval.document_changed("file:///w/large.py", large)
    assert set(retrieval._updates) == {"file:///w/small.py"}
    retrieval.document_changed("file:///w/large.py", large, saved=True)
    assert set(retrieval._updates) == {"file:///w/small.py", "file:///w/large.py"}
    retrieval.close()
