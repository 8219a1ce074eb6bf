"""The server on in-memory streams with a deterministic fake engine: ordering, cancellation, lifecycle,
configuration and feedback, without processes or timing luck."""

from __future__ import annotations

import asyncio
import io
import random
from typing import Any

import pytest
import structlog

from splice.config import Settings
from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.engines.fallback import FallbackEngine
from splice.errors import EngineUnavailableError
from splice.protocol.framing import FrameParser, encode_message
from splice.server.app import LanguageServer
from splice.server.main import serve_streams


class FakeEngine(RemoteEngine):
    """Answers with a fixed middle; can be held until released, to make cancellation deterministic."""

    name = "fake"

    def __init__(self, middle: str = "total = a + b") -> None:
        self.middle = middle
        self.hold = asyncio.Event()
        self.hold.set()
        self.requests: list[GenerationRequest] = []
        self.started = asyncio.Event()
        self.changed: list[tuple[str, str]] = []

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        self.requests.append(request)
        self.started.set()
        await self.hold.wait()
        return [Candidate(text=self.middle, score=0.0)]

    async def aclose(self) -> None:
        return None

    def document_changed(self, path: str, text: str) -> None:
        self.changed.append((path, text))

    def document_closed(self, path: str) -> None:
        self.changed.append((path, ""))


class Session:
    """A server with its input fed by the test and its output parsed back into messages."""

    def __init__(self, engine: FakeEngine, settings: Settings | None = None) -> None:
        self.reader = asyncio.StreamReader()
        self.output = io.BytesIO()
        self.engine = engine
        self.server = LanguageServer(settings or Settings(), engine=engine)
        self.task = asyncio.create_task(serve_streams(self.reader, self.output, self.server))
        self._next = 0

    def send(self, method: str, params: Any = None, *, request: bool = True) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not request:
            self.reader.feed_data(encode_message(message))
            return None
        self._next += 1
        message["id"] = self._next
        self.reader.feed_data(encode_message(message))
        return self._next

    def messages(self) -> list[dict[str, Any]]:
        return [f.message for f in FrameParser().feed(self.output.getvalue())]

    async def reply(self, request_id: int, timeout: float = 5.0) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                for m in self.messages():
                    if m.get("id") == request_id and "method" not in m:
                        return m
                await asyncio.sleep(0.005)

        return await asyncio.wait_for(wait(), timeout)

    async def until(self, condition: Any, timeout: float = 5.0) -> None:
        """Wait until ``condition()`` holds (the server has read and handled what was fed to it)."""
        async def wait() -> None:
            while not condition():
                await asyncio.sleep(0.002)

        await asyncio.wait_for(wait(), timeout)

    async def start(self, options: Any = None) -> None:
        encodings = {"general": {"positionEncodings": ["utf-8", "utf-16"]}}
        params: dict[str, Any] = {"processId": None, "capabilities": encodings}
        if options is not None:
            params["initializationOptions"] = options
        await self.reply(self.send("initialize", params))  # type: ignore[arg-type]
        self.send("initialized", {}, request=False)

    def open(self, uri: str, text: str) -> None:
        self.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                           "text": text}}, request=False)


DOC = "def add(a, b):\n    \n"


def inline(line: int, character: int, uri: str = "file:///w/a.py", kind: int = 1) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": kind}}


async def test_requests_before_initialize_are_refused() -> None:
    s = Session(FakeEngine())
    reply = await s.reply(s.send("textDocument/inlineCompletion", inline(0, 0)))  # type: ignore[arg-type]
    assert reply["error"]["code"] == -32002
    s.send("exit", request=False)
    assert await s.task == 1


