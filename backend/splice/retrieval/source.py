"""Repository retrieval as a snippet source: one query window, and searches started before they are asked for.

The workspace index and a tenant's artifact are both searched through :class:`RepositorySource`. The query
for a cursor is :func:`splice.retrieval.retriever.query_at` whoever asks, so the server, ``splice
complete`` and the evaluation retrieve for the same lines. A search runs on a worker thread; the source
remembers the latest few by query, so the same query asked again (a request at a cursor the server
prepared, an explicit request after an automatic one) picks up the running or finished search instead of
running it twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from splice.context.prompt import Snippet
from splice.context.sources import SnippetQuery
from splice.retrieval.query import RetrievalQuery, query_at

if TYPE_CHECKING:
    from splice.config import Settings
    from splice.context.tokens import TokenCounter
    from splice.retrieval.live import Retrieval

_REMEMBERED = 8  # searches kept by query: one per recently edited document is enough


class RepositorySource:
    """Snippets from whichever index ``retrieval()`` returns now (None: retrieval is off or not ready)."""

    def __init__(self, retrieval: Callable[[], Retrieval | None], settings: Callable[[], Settings], *,
                 name: str = "retrieval", counter: Callable[[], TokenCounter | None] = lambda: None) -> None:
        self.name = name
        self._retrieval = retrieval
        self._settings = settings
        self._counter = counter
        self._searches: OrderedDict[RetrievalQuery, asyncio.Future[list[Snippet]]] = OrderedDict()

    def _query(self, query: SnippetQuery) -> RetrievalQuery | None:
        settings = self._settings()
        if settings.retrieval_deadline_ms <= 0 or query.limit <= 0 or self._retrieval() is None:
            return None
        return query_at(query.path, query.text, query.offset, settings)

    def _start(self, query: RetrievalQuery) -> asyncio.Future[list[Snippet]]:
        running = self._searches.get(query)
        if running is not None and not (running.done() and (running.cancelled() or running.exception())):
            self._searches.move_to_end(query)
            return running
        retrieval = self._retrieval()
        assert retrieval is not None
        deadline = self._settings().retrieval_deadline_ms / 1000
        running = asyncio.get_running_loop().run_in_executor(None, self._search, retrieval, query, deadline)
        # A search nobody ends up awaiting must not log an unretrieved exception.
        running.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._searches[query] = running
        while len(self._searches) > _REMEMBERED:
            self._searches.popitem(last=False)
        return running

    def _search(self, retrieval: Retrieval, query: RetrievalQuery, deadline: float) -> list[Snippet]:
        """On a worker thread: the search, then the snippets' token counts, which the prompt builder would
        otherwise compute on the event loop while the request waits."""
        found = retrieval.snippets(query, deadline)
        counter = self._counter()
        if counter is not None and found:
            counter.count_snippets(found)
        return found

    def search(self, query: SnippetQuery) -> Awaitable[tuple[Snippet, ...]]:
        """The repository's snippets for the cursor (the remembered search when one matches)."""
        retrieval_query = self._query(query)
        if retrieval_query is None:
            return _nothing()
        return _snippets_of(self._start(retrieval_query), self.name)

    def clear(self) -> None:
        """Forget remembered searches (the index they ran on was replaced)."""
        self._searches.clear()


async def _nothing() -> tuple[Snippet, ...]:
    return ()


async def _snippets_of(running: asyncio.Future[list[Snippet]], source: str) -> tuple[Snippet, ...]:
    # Shielded: the collector's deadline cancels the wait, not a search another request may still pick up.
    found = await asyncio.shield(running)
    # Labelled by this source, so a prompt (and its telemetry) says whether a snippet came from the
    # workspace or from the tenant's artifact.
    return tuple(s if s.source == source else dataclasses.replace(s, source=source) for s in found)
