"""Running tasks through a real ``splice serve`` process over pipes, to measure what an editor sees.

One server per repository and ablation, started as an editor starts it, with the masked repository as its
workspace folder when the ablation includes the repository (no folder otherwise), and the tenant and the
directory its artifact was published to in ``initializationOptions`` for the customized row. Per task the
client opens the neighbouring files and the target (its text as the ablation holds it), asks
``textDocument/inlineCompletion`` at the cursor with ``triggerKind`` Invoked, and closes them all again.
Latency is the client's round trip for that request: framing, dispatch, retrieval, the pipeline and the
reply.

The client is written here rather than borrowed from the server's own modules on purpose: a framing bug
shared by both sides would go unnoticed. Before the first task of a session with a workspace, the client
waits for the server's indexes (the engine's ``embedded.project_indexed`` log event, then the end of
retrieval's work-done progress), as a person's first keystroke comes long after they are built.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from splice.evaluation.ablations import Ablation, EditorView
from splice.evaluation.guard import LEAKAGE_MARK
from splice.evaluation.isolation import LeakageError, Mirror
from splice.evaluation.session import EVALUATION_RETRIEVAL_DEADLINE_MS, Outcome, SessionSetup

INVOKED = 1
_ENGINE_EVENTS = ('"embedded.project_indexed"', '"embedded.index_failed"')
_RETRIEVAL_EVENTS = ('"indexing.done"', '"retrieval.tenant_artifact"', '"retrieval.unavailable"', '"retrieval.failed"')
# After the engine's index, how long to wait for retrieval indexing to show itself (a work-done progress
# or a log event) before taking it to be off.
_RETRIEVAL_GRACE_S = 3.0


def utf16_position(prefix: str) -> tuple[int, int]:
    """The LSP position (line, UTF-16 code units) of the end of ``prefix``."""
    line = prefix.count("\n")
    column_text = prefix[prefix.rfind("\n") + 1 :]
    return line, len(column_text.encode("utf-16-le")) // 2


class ServerProcess:
    """A ``splice serve`` child and a minimal JSON-RPC client over its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._engine_ready = asyncio.Event()
        self._retrieval_ready = asyncio.Event()
        self._progress: set[Any] = set()  # work-done progress tokens begun and not yet ended
        # The latest ``splice/status`` (state and message): where the server's suggestions come from now.
        self.status: dict[str, Any] = {}
        self._status_changed = asyncio.Event()
        self.stderr_tail: list[str] = []
        self._reader = asyncio.create_task(self._read_stdout())
        self._errors = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls, command: list[str], env: dict[str, str]) -> ServerProcess:
        """Start the server process."""
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, limit=64 * 1024 * 1024,
        )
        return cls(process)

    async def _write(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        body = json.dumps(message).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self.process.stdin.drain()

    async def request(self, method: str, params: Any, timeout: float = 120.0) -> Any:
        """Send a request and wait for its result; RuntimeError carries an error response's message."""
        self._next_id += 1
        number = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": number, "method": method}
        if params is not None:
            message["params"] = params
        await self._write(message)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(number, None)

    async def notify(self, method: str, params: Any) -> None:
        """Send a notification."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self._write(message)

    async def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        stream = self.process.stdout
        try:
            while True:
                length = -1
                while True:
                    header = await stream.readline()
                    if not header:
                        raise EOFError
                    header = header.strip()
                    if not header:
                        break
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length < 0:
                    continue
                message = json.loads(await stream.readexactly(length))
                await self._dispatch(message)
        except (EOFError, asyncio.IncompleteReadError, ConnectionError):
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(RuntimeError("the server closed its output"))

    async def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message and "method" in message:
            # A request from the server (configuration, progress): answer it so the server never waits.
            await self._write({"jsonrpc": "2.0", "id": message["id"], "result": None})
            return
        if message.get("method") == "splice/status":
            self.status = dict(message.get("params") or {})
            self._status_changed.set()
            return
        if message.get("method") == "$/progress":
            params = message.get("params") or {}
            kind = (params.get("value") or {}).get("kind")
            if kind == "begin":
                self._progress.add(params.get("token"))
            elif kind == "end":
                self._progress.discard(params.get("token"))
                if not self._progress:
                    self._retrieval_ready.set()
            return
        future = self._pending.get(message.get("id", -1))
        if future is None or future.done():
            return
        if "error" in message:
            future.set_exception(RuntimeError(str(message["error"].get("message", message["error"]))))
        else:
            future.set_result(message.get("result"))

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        while True:
            line = await self.process.stderr.readline()
            if not line:
                self._engine_ready.set()
                self._retrieval_ready.set()
                return
            text = line.decode("utf-8", errors="replace")
            self.stderr_tail = [*self.stderr_tail[-40:], text]
            if any(event in text for event in _ENGINE_EVENTS):
                self._engine_ready.set()
            if any(event in text for event in _RETRIEVAL_EVENTS):
                self._retrieval_ready.set()

    async def wait_indexed(self, timeout: float) -> bool:
        """Wait for the server's workspace indexes (the engine's, then retrieval's, each or its failure);
        whether they were ready within ``timeout``."""
        deadline = time.monotonic() + timeout
        try:
            await asyncio.wait_for(self._engine_ready.wait(), timeout)
            grace = time.monotonic() + _RETRIEVAL_GRACE_S
            while not self._retrieval_ready.is_set():
                if not self._progress and time.monotonic() > grace:
                    break  # retrieval never started: it is off in this configuration
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(0.05)
        except TimeoutError:
            return False
        return True

    async def wait_engine(self, timeout: float) -> None:
        """While the server says its configured engine stands aside (``degraded``: a model still loading, a
        server not up yet), wait for ``ready``; TimeoutError, saying why, when it does not come in time.
        Without this, a run of a slow-starting engine would measure its fallback."""
        deadline = time.monotonic() + timeout
        while self.status.get("state") not in (None, "ready"):
            left = deadline - time.monotonic()
            if left <= 0 or self.process.returncode is not None:
                raise TimeoutError(f"the server's configured engine was not ready after {timeout:.0f} s "
                                   f"({self.status.get('state')}: {self.status.get('message', 'no reason given')})")
            self._status_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._status_changed.wait(), min(left, 1.0))

    async def stop(self) -> None:
        """``shutdown`` and ``exit``, then make sure the process is gone."""
        with contextlib.suppress(Exception):
            await self.request("shutdown", None, timeout=10)
            await self.notify("exit", None)
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        for task in (self._reader, self._errors):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class StdioSession:
    """Tasks of one masked repository through one server process."""

    def __init__(self, mirror: Mirror, server: ServerProcess) -> None:
        self.mirror = mirror
        self.server = server

    async def complete(self, view: EditorView) -> Outcome:
        """Open the documents, ask for the inline completion at the cursor, close the documents."""
        task = view.task
        target = self.mirror.path_of(task).as_uri()
        opened = [(doc.key, doc.text) for doc in view.others]
        for key, text in opened:
            await self._open(Path(key).as_uri(), task.language, text)
        await self._open(target, task.language, view.document)
        line, character = utf16_position(view.prefix)
        started = time.perf_counter()
        try:
            result = await self.server.request("textDocument/inlineCompletion", {
                "textDocument": {"uri": target}, "position": {"line": line, "character": character},
                "context": {"triggerKind": INVOKED},
            })
            error = None
        except (RuntimeError, TimeoutError) as exc:
            if LEAKAGE_MARK in str(exc):
                raise LeakageError(f"{task.id}: the server refused a request: {exc}") from exc
            result, error = None, str(exc) or "timed out"
        elapsed = (time.perf_counter() - started) * 1000
        for uri in [target, *(Path(key).as_uri() for key, _ in opened)]:
            await self.server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        items = result.get("items", []) if isinstance(result, dict) else []
        prediction = str(items[0].get("insertText", "")) if items else ""
        data = items[0].get("data") if items and isinstance(items[0].get("data"), dict) else {}
        return Outcome(task_id=task.id, prediction=prediction, latency_ms=elapsed, error=error,
                       fallback=str(data.get("fallback", "")))

    async def warm_up(self, view: EditorView, timeout: float) -> None:
        """One untimed request (it loads the tokenizer, grammars and caches); then, if the server says its
        configured engine is not serving yet, wait until it is and ask once more, so that no timed request
        is answered by the fallback because of start-up."""
        await self.complete(view)
        if self.server.status.get("state") not in (None, "ready"):
            await self.server.wait_engine(timeout)
            await self.complete(view)

    async def _open(self, uri: str, language: str, text: str) -> None:
        await self.server.notify("textDocument/didOpen", {
            "textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text},
        })

    async def close(self) -> None:
        """Stop the server."""
        await self.server.stop()


class StdioRunner:
    """Starts one ``splice serve`` per session."""

    name = "stdio"

    def __init__(self, *, command: list[str] | None = None, index_timeout: float = 600.0) -> None:
        self.command = command or [sys.executable, "-m", "splice", "serve"]
        self.index_timeout = index_timeout

    async def open(self, mirror: Mirror, ablation: Ablation, setup: SessionSetup) -> StdioSession:
        """A server initialised for ``ablation``, its index ready when it has a workspace."""
        # Info level: readiness is read from the server's log. The server's own workspace index goes beside
        # the mirror, never into the person's cache, and benchmark requests are not a person's usage, so
        # they stay out of the telemetry store.
        # The guard file makes the server check every engine request and keep its index to the masked
        # copies on disk.
        env = {**os.environ, "SPLICE_LOG_LEVEL": "info", "SPLICE_INDEX_DIR": str(mirror.index_dir),
               "SPLICE_TELEMETRY": "off", "SPLICE_EVALUATION_GUARD": str(setup.guard_file)}
        server = await ServerProcess.start(self.command, env)
        root = mirror.root if ablation.workspace else None
        options: dict[str, Any] = {"retrievalDeadlineMs": EVALUATION_RETRIEVAL_DEADLINE_MS if ablation.retrieval else 0}
        if ablation.customized:
            options.update(tenant=setup.tenant, artifactsDir=str(setup.artifacts_root))
        params: dict[str, Any] = {
            "processId": os.getpid(),
            "clientInfo": {"name": "splice-eval"},
            "rootUri": root.as_uri() if root else None,
            "workspaceFolders": [{"uri": root.as_uri(), "name": mirror.source.name}] if root else None,
            "capabilities": {"general": {"positionEncodings": ["utf-16"]}, "window": {"workDoneProgress": True},
                             "textDocument": {"inlineCompletion": {}, "synchronization": {"didSave": True}}},
            "initializationOptions": options,
        }
        try:
            await server.request("initialize", params, timeout=60)
            await server.notify("initialized", {})
            if root is not None and not await server.wait_indexed(self.index_timeout):
                raise TimeoutError(f"the server's index of {mirror.source} was not ready after "
                                   f"{self.index_timeout:.0f} s")
        except BaseException:
            await server.stop()
            raise
        return StdioSession(mirror, server)