async def test_utf8_negotiated_and_completion_uses_latest_text() -> None:
    s = Session(FakeEngine())
    await s.start()
    init = next(m for m in s.messages() if m.get("id") == 1)
    assert init["result"]["capabilities"]["positionEncoding"] == "utf-8"
    s.open("file:///w/a.py", "def add(a, b):\n    old\n")
    # The change and the request arrive together: the change must be applied first.
    s.send("textDocument/didChange", {"textDocument": {"uri": "file:///w/a.py", "version": 2},
                                      "contentChanges": [{"text": DOC}]}, request=False)
    reply = await s.reply(s.send("textDocument/inlineCompletion", inline(1, 4)))  # type: ignore[arg-type]
    item = reply["result"]["items"][0]
    assert item["insertText"] == "total = a + b"
    assert item["range"] == {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}}
    assert s.engine.requests[-1].document_prefix == "def add(a, b):\n    "
    assert s.engine.changed and s.engine.changed[-1] == ("/w/a.py", DOC)


async def test_cancel_request_answers_request_cancelled_and_stops_the_work() -> None:
    engine = FakeEngine()
    engine.hold.clear()
    s = Session(engine)
    await s.start()
    s.open("file:///w/a.py", DOC)
    request_id = s.send("textDocument/inlineCompletion", inline(1, 4))
    await asyncio.wait_for(engine.started.wait(), 5)
    s.send("$/cancelRequest", {"id": request_id}, request=False)
    reply = await s.reply(request_id)  # type: ignore[arg-type]
    assert reply["error"]["code"] == -32800
    assert not s.server.connection.tasks  # type: ignore[union-attr]


async def test_new_request_for_a_document_supersedes_the_running_one() -> None:
    engine = FakeEngine()
    engine.hold.clear()
    s = Session(engine)
    await s.start()
    s.open("file:///w/a.py", DOC)
    first = s.send("textDocument/inlineCompletion", inline(1, 4, kind=2))
    await asyncio.wait_for(engine.started.wait(), 5)
    second = s.send("textDocument/inlineCompletion", inline(1, 4))
    assert (await s.reply(first))["error"]["code"] == -32800  # type: ignore[arg-type]
    engine.hold.set()
    assert (await s.reply(second))["result"]["items"]  # type: ignore[arg-type]


async def test_completion_item_has_text_edit_from_word_start() -> None:
    s = Session(FakeEngine(middle="al = a + b"))
    await s.start()
    s.open("file:///w/a.py", "def add(a, b):\n    tot\n")
    reply = await s.reply(s.send("textDocument/completion", inline(1, 7)))  # type: ignore[arg-type]
    item = reply["result"]["items"][0]
    assert item["textEdit"]["newText"] == "total = a + b"
    assert item["textEdit"]["range"]["start"] == {"line": 1, "character": 4}
    assert reply["result"]["isIncomplete"] is True
    assert item["kind"] == 15  # Snippet: code, never a plain word of Text
    assert 0.0 <= item["data"]["confidence"] <= 1.0 and "score" in item["data"]["confidenceFeatures"]


async def test_selected_completion_info_prefixes_the_suggestion() -> None:
    engine = FakeEngine(middle="(a, b)")
    s = Session(engine)
    await s.start()
    s.open("file:///w/a.py", "def add(a, b):\n    return ad\n")
    params = inline(1, 13, kind=2)
    params["context"]["selectedCompletionInfo"] = {
        "range": {"start": {"line": 1, "character": 11}, "end": {"line": 1, "character": 13}}, "text": "add"}
    reply = await s.reply(s.send("textDocument/inlineCompletion", params))  # type: ignore[arg-type]
    item = reply["result"]["items"][0]
    assert item["insertText"] == "add(a, b)"
    assert item["range"]["start"] == {"line": 1, "character": 11}
    assert engine.requests[-1].document_prefix.endswith("return add")


async def test_invalid_configuration_is_shown_and_defaults_kept() -> None:
    s = Session(FakeEngine())
    await s.start(options={"splice": {"maxNewTokens": -5, "contextTokens": 1024}})
    await s.until(lambda: any(m.get("method") == "window/showMessage" for m in s.messages()))
    shown = [m["params"]["message"] for m in s.messages() if m.get("method") == "window/showMessage"]
    assert any("maxNewTokens" in m for m in shown)
    assert s.server.settings.max_new_tokens == Settings().max_new_tokens
    assert s.server.settings.context_tokens == 1024
    s.send("workspace/didChangeConfiguration", {"settings": {"splice": {"numCandidates": 2}}}, request=False)
    await s.until(lambda: s.server.settings.num_candidates == 2)


