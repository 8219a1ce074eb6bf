"""The server's repository sources: searches remembered by query, labelled by source, and an index that
follows the open documents."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from splice.config import Settings
from splice.context.prompt import Snippet
from splice.context.sources import SnippetQuery
from splice.open_documents import OpenDocument
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


def service(**settings: Any) -> tuple[ServerRetrieval, CountingRetrieval]:
    server = SimpleNamespace(settings=Settings(**settings), root=None, counter=None)
    retrieval = ServerRetrieval(server)  # type: ignore[arg-type]
    counting = CountingRetrieval()
    retrieval.workspace = counting  # type: ignore[assignment]
    return retrieval, counting


TEXT = "import lib\n\n\ndef main():\n    lib.hel\n"
CURSOR = TEXT.index("hel") + 3


def query(offset: int = CURSOR, text: str = TEXT) -> SnippetQuery:
    return SnippetQuery(key="file:///w/a.py", path="a.py", text=text, offset=offset, limit=4)


def document(path: Path, text: str, *, saved: bool = False) -> OpenDocument:
    return OpenDocument(key=path.as_uri(), path=str(path), shown=path.name, version=1, text=text, saved=saved)


async def test_the_same_query_asked_again_reuses_its_search() -> None:
    retrieval, counting = service()
    first = retrieval.workspace_source.search(query())
    second = retrieval.workspace_source.search(query())
    assert await first == await second == (SNIPPET,)
    assert len(counting.queries) == 1


async def test_a_query_at_another_cursor_searches_for_itself() -> None:
    retrieval, counting = service()
    await retrieval.workspace_source.search(query())
    await retrieval.workspace_source.search(query(CURSOR - 3))
    assert [q.prefix for q in counting.queries] == [TEXT[:CURSOR], TEXT[:CURSOR - 3]]


async def test_snippets_are_labelled_by_the_source_that_found_them() -> None:
    retrieval, counting = service()
    retrieval.artifact = counting  # type: ignore[assignment]
    found = await retrieval.artifact_source.search(query())
    assert [s.source for s in found] == ["customized"]


async def test_a_large_document_is_reindexed_on_save_not_on_every_change(tmp_path: Path) -> None:
    retrieval, counting = service()
    counting.root = tmp_path  # type: ignore[attr-defined]
    small, large = "x = 1\n", "x = 1\n" * (LIVE_UPDATE_MAX_CHARS // 6 + 1)
    retrieval.opened_or_changed(document(tmp_path / "small.py", small))
    retrieval.opened_or_changed(document(tmp_path / "large.py", large))
    assert set(retrieval._updates) == {(tmp_path / "small.py").as_uri()}
    retrieval.opened_or_changed(document(tmp_path / "large.py", large, saved=True))
    assert set(retrieval._updates) == {(tmp_path / "small.py").as_uri(), (tmp_path / "large.py").as_uri()}
    retrieval.close()


async def test_closing_a_document_reindexes_what_is_on_disk(tmp_path: Path) -> None:
    retrieval, counting = service()
    counting.root = tmp_path  # type: ignore[attr-defined]
    updates: list[tuple[Path, str]] = []
    counting.update_file = lambda path, text: updates.append((path, text))  # type: ignore[attr-defined]
    (tmp_path / "a.py").write_text("on_disk = 1\n")
    retrieval.opened_or_changed(document(tmp_path / "a.py", "unsaved = 2\n"))
    retrieval.closed(document(tmp_path / "a.py", "unsaved = 2\n"))
    while retrieval._updates:  # the re-index from disk is scheduled at once
        await asyncio.sleep(0)
    while retrieval._running:
        await asyncio.gather(*retrieval._running)
    assert updates == [(tmp_path / "a.py", "on_disk = 1\n")]


async def test_under_the_evaluation_guard_live_text_that_differs_from_disk_is_never_indexed(tmp_path: Path) -> None:
    retrieval, counting = service(evaluation_guard=str(tmp_path / "guard.json"))
    counting.root = tmp_path  # type: ignore[attr-defined]
    (tmp_path / "a.py").write_text("masked = 1\n")
    retrieval.opened_or_changed(document(tmp_path / "a.py", "masked = 1\nhidden = 2\n"))
    assert retrieval._updates == {}
    retrieval.opened_or_changed(document(tmp_path / "a.py", "masked = 1\n"))
    assert set(retrieval._updates) == {(tmp_path / "a.py").as_uri()}
    retrieval.close()
