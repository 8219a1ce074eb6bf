"""Where a prompt's snippets come from: one protocol for every source, and the open documents' source.

A prompt's snippets come from the other open documents, the repository's index and a tenant's artifact.
Each is a :class:`SnippetSource`: given the cursor as a :class:`SnippetQuery`, it starts its search at once
and returns something to await, so the prompt builder lays out the windows while the searches run and then
waits for them under one deadline (:func:`collect`). Every caller (the server, ``splice complete``, replay,
the evaluation) hands the same query to the same sources, so each source looks at the same lines around
the cursor whoever asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from splice.context.prompt import Snippet
from splice.context.snippets import OpenFileSnippets, SourceDocument
from splice.logging import get_logger
from splice.open_documents import OpenDocument

log = get_logger()

_QUERY_LINES = 15  # lines of prefix the open-documents source compares with other documents


@dataclass(frozen=True, kw_only=True)
class SnippetQuery:
    """The cursor, as every snippet source sees it.

    ``text`` is the whole document as the editor holds it (``\\n`` line ends) and ``offset`` the cursor's
    place in it; ``key`` identifies the document among the open ones (a URI in the server, a path
    elsewhere) so a source never offers the document its own text; ``path`` is the one shown in prompts."""

    key: str
    path: str
    text: str
    offset: int
    limit: int


@runtime_checkable
class SnippetSource(Protocol):
    """Something that finds code related to the cursor."""

    name: str

    def search(self, query: SnippetQuery) -> Awaitable[tuple[Snippet, ...]]:
        """Start looking now; the awaitable gives the snippets, best first, () when there are none."""
        ...


async def collect(searches: Sequence[Awaitable[tuple[Snippet, ...]]], deadline_s: float) -> tuple[Snippet, ...]:
    """The snippets of every search that finished within ``deadline_s`` (in the order given); a late or
    failing search costs its own snippets, never the completion."""
    if not searches:
        return ()
    tasks = [asyncio.ensure_future(search) for search in searches]
    done, late = await asyncio.wait(tasks, timeout=max(0.0, deadline_s))
    for task in late:
        task.cancel()
    if late:
        log.info("snippets.deadline", deadline_ms=round(deadline_s * 1000), late=len(late))
    found: list[Snippet] = []
    for task in tasks:
        if task not in done or task.cancelled():
            continue
        error = task.exception()
        if error is not None:
            log.warning("snippets.search_failed", error=repr(error))
            continue
        found.extend(task.result())
    return tuple(found)


class OpenDocumentSource:
    """Snippets from the other open documents (Jaccard similarity of identifier sets, see
    :mod:`splice.context.snippets`); a listener of :class:`splice.open_documents.OpenDocuments`."""

    name = "open_files"

    def __init__(self, window_lines: int = 20) -> None:
        self.finder = OpenFileSnippets(window_lines)
        self._open: dict[str, SourceDocument] = {}

    def opened_or_changed(self, document: OpenDocument) -> None:
        """The document is open with this text; a newly opened one has its windows cut ahead of use
        (a document being typed in is no source for itself, so its changes wait until another asks)."""
        new = document.key not in self._open
        source = SourceDocument(key=document.key, path=document.shown, version=document.version, text=document.text)
        self._open[document.key] = source
        if new:
            self.finder.prepare(source)

    def closed(self, document: OpenDocument) -> None:
        """The document is closed: its windows are dropped."""
        if self._open.pop(document.key, None) is not None:
            self.finder.forget(document.key)

    def search(self, query: SnippetQuery) -> Awaitable[tuple[Snippet, ...]]:
        """The windows of other open documents most like the code before the cursor (cheap: scored from
        cached windows on the calling thread)."""
        future: asyncio.Future[tuple[Snippet, ...]] = asyncio.get_running_loop().create_future()
        others = [doc for key, doc in self._open.items() if key != query.key]
        if query.limit <= 0 or not others:
            future.set_result(())
            return future
        future.set_result(tuple(self.finder.find(query_text(query.text, query.offset), others, query.limit)))
        return future


def query_text(text: str, offset: int) -> str:
    """The code the open-documents source compares: the last lines before the cursor at ``offset`` and the
    rest of the cursor's line, cut from the document in place rather than from copies of its prefix and
    suffix, which in a long document are most of its text."""
    start = offset
    for _ in range(_QUERY_LINES):
        start = text.rfind("\n", 0, start)
        if start <= 0:
            start = 0
            break
    line_end = text.find("\n", offset + 1)
    return text[start: line_end if line_end > 0 else len(text)]