async def test_feedback_for_issued_completion_is_accepted_and_bad_feedback_is_not_fatal() -> None:
    s = Session(FakeEngine())
    await s.start()
    s.open("file:///w/a.py", DOC)
    reply = await s.reply(s.send("textDocument/inlineCompletion", inline(1, 4)))  # type: ignore[arg-type]
    completion_id = reply["result"]["items"][0]["data"]["completionId"]
    assert completion_id in s.server.issued
    accepted: list[tuple[Any, Any]] = []
    s.server.telemetry.accepted = lambda record, length: accepted.append((record, length))  # type: ignore[method-assign]
    s.send("splice/didAcceptCompletion", {"completionId": completion_id, "acceptedLength": 5}, request=False)
    s.send("splice/didAcceptCompletion", {"completionId": completion_id, "acceptedLength": "x"}, request=False)
    s.send("splice/didShowCompletion", [1, 2], request=False)
    shutdown = s.send("shutdown")
    assert "result" in await s.reply(shutdown)  # type: ignore[arg-type]
    # The accept was recorded once, for the item issued; the malformed one was not.
    assert accepted == [(completion_id, 5)]
    s.send("exit", request=False)
    assert await s.task == 0


async def test_telemetry_and_the_completion_log_wait_for_the_reply_and_keep_the_request_id() -> None:
    s = Session(FakeEngine())
    await s.start()
    s.open("file:///w/a.py", DOC)
    seen: list[tuple[bool, Any]] = []

    def completed(**record: Any) -> None:
        replied = any(m.get("id") == request and "method" not in m for m in s.messages())
        seen.append((replied, structlog.contextvars.get_contextvars().get("request_id")))

    s.server.telemetry.request_completed = completed  # type: ignore[method-assign]
    request = s.send("textDocument/inlineCompletion", inline(1, 4))
    reply = await s.reply(request)  # type: ignore[arg-type]
    await s.until(lambda: bool(seen))
    completion_id = reply["result"]["items"][0]["data"]["completionId"]
    # Run after the reply was written, in the request's own context (its id on every line it logs).
    assert seen == [(True, completion_id.rsplit("-", 1)[0])]
    s.send("exit", request=False)
    await s.task


@pytest.mark.parametrize("payload", [b"[1,2]", b'"text"', b'{"jsonrpc":"2.0","id":9,"method":5}'])
async def test_malformed_messages_get_invalid_request(payload: bytes) -> None:
    s = Session(FakeEngine())
    s.reader.feed_data(b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))
    await s.until(lambda: any("error" in m for m in s.messages()))
    errors = [m for m in s.messages() if "error" in m]
    assert errors and errors[0]["error"]["code"] == -32600
    s.reader.feed_eof()
    assert await s.task == 1



async def test_null_params_are_accepted_and_schema_failures_keep_their_id() -> None:
    s = Session(FakeEngine())
    await s.start()
    s.reader.feed_data(encode_message({"jsonrpc": "1.0", "id": 42, "method": "textDocument/completion"}))
    reply = await s.reply(42)
    assert reply["error"]["code"] == -32600 and "schema" in reply["error"]["data"]
    s.reader.feed_data(encode_message({"jsonrpc": "2.0", "id": 41, "method": "shutdown", "params": None}))
    assert "result" in await s.reply(41)


