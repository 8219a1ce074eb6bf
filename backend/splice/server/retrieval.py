"""Repository retrieval inside the language server: which index, when it is built, how it stays fresh.

Two indexes feed two snippet sources (:class:`splice.retrieval.source.RepositorySource`): the workspace's
own index, built in the background with work-done progress reported to the editor
(``window/workDoneProgress/create``, then ``$/progress`` begin/report/end) when the client supports it, and,
with a ``tenant`` setting, that tenant's published artifact under ``artifactsDir``: the organization's
other code. A change of ``tenant``, ``artifactsDir`` or ``retrievalDeadlineMs`` at run time closes what is
open and opens what the new settings name; from that moment no snippet of the previous tenant is served
(the engine learns from the snippets, and the Triton task id follows the same setting, so all three switch
together).

It listens to the open documents: a file is re-indexed shortly after it changes or is saved, and closing
it re-indexes what is on disk, so text that was never saved does not outlive its editor tab. Under the
evaluation guard the index only ever holds what is on disk (the masked copy): live text that differs from
it is not indexed at all.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splice import config
from splice.documents import lf_line_ends
from splice.errors import RetrievalError, SpliceError
from splice.logging import get_logger

if TYPE_CHECKING:
    from splice.config import Settings
    from splice.context.sources import SnippetSource
    from splice.open_documents import OpenDocument
    from splice.retrieval.live import Retrieval
    from splice.server.app import LanguageServer

log = get_logger()

UPDATE_DELAY_S = 0.3  # a burst of keystrokes re-indexes the file once
LIVE_UPDATE_MAX_CHARS = 128 * 1024  # above this, unsaved text is indexed on save only
_PROGRESS_INTERVAL_S = 0.25


class ServerRetrieval:
    """Retrieval state of one server."""

    def __init__(self, server: LanguageServer) -> None:
        from splice.retrieval.source import RepositorySource  # noqa: PLC0415 - small; the index loads later

        self.server = server
        self.workspace: Retrieval | None = None
        self.artifact: Retrieval | None = None
        self.work_done_progress = False
        settings = lambda: self.server.settings  # noqa: E731 - read at each search: settings change at run time
        counter = lambda: self.server.counter  # noqa: E731 - made with the pipeline, after these sources
        self.workspace_source = RepositorySource(lambda: self.workspace, settings, name="retrieval", counter=counter)
        self.artifact_source = RepositorySource(lambda: self.artifact, settings, name="customized", counter=counter)
        self._task: asyncio.Task[None] | None = None
        self._updates: dict[str, asyncio.TimerHandle] = {}
        self._closed = False
        self._running: set[asyncio.Task[None]] = set()  # held so updates are not collected mid-flight
        self._generation = 0  # bumped on each switch: work of an earlier one never lands

    @property
    def sources(self) -> tuple[SnippetSource, ...]:
        """The snippet sources, in the order their snippets claim the prompt's budget."""
        return (self.workspace_source, self.artifact_source)

    def start(self) -> None:
        """Open the indexes in the background (once)."""
        if self._task is None and self.server.settings.retrieval_deadline_ms > 0:
            self._task = asyncio.get_running_loop().create_task(self._open(self._generation))

    def settings_changed(self, before: Settings, after: Settings) -> None:
        """Switch to the indexes the new settings name, if they are other ones."""
        keys = ("tenant", "artifacts_dir", "retrieval_deadline_ms")
        if all(getattr(before, k) == getattr(after, k) for k in keys):
            return
        self._generation += 1
        for old in (self.workspace, self.artifact):
            if old is not None:
                self._close_later(old)
        self.workspace = self.artifact = None
        for source in (self.workspace_source, self.artifact_source):
            source.clear()
        self._cancel_updates()
        if self._task is not None:
            self._task.cancel()
            self._task = None
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
        try:
            await self._open_artifact(generation)
            await self._open_workspace(generation)
        except RetrievalError as exc:
            log.warning("retrieval.unavailable", error=exc.message)
            self.server.show_message(2, f"repository retrieval is off: {exc.message}")
        except Exception:  # retrieval is an enhancement: never take the server down with it
            log.exception("retrieval.failed")

    async def _open_artifact(self, generation: int) -> None:
        """The tenant's published artifact, when a tenant is set."""
        from splice.retrieval.live import Retrieval  # noqa: PLC0415 - loaded after the initialize reply

        settings = self.server.settings
        if not settings.tenant:
            return
        if not settings.artifacts_dir:
            self.server.show_message(2, f"tenant {settings.tenant!r} is set but artifactsDir is not; "
                                        "completing without the tenant's customization")
            return
        try:
            opened = await asyncio.to_thread(Retrieval.for_tenant, config.artifacts_root(settings), settings.tenant)
        except RetrievalError as exc:
            log.warning("retrieval.artifact_unavailable", tenant=settings.tenant, error=exc.message)
            self.server.show_message(2, f"the customization of tenant {settings.tenant!r} is off: {exc.message}")
            return
        if generation != self._generation:
            opened.close()
            return
        self.artifact = opened
        log.info("retrieval.tenant_artifact", tenant=settings.tenant)

    async def _open_workspace(self, generation: int) -> None:
        """The workspace's own index: searchable at once with what an earlier run indexed, then rebuilt."""
        from splice.retrieval.live import Retrieval  # noqa: PLC0415 - loaded after the initialize reply

        if self.server.root is None:
            return
        retrieval = await asyncio.to_thread(Retrieval.for_workspace, Path(self.server.root))
        if generation != self._generation:
            retrieval.close()
            return
        self.workspace = retrieval
        await self._rebuild(retrieval, generation)

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

    def opened_or_changed(self, document: OpenDocument) -> None:
        """Re-index the document shortly (a burst of changes is indexed once).

        A large document's unsaved text is indexed when it is saved, not after every pause in typing:
        chunking and embedding it again each time would keep a core busy while the person types."""
        if len(document.text) > LIVE_UPDATE_MAX_CHARS and not document.saved:
            return
        self._schedule(document.key, document.path, document.text)

    def closed(self, document: OpenDocument) -> None:
        """Re-index the file from disk: its unsaved text leaves the index with its editor tab."""
        if document.path is not None:
            self.reread(document.key, document.path)

    def reread(self, key: str, path: str) -> None:
        """Re-index the file at ``path`` (the document ``key``) from what is on disk, at once."""
        try:
            text = Path(path).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return  # gone or unreadable: the next workspace walk drops it
        self._schedule(key, path, lf_line_ends(text), delay=0.0)

    def _schedule(self, key: str, file: str | None, text: str, *, delay: float = UPDATE_DELAY_S) -> None:
        retrieval = self.workspace
        if retrieval is None or retrieval.root is None or file is None:
            return
        from splice.retrieval.indexing import MAX_FILE_BYTES  # noqa: PLC0415 - loaded with the index

        if len(text) > MAX_FILE_BYTES:
            return  # the workspace walk does not index a file this large either
        if self.server.settings.evaluation_guard and not _same_as_disk(file, text):
            return  # an evaluation's index holds the masked copies on disk and nothing else
        uri, path = key, Path(file)
        pending = self._updates.pop(uri, None)
        if pending is not None:
            pending.cancel()
        loop = asyncio.get_running_loop()

        def run() -> None:
            self._updates.pop(uri, None)
            task = loop.create_task(self._update(retrieval, path, text))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

        self._updates[uri] = loop.call_later(delay, run)

    async def _update(self, retrieval: Retrieval, path: Path, text: str) -> None:
        try:
            if await asyncio.to_thread(retrieval.update_file, path, text):
                # The file is searchable from here; the merging its save deferred runs in short steps after.
                await asyncio.to_thread(retrieval.merge)
        except Exception as exc:  # the index keeps its previous copy of the file
            log.warning("retrieval.update_failed", path=str(path), error=repr(exc))

    def close(self) -> None:
        """Stop background work; the index file stays consistent (every write is a transaction)."""
        self._closed = True
        self._cancel_updates()


def _same_as_disk(path: str, text: str) -> bool:
    try:
        return lf_line_ends(Path(path).read_bytes().decode("utf-8")) == text
    except (OSError, UnicodeDecodeError):
        return False
