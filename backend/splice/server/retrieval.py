"""Repository retrieval inside the language server: which index, when it is built, how it stays fresh.

With a ``tenant`` setting the server opens that tenant's published artifact under ``artifactsDir`` and
nothing else; without one it indexes the workspace in the background, reporting work-done progress to the
editor (``window/workDoneProgress/create``, then ``$/progress`` begin/report/end) when the client supports
it, and re-indexes a file shortly after it changes or is saved. A change of ``tenant``, ``artifactsDir`` or
``retrievalDeadlineMs`` at run time closes what is open and opens what the new settings name; from that
moment no snippet of the previous tenant is served (the engine learns from the snippets, and the Triton task
id follows the same setting, so all three switch together). Completions ask for snippets with a hard
deadline: retrieval runs on a worker thread under ``asyncio.wait_for``, and a late answer is dropped, never
waited for.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splice import config
from splice.errors import RetrievalError, SpliceError
from splice.logging import get_logger
from splice.server.params import uri_to_path

if TYPE_CHECKING:
    from splice.config import Settings
    from splice.context.prompt import Snippet
    from splice.retrieval.live import Retrieval
    from splice.server.app import LanguageServer

log = get_logger()

UPDATE_DELAY_S = 0.3  # a burst of keystrokes re-indexes the file once
LIVE_UPDATE_MAX_CHARS = 128 * 1024  # above this, unsaved text is indexed on save only
_PROGRESS_INTERVAL_S = 0.25


async def _nothing() -> tuple[Snippet, ...]:
    return ()


class ServerRetrieval:
    """Retrieval state of one server."""

    def __init__(self, server: LanguageServer) -> None:
        self.server = server
        self.retrieval: Retrieval | None = None
        self.work_done_progress = False
        self._task: asyncio.Task[None] | None = None
        self._updates: dict[str, asyncio.TimerHandle] = {}
        self._closed = False
        self._running: set[asyncio.Task[None]] = set()  # held so updates are not collected mid-flight
        # uri -> (query, search): a search started when the document changed, for the completion request
        # that usually follows at the end of that change.
        self._prefetched: dict[str, tuple[Any, asyncio.Future[list[Snippet]]]] = {}
        self._generation = 0  # bumped on each switch: work of an earlier one never lands

    def start(self) -> None:
        """Open the index in the background (once)."""
        if self._task is None and self.server.settings.retrieval_deadline_ms > 0:
            self._task = asyncio.get_running_loop().create_task(self._open(self._generation))

    def settings_changed(self, before: Settings, after: Settings) -> None:
        """Switch to the index the new settings name, if it is another one."""
        keys = ("tenant", "artifacts_dir", "retrieval_deadline_ms")
        if all(getattr(before, k) == getattr(after, k) for k in keys) or self._task is None:
            return
        self._generation += 1
        old, self.retrieval = self.retrieval, None
        self._prefetched.clear()
        self._cancel_updates()
        self._task.cancel()
        self._task = None
        if old is not None:
            self._close_later(old)
        log.info("retrieval.switched", tenant=after.tenant or None)
        self.start()

    def _cancel_updates(self) -> None:
        for handle in self._updates.values():
            handle.cancel()
        self._updates.clear()

    def _close_later(self, retrieval: Retrieval) -> None:
        """Close a replaced index once the searches and updates still using it have had time to end."""
        def close() -> None:
            try:
                retrieval.close()
            except Exception:  # closing an index nobody uses any more must not disturb the server
                log.exception("retrieval.close_failed")

        asyncio.get_running_loop().call_later(5.0, close)

    async def _open(self, generation: int) -> None:
        from splice.retrieval.live import Retrieval  # noqa: PLC0415 - loaded after the initialize reply

        settings = self.server.settings
        try:
            if settings.tenant:
                if not settings.artifacts_dir:
                    self.server.show_message(2, f"tenant {settings.tenant!r} is set but artifactsDir is not; "
                                                "completing without the tenant's customization")
                    return
                opened = await asyncio.to_thread(Retrieval.for_tenant, config.artifacts_root(settings),
                                                 settings.tenant)
                if generation != self._generation:
                    opened.close()
                    return
                self.retrieval = opened
                log.info("retrieval.tenant_artifact", tenant=settings.tenant)
                return
            if self.server.root is None:
                return
            retrieval = await asyncio.to_thread(Retrieval.for_workspace, Path(self.server.root))
            if generation != self._generation:
                retrieval.close()
                return
            self.retrieval = retrieval  # searchable at once with whatever an earlier run indexed
            await self._rebuild(retrieval, generation)
        except RetrievalError as exc:
            log.warning("retrieval.unavailable", error=exc.message)
            self.server.show_message(2, f"repository retrieval is off: {exc.message}")
        except Exception:  # retrieval is an enhancement: never take the server down with it
            log.exception("retrieval.failed")

    async def _rebuild(self, retrieval: Retrieval, generation: int) -> None:
        connection = self.server.connection
        token = f"splice-index-{uuid.uuid4().hex[:8]}"
        reporting = False
        if connection is not None and self.work_done_progress:
            try:
                await connection.request("window/workDoneProgress/create", {"token": token}, timeout=5.0)
                reporting = True
            except (SpliceError, TimeoutError):
                reporting = False
        loop = asyncio.get_running_loop()
        last = [0.0]

        def report(value: dict[str, Any]) -> None:
            if reporting and connection is not None and not self._closed:
                connection.notify("$/progress", {"token": token, "value": value})

        def progress(message: str, done: int, total: int) -> None:
            now = time.monotonic()
            if total and done < total and now - last[0] < _PROGRESS_INTERVAL_S:
                return
            last[0] = now
            value: dict[str, Any] = {"kind": "report", "message": message}
            if total:
                value["percentage"] = min(100, int(100 * done / total))
            loop.call_soon_threadsafe(report, value)

        report({"kind": "begin", "title": "Splice: indexing the workspace", "cancellable": False,
                "percentage": 0})
        try:
            result = await asyncio.to_thread(retrieval.rebuild, progress,
                                             lambda: self._closed or generation != self._generation)
        except BaseException:
            report({"kind": "end", "message": "indexing failed"})
            raise
        report({"kind": "end", "message": f"indexed {result.files} files ({result.indexed} changed)"})

    def prefetch(self, uri: str, path: str, text: str, offset: int) -> None:
        """Start the search a completion at ``offset`` would run, so that the request finds it done.

        Editors send the change and then the completion request for the cursor at its end; the search only
        depends on the text, so it can run in the gap between the two. One search per document at a time.
        """
        retrieval = self.retrieval
        settings = self.server.settings
        if retrieval is None or settings.retrieval_deadline_ms <= 0 or settings.max_snippets <= 0:
            return
        running = self._prefetched.get(uri)
        if running is not None and not running[1].done():
            return
        from splice.retrieval.retriever import query_at  # noqa: PLC0415 - loaded with the index

        query = query_at(path, text, offset, settings)
        search = asyncio.ensure_future(
            asyncio.to_thread(retrieval.snippets, query, settings.retrieval_deadline_ms / 1000))
        # A prefetch nobody asks for must not log an unretrieved exception.
        search.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._prefetched[uri] = (query, search)

    def forget(self, uri: str) -> None:
        """Drop a closed document's prefetched search."""
        self._prefetched.pop(uri, None)

    def search(self, path: str, text: str, offset: int, uri: str | None = None) -> Awaitable[tuple[Snippet, ...]]:
        """Start (or pick up the prefetched) search for a cursor at ``offset`` of ``text`` and return what to
        await for its snippets: () when retrieval is off, not ready, failing or past its deadline.

        The search is on a worker thread from the moment this returns, so the caller can assemble the rest
        of the prompt while it runs."""
        retrieval = self.retrieval
        settings = self.server.settings
        if retrieval is None or settings.retrieval_deadline_ms <= 0 or settings.max_snippets <= 0:
            return _nothing()
        from splice.retrieval.retriever import query_at  # noqa: PLC0415 - loaded with the index

        query = query_at(path, text, offset, settings)
        deadline = settings.retrieval_deadline_ms / 1000
        prefetched = self._prefetched.get(uri) if uri is not None else None
        if prefetched is not None and prefetched[0] == query:
            running: asyncio.Future[list[Snippet]] = prefetched[1]
        else:
            running = asyncio.get_running_loop().run_in_executor(None, retrieval.snippets, query, deadline)
        return self._collect(running, deadline)

    async def _collect(self, running: asyncio.Future[list[Snippet]], deadline: float) -> tuple[Snippet, ...]:
        try:
            found = await asyncio.wait_for(asyncio.shield(running), deadline)
        except TimeoutError:
            log.info("retrieval.deadline", deadline_ms=round(deadline * 1000))
            return ()
        except Exception as exc:  # a failed search costs the snippets, not the completion
            log.warning("retrieval.search_failed", error=repr(exc))
            return ()
        return tuple(found)

    def document_changed(self, uri: str, text: str, *, saved: bool = False) -> None:
        """Re-index the document shortly (a burst of changes is indexed once).

        A large document's unsaved text is indexed when it is saved, not after every pause in typing:
        chunking and embedding it again each time would keep a core busy while the person types."""
        retrieval = self.retrieval
        path = uri_to_path(uri)
        if retrieval is None or retrieval.root is None or path is None:
            return
        from splice.retrieval.indexing import MAX_FILE_BYTES  # noqa: PLC0415 - loaded with the index

        if len(text) > MAX_FILE_BYTES:
            return  # the workspace walk does not index a file this large either
        if len(text) > LIVE_UPDATE_MAX_CHARS and not saved:
            return
        pending = self._updates.pop(uri, None)
        if pending is not None:
            pending.cancel()
        loop = asyncio.get_running_loop()

        def run() -> None:
            self._updates.pop(uri, None)
            task = loop.create_task(self._update(retrieval, Path(path), text))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

        self._updates[uri] = loop.call_later(UPDATE_DELAY_S, run)

    async def _update(self, retrieval: Retrieval, path: Path, text: str) -> None:
        try:
            await asyncio.to_thread(retrieval.update_file, path, text)
        except Exception as exc:  # the index keeps its previous copy of the file
            log.warning("retrieval.update_failed", path=str(path), error=repr(exc))

    def close(self) -> None:
        """Stop background work; the index file stays consistent (every write is a transaction)."""
        self._closed = True
        self._cancel_updates()