@pytest.mark.parametrize("seed", range(8))
async def test_random_garbage_never_stops_the_server(seed: int) -> None:
    rng = random.Random(seed)
    s = Session(FakeEngine())
    chunks = [
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))),
        b"Content-Length: " + str(rng.randrange(0, 50)).encode() + b"\r\n\r\n" + b"{" * rng.randrange(0, 5),
        b"Content-Length: -3\r\n\r\n",
        b"Content-Length: 10\r\nContent-Length: x\r\n\r\n0123456789",
        b"\r\n\r\n\r\n",
        encode_message({"jsonrpc": "2.0", "id": "bad", "method": "textDocument/inlineCompletion", "params": 7}),
    ]
    rng.shuffle(chunks)
    for chunk in chunks:
        s.reader.feed_data(chunk)
    # Whatever came before, a well-framed request after a clean header is still answered.
    s.reader.feed_data(b"\r\n" + encode_message({"jsonrpc": "2.0", "id": 900, "method": "initialize",
                                                  "params": {"capabilities": {}}}))
    assert "result" in await s.reply(900)
    assert not s.task.done()
    s.send("exit", request=False)
    await asyncio.wait_for(s.task, 5)


class DownEngine(FakeEngine):
    """A configured engine that cannot answer, so its fallback stands in."""

    name = "primary"

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        raise EngineUnavailableError("not reachable")


async def test_items_name_the_engine_that_proposed_them_and_why_a_fallback_stood_in() -> None:
    s: Session | None = None
    engine = FallbackEngine(DownEngine(), FakeEngine(), lambda state, message: s.server.status(state, message)
                            if s is not None else None)
    s = Session(engine)  # type: ignore[arg-type]
    await s.start()
    s.open("file:///w/a.py", DOC)
    reply = await s.reply(s.send("textDocument/inlineCompletion", inline(1, 4)))  # type: ignore[arg-type]
    data = reply["result"]["items"][0]["data"]
    assert (data["engine"], data["fallback"]) == ("fake", "primary: not reachable")
    statuses = [m["params"] for m in s.messages() if m.get("method") == "splice/status"]
    assert statuses == [{"state": "degraded", "engine": "fallback", "message": "primary: not reachable"}]
    await engine.aclose()


async def test_an_item_from_the_configured_engine_has_no_fallback() -> None:
    s = Session(FakeEngine())
    await s.start()
    s.open("file:///w/a.py", DOC)
    reply = await s.reply(s.send("textDocument/inlineCompletion", inline(1, 4)))  # type: ignore[arg-type]
    data = reply["result"]["items"][0]["data"]
    assert data["engine"] == "fake" and "fallback" not in data


async def test_a_closed_document_forgets_the_suggestions_it_could_be_typed_through() -> None:
    engine = FakeEngine()
    s = Session(engine, Settings(min_confidence=0.0))  # shown whatever the fake engine's confidence
    await s.start()
    typed = "def add(a, b):\n    t\n"
    for reopen in (False, True):
        s.open("file:///w/a.py", DOC)
        await s.reply(s.send("textDocument/inlineCompletion", inline(1, 4, kind=2)))  # type: ignore[arg-type]
        asked = len(engine.requests)
        if reopen:
            s.send("textDocument/didClose", {"textDocument": {"uri": "file:///w/a.py"}}, request=False)
            s.open("file:///w/a.py", typed)
        else:
            s.send("textDocument/didChange", {"textDocument": {"uri": "file:///w/a.py", "version": 2},
                                              "contentChanges": [{"text": typed}]}, request=False)
        reply = await s.reply(s.send("textDocument/inlineCompletion", inline(1, 5, kind=2)))  # type: ignore[arg-type]
        # Typed through while open: the rest of the suggestion, without asking the engine again.
        assert len(engine.requests) == asked + reopen, reopen
        if not reopen:
            assert reply["result"]["items"][0]["insertText"].endswith("otal = a + b")
            s.send("textDocument/didClose", {"textDocument": {"uri": "file:///w/a.py"}}, request=False)


def change(version: int, line: int, character: int, text: str) -> dict[str, Any]:
    position = {"line": line, "character": character}
    return {"textDocument": {"uri": "file:///w/a.py", "version": version},
            "contentChanges": [{"range": {"start": position, "end": position}, "text": text}]}


