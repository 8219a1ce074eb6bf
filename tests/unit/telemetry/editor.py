"""A scripted editor for telemetry tests: the real server on in-memory streams, a fake engine, a manual clock.

The server under test is the one ``splice serve`` runs (``serve_streams`` with the production method
table); only the engine and the clock are stand-ins, so events come from the real handlers.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

from splice.config import Settings
from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.protocol.framing import FrameParser, encode_message
from splice.server.app import LanguageServer
from splice.server.main import serve_streams
from splice.telemetry.clock import ManualClock
from splice.telemetry.events import Event
from splice.telemetry.store import Store, database_path


class FixedEngine(RemoteEngine):
    """Always proposes ``middle``."""

    name = "fixed"

    def __init__(self, middle: str) -> None:
        self.middle = middle

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        return [Candidate(text=self.middle, score=0.0)]

    async def aclose(self) -> None:
        return None


class Editor:
    """Drives one server session the way an editor does, with time moved by hand."""

    def __init__(self, data_dir: Path, middle: str = "return a + b", **settings: Any) -> None:
        self.clock = ManualClock()
        self.data_dir = data_dir
        self.settings = Settings(data_dir=str(data_dir), **settings)
        self.reader = asyncio.StreamReader()
        self.output = io.BytesIO()
        self.server = LanguageServer(self.settings, engine=FixedEngine(middle), clock=self.clock)
        self.task = asyncio.create_task(serve_streams(self.reader, self.output, self.server))
        self._next = 0
        self.versions: dict[str, int] = {}

    # Wire ------------------------------------------------------------------------------------------------

    def notify(self, method: str, params: Any) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.reader.feed_data(encode_message(message))

    async def request(self, method: str, params: Any, timeout: float = 10.0) -> dict[str, Any]:
        self._next += 1
        request_id = self._next
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.reader.feed_data(encode_message(message))

        async def reply() -> dict[str, Any]:
            while True:
                for frame in FrameParser().feed(self.output.getvalue()):
                    message = frame.message
                    if isinstance(message, dict) and message.get("id") == request_id and "method" not in message:
                        return message
                await asyncio.sleep(0.002)

        return await asyncio.wait_for(reply(), timeout)

    async def settle(self) -> None:
        """Wait until everything sent so far has been handled (a request is answered after them)."""
        await self.request("splice/settle", {})

    async def wait(self, seconds: float) -> None:
        """Let the server handle what was sent, then let ``seconds`` pass on its clock."""
        await self.settle()
        self.clock.advance(seconds)

    async def set_wall(self, wall: float) -> None:
        """Step the wall clock (as NTP or a person might) once what was sent is handled."""
        await self.settle()
        self.clock.set_wall(wall)

    # Editor actions --------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.request("initialize", {"processId": None, "capabilities": {}})
        self.notify("initialized", {})

    def open(self, uri: str, text: str) -> None:
        self.versions[uri] = 1
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                              "text": text}})

    def edit(self, uri: str, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        self.versions[uri] += 1
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": self.versions[uri]},
            "contentChanges": [{"range": {"start": {"line": start[0], "character": start[1]},
                                          "end": {"line": end[0], "character": end[1]}}, "text": text}],
        })

    def type(self, uri: str, at: tuple[int, int], text: str) -> None:
        self.edit(uri, at, at, text)

    async def complete(self, uri: str, line: int, character: int) -> dict[str, Any]:
        """The first inline item at the position (there must be one)."""
        items = await self.items(uri, line, character)
        assert items
        return items[0]

    async def items(self, uri: str, line: int, character: int) -> list[dict[str, Any]]:
        reply = await self.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 1}})
        assert "result" in reply, reply
        items: list[dict[str, Any]] = reply["result"]["items"]
        return items

    def show(self, item: dict[str, Any]) -> None:
        self.notify("splice/didShowCompletion", {"completionId": item["data"]["completionId"]})

    def accept(self, item: dict[str, Any], length: int | None = None) -> None:
        params: dict[str, Any] = {"completionId": item["data"]["completionId"]}
        if length is not None:
            params["acceptedLength"] = length
        self.notify("splice/didAcceptCompletion", params)

    def reject(self, item: dict[str, Any], reason: str | None = None) -> None:
        params: dict[str, Any] = {"completionId": item["data"]["completionId"]}
        if reason is not None:
            params["reason"] = reason
        self.notify("splice/didRejectCompletion", params)

    async def finish(self) -> list[Event]:
        """Shut down and exit like an editor; return what was stored."""
        await self.request("shutdown", None)
        self.notify("exit", None)
        assert await asyncio.wait_for(self.task, 10) == 0
        return stored_events(self.data_dir)


def stored_events(data_dir: Path) -> list[Event]:
    store = Store.open_readonly(database_path(str(data_dir)))
    try:
        return list(store.events())
    finally:
        store.close()