async def prepared_session() -> tuple[Session, list[str]]:
    """A started session whose pipeline records each cursor it is asked to prepare (as its prefix)."""
    s = Session(FakeEngine(), Settings(min_confidence=0.0))
    await s.start()
    s.open("file:///w/a.py", "def add(a, b):\n    \n")
    await s.reply(s.send("textDocument/inlineCompletion", inline(1, 4)))  # type: ignore[arg-type]
    pipeline = s.server.pipeline
    assert pipeline is not None
    prepared: list[str] = []
    prepare = pipeline.prepare
    pipeline.prepare = lambda request: (prepared.append(request.prefix), prepare(request))[1]  # type: ignore[method-assign]
    return s, prepared


async def test_a_burst_of_changes_prepares_the_cursor_it_leaves_once() -> None:
    s, prepared = await prepared_session()
    for version, (character, text) in enumerate([(4, "r"), (5, "e"), (6, "t")], start=2):
        s.send("textDocument/didChange", change(version, 1, character, text), request=False)
    await asyncio.sleep(0.05)
    assert prepared == ["def add(a, b):\n    ret"]
    asked = len(s.engine.requests)
    reply = await s.reply(s.send("textDocument/inlineCompletion", inline(1, 7)))  # type: ignore[arg-type]
    assert reply["result"]["items"] and len(s.engine.requests) == asked + 1
    assert s.engine.requests[-1].document_prefix == "def add(a, b):\n    ret"


async def test_a_request_sent_right_after_the_change_is_not_prepared_as_well() -> None:
    s, prepared = await prepared_session()
    s.send("textDocument/didChange", change(2, 1, 4, "r"), request=False)
    await s.reply(s.send("textDocument/inlineCompletion", inline(1, 5)))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert prepared == []


async def test_a_save_of_a_file_never_opened_here_is_read_again_from_disk_not_refused() -> None:
    engine = FakeEngine()
    s = Session(engine)
    await s.start()
    reread: list[tuple[str, str]] = []
    failed: list[str] = []
    s.server.retrieval.reread = lambda key, path: reread.append((key, path))  # type: ignore[method-assign]
    s.server.notification_failed = lambda method, exc: failed.append(method)  # type: ignore[method-assign]
    # VS Code announces the saves of its own settings file, which it never opened in the server.
    s.send("textDocument/didSave", {"textDocument": {"uri": "file:///w/settings.json"}}, request=False)
    await s.until(lambda: bool(reread))
    assert reread == [("file:///w/settings.json", "/w/settings.json")]
    assert engine.changed == [("/w/settings.json", "")]  # the engine reads the disk copy again too
    # A change to a document that was never opened is still refused: its text cannot be known.
    s.send("textDocument/didChange", change(2, 0, 0, "x"), request=False)
    await s.until(lambda: bool(failed))
    assert failed == ["did_change"] and len(reread) == 1
    s.send("exit", request=False)
    await s.task


async def test_a_refused_document_is_reported_once_not_on_every_keystroke() -> None:
    s = Session(FakeEngine())
    await s.start()
    failed: list[str] = []
    s.server.notification_failed = lambda method, exc: (failed.append(method),  # type: ignore[method-assign]
                                                        LanguageServer.notification_failed(s.server, method, exc))
    s.open("file:///w/a.py", "binary\x00content\n")
    for version in (2, 3, 4):
        s.send("textDocument/didChange", change(version, 0, 0, "x"), request=False)
    s.send("textDocument/didSave", {"textDocument": {"uri": "file:///w/a.py"}}, request=False)
    await s.until(lambda: len(failed) == 5)
    warnings = [m["params"]["message"] for m in s.messages() if m.get("method") == "window/showMessage"]
    assert len(warnings) == 1 and "binary" in warnings[0]
    # Opened again with text it can serve, the document works as any other.
    s.send("textDocument/didClose", {"textDocument": {"uri": "file:///w/a.py"}}, request=False)
    s.open("file:///w/a.py", DOC)
    reply = await s.reply(s.send("textDocument/inlineCompletion", inline(1, 4)))  # type: ignore[arg-type]
    assert reply["result"]["items"]
