"""The language server's state and behaviour; handlers in the sibling modules stay thin and call in here.

``LanguageServer`` owns the settings, the open documents, the engine and the completion pipeline. It
decides which messages are refused (before ``initialize``, after ``shutdown``), supersedes a document's
running completion when a new one arrives, and watches the editor's process so that Splice never outlives it.
It feeds the telemetry recorder (requests here, edits through the document store, feedback through
``feedback.py``), which does its own work off the completion path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splice import config
from splice.config import Settings
from splice.context.sources import OpenDocumentSource
from splice.documents import DocumentStore, TextDocument, lf_line_ends
from splice.engines.base import Engine
from splice.errors import (
    INVALID_REQUEST,
    SERVER_NOT_INITIALIZED,
    DocumentRejectedError,
    DocumentStillRejectedError,
    SpliceError,
)
from splice.languages import language_for_path
from splice.logging import bind, get_logger, unbind
from splice.open_documents import (
    CountedDocuments,
    EngineDocuments,
    ForgetOnClose,
    OpenDocument,
    OpenDocuments,
)
from splice.server.connection import Connection, after_reply
from splice.server.params import display_path, field, uri_to_path
from splice.server.retrieval import ServerRetrieval
from splice.telemetry.clock import Clock, SystemClock
from splice.telemetry.recorder import TelemetryRecorder

if TYPE_CHECKING:
    from splice.context.tokens import TokenCounter
    from splice.engines.embedded import ProjectCache
    from splice.pipeline import CompletionInput, CompletionPipeline, CompletionResult
    from splice.telemetry.export import Assignment

log = get_logger()

MESSAGE_ERROR, MESSAGE_WARNING, MESSAGE_INFO = 1, 2, 3
_ISSUED_LIMIT = 4096
# A change's cursor is prepared this long after it, unless another change to the document comes first: a
# burst of changes (an auto-closed bracket, a paste, a format-on-type, multiple cursors) is prepared once,
# not once per change, which would hold the search threads when the request arrives. A request arriving
# sooner builds its own at once, so this never delays an answer; editors wait 50-150 ms after typing.
PREPARE_DELAY_S = 0.004
_PARENT_POLL_SECONDS = 2.0
_LIFECYCLE = frozenset({"initialize", "initialized", "shutdown", "exit"})


@dataclass(frozen=True)
class IssuedCompletion:
    """A suggestion item handed to the editor, remembered so feedback about it can be checked."""

    completion_id: str
    uri: str
    insert_text: str
    range: dict[str, Any]
    confidence: float = 1.0
    features: dict[str, float] = dataclasses.field(default_factory=dict)
    engine: str = ""  # the engine that proposed it
    fallback: str = ""  # why the configured engine did not, when ``engine`` stood in for it


class LanguageServer:
    """State and behaviour behind the handlers."""

    def __init__(self, settings: Settings, problems: list[str] | None = None,
                 engine: Engine | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self._queued_messages: list[tuple[int, str]] = [(MESSAGE_WARNING, p) for p in problems or []]
        self.documents = DocumentStore(settings.max_document_bytes)
        self.encoding: Any = "utf-16"
        self.root: str | None = None
        self.connection: Connection | None = None
        self.initialized = False
        self.shutdown_requested = False
        self.exit_code: int | None = None
        self.counter: TokenCounter | None = None
        self.open_files = OpenDocumentSource(settings.snippet_window_lines)
        self._engine_override = engine
        self.engine: Engine | None = engine
        self.pipeline: CompletionPipeline | None = None
        self.issued: OrderedDict[str, IssuedCompletion] = OrderedDict()
        self._inflight: dict[str, Any] = {}  # uri -> request id of its running completion
        self._preparing: dict[str, asyncio.TimerHandle] = {}  # uri -> its last change's cursor, not yet prepared
        self._watch: asyncio.Task[None] | None = None
        self.retrieval = ServerRetrieval(self)
        # The engine is looked up at each change: a settings change may replace it.
        self.counted = CountedDocuments(lambda: self.counter)
        self.open_documents = OpenDocuments((EngineDocuments(lambda: self.engine), self.open_files, self.retrieval,
                                             self.counted, ForgetOnClose(lambda: self.pipeline)))
        self.telemetry = TelemetryRecorder(settings, clock or SystemClock(), text_of=self._text_of,
                                           language_of=self._language_of)
        self.documents.on_edits = self.telemetry.document_edited

    # Messages to the person ------------------------------------------------------------------------------

    def show_message(self, kind: int, message: str) -> None:
        """``window/showMessage`` now, or once the client is initialized."""
        if self.connection is None or not self.initialized:
            self._queued_messages.append((kind, message))
            return
        self.connection.notify("window/showMessage", {"type": kind, "message": f"Splice: {message}"})

    def notification_failed(self, method: str, exc: SpliceError) -> None:
        """Tell the person about failures they can act on (a refused document), once: every keystroke in a
        refused document fails the same way, and a warning each time would bury the editor."""
        if isinstance(exc, DocumentRejectedError) and not isinstance(exc, DocumentStillRejectedError):
            self.show_message(MESSAGE_WARNING, exc.message)

    def status(self, state: str, message: str | None) -> None:
        """Send ``splice/status`` when the serving engine changes state."""
        if self.connection is not None:
            params: dict[str, Any] = {"state": state, "engine": self.engine.name if self.engine else ""}
            if message:
                params["message"] = message
            self.connection.notify("splice/status", params)

    # Lifecycle -------------------------------------------------------------------------------------------

    def refusal(self, method: str, is_request: bool) -> tuple[int, str] | None:
        """Why a message may not be served now, as ``(code, message)``, or None."""
        if method == "exit":
            return None
        if not self.initialized and method not in _LIFECYCLE:
            return SERVER_NOT_INITIALIZED, f"Server not initialized: send 'initialize' before '{method}'"
        if self.initialized and method == "initialize":
            return INVALID_REQUEST, "initialize was already received"
        if self.shutdown_requested:
            return INVALID_REQUEST, f"Invalid request: '{method}' after shutdown"
        return None

    async def initialize(self, params: dict[str, Any], encoding: str) -> None:
        """Apply the client's options, find the workspace, start the engine and the parent watch."""
        self.encoding = encoding
        self.configure(field(params, "initializationOptions", optional=True), source="initializationOptions")
        self.root = _workspace_root(params)
        self.telemetry.workspace = self.root
        self.retrieval.work_done_progress = bool(
            (params.get("capabilities") or {}).get("window", {}).get("workDoneProgress"))
        self.initialized = True
        parent = params.get("processId")
        if isinstance(parent, int) and not isinstance(parent, bool) and parent > 0:
            self._watch = asyncio.create_task(self.watch_editor(parent))
        log.info("initialized", root=self.root, encoding=encoding, engine=self.settings.engine,
                 client=params.get("clientInfo"))

    def on_initialized(self) -> None:
        """Start the engine and flush queued messages.

        The engine starts here, after the ``initialize`` reply has gone out, because importing and
        creating it is the slowest part of start-up and the editor waits for that reply."""
        self.ensure_engine()
        self.retrieval.start()
        loop = asyncio.get_running_loop()

        def assigned(assignment: Assignment) -> None:  # on the exporter's thread
            loop.call_soon_threadsafe(self.assign, assignment)

        self.telemetry.on_assignment = assigned
        self.telemetry.start_timer()
        queued, self._queued_messages = self._queued_messages, []
        for kind, message in queued:
            self.show_message(kind, message)

    async def shutdown(self) -> None:
        """Refuse further requests and release the engine."""
        self.shutdown_requested = True
        self.retrieval.close()
        if self.engine is not None:
            await self.engine.aclose()

    def exit(self) -> None:
        """Stop serving: exit code 0 after shutdown, 1 otherwise."""
        self.exit_code = 0 if self.shutdown_requested else 1
        if self.connection is not None:
            self.connection.close()

    async def watch_editor(self, pid: int) -> None:
        """Exit once the editor's process ``pid`` is gone, so that Splice never outlives it."""
        while True:
            await asyncio.sleep(_PARENT_POLL_SECONDS)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                log.info("parent_process_gone", pid=pid)
                self.exit_code = 1
                if self.connection is not None:
                    self.connection.close()
                return
            except PermissionError:
                pass  # exists, owned by someone else

    # Configuration ---------------------------------------------------------------------------------------

    def configure(self, raw: Any, *, source: str) -> None:
        """Merge client settings over the current ones; report invalid entries and keep going."""
        section = config.client_section(raw)
        if not section:
            return
        before = self.settings
        self.settings, problems = config.merge(self.settings, section, source=source)
        for problem in problems:
            log.warning("invalid_setting", problem=problem)
            self.show_message(MESSAGE_WARNING, problem)
        self.documents.max_bytes = self.settings.max_document_bytes
        self.telemetry.settings = self.settings
        self.retrieval.settings_changed(before, self.settings)
        if self.pipeline is not None and self.settings != before:
            engine_keys: tuple[str, ...] = ("engine", "triton_url", "triton_model", "deadline_ms", "tenant_task_ids",
                                            "neural_model", "neural_adapter", "neural_threads")
            if self.settings.engine == "neural":  # the tenant's published adapter is part of the engine
                engine_keys += ("tenant", "artifacts_dir")
            if any(getattr(before, k) != getattr(self.settings, k) for k in engine_keys):
                old = self.engine
                self._start_engine()
                if old is not None and old is not self.engine:
                    asyncio.get_running_loop().create_task(old.aclose())
            else:
                self._build_pipeline()

    def assign(self, assignment: Assignment) -> None:
        """Take the tenant and task id the organization's collector assigns (none assigned: keep our own)."""
        if not assignment.tenant:
            return
        raw: dict[str, Any] = {"tenant": assignment.tenant}
        if assignment.task_id is not None:
            ids = {**config.tenant_task_ids(self.settings), assignment.tenant: assignment.task_id}
            raw["tenantTaskIds"] = ",".join(f"{name}={number}" for name, number in ids.items())
        self.configure(raw, source="collector")

    def ensure_engine(self) -> None:
        """Start the engine if it is not running yet (a client may skip ``initialized``)."""
        if self.pipeline is None:
            self._start_engine()

    def _start_engine(self) -> None:
        # Imported here: the engine, the tokenizer and the grammars are the slow part of start-up, and the
        # editor is waiting for the ``initialize`` reply.
        from splice.engines.factory import create_engine  # noqa: PLC0415

        if self._engine_override is not None:
            self.engine = self._engine_override
        else:
            workspace = Path(self.root) if self.root else None
            self.engine = create_engine(self.settings, workspace, on_status=self.status,
                                        cache=_project_cache(workspace, self.settings))
            if self.settings.evaluation_guard:
                from splice.evaluation.guard import GuardedEngine  # noqa: PLC0415 - evaluation runs only

                self.engine = GuardedEngine.from_file(self.engine, Path(self.settings.evaluation_guard))
            asyncio.get_running_loop().create_task(self.engine.start())
        for doc in self.open_documents:
            if doc.path is not None:
                self.engine.document_changed(doc.path, doc.text)
        self._build_pipeline()

    def _build_pipeline(self) -> None:
        from splice.context.tokens import TokenCounter  # noqa: PLC0415 - see _start_engine
        from splice.pipeline import build_pipeline  # noqa: PLC0415

        assert self.engine is not None
        if self.counter is None:
            self.counter = TokenCounter.load()
            for doc in self.open_documents:  # opened before there was a counter to count them
                self.counted.opened_or_changed(doc)
        self.open_files.finder.window_lines = self.settings.snippet_window_lines
        self.pipeline = build_pipeline(self.settings, self.engine, self.counter,
                                       sources=(*self.retrieval.sources, self.open_files))

    # Documents -------------------------------------------------------------------------------------------

    def document_updated(self, uri: str, *, saved: bool = False) -> None:
        """Tell everything that learns from documents the new text (``saved``: it is on disk too)."""
        doc = self.documents.get(uri)
        # Normalised once per change: the engine and the index both read "\n" line ends.
        text = lf_line_ends(doc.text)
        shown = display_path(uri, self.root)
        self.open_documents.update(OpenDocument(key=uri, path=uri_to_path(uri), shown=shown, version=doc.version,
                                                text=text, saved=saved))
        self._cancel_preparation(uri)
        edit = doc.last_edit
        if edit is not None and self.pipeline is not None:
            self._preparing[uri] = asyncio.get_running_loop().call_later(
                PREPARE_DELAY_S, self._prepare, uri, doc.version, edit.begin + len(edit.inserted))

    def _cancel_preparation(self, uri: str) -> None:
        pending = self._preparing.pop(uri, None)
        if pending is not None:
            pending.cancel()

    def _prepare(self, uri: str, version: int, cursor: int) -> None:
        """Prepare the completion the editor will ask for where the change left the cursor
        (:meth:`splice.pipeline.CompletionPipeline.prepare`)."""
        self._preparing.pop(uri, None)
        try:
            doc = self.documents.get(uri)
        except SpliceError:
            return  # closed meanwhile
        if self.pipeline is None or doc.version != version or cursor > len(doc.text):
            return
        try:
            self.pipeline.prepare(self._completion_input(uri, doc, cursor, cursor, "", invoked=False))
        except Exception:  # an optimisation: the request will build its own
            log.exception("completion.prepare_failed", uri=uri)

    def file_saved(self, uri: str) -> None:
        """A file saved in the editor without being open here: the engine and the index read it again
        from disk."""
        path = uri_to_path(uri)
        log.debug("saved_without_open", uri=uri)
        if path is not None:
            if self.engine is not None:
                self.engine.document_closed(path)
            self.retrieval.reread(uri, path)

    def document_closed(self, uri: str) -> None:
        """Revert ``uri``'s live text everywhere: the engine, the snippet sources and the index use the disk."""
        self._cancel_preparation(uri)
        self.open_documents.close(uri)
        self.telemetry.document_closed(uri)

    # Completion ------------------------------------------------------------------------------------------

    def request_started(self, method: str, request_id: Any, params: Any) -> None:
        """A completion for a document supersedes the one still running for it."""
        document = params.get("textDocument") if isinstance(params, dict) else None
        uri = document.get("uri") if isinstance(document, dict) else None
        if not isinstance(uri, str) or self.connection is None:
            return
        previous = self._inflight.get(uri)
        if previous is not None and previous != request_id:
            task = self.connection.tasks.get(previous)
            if task is not None:
                task.cancel()
        self._inflight[uri] = request_id

    async def complete(
        self,
        uri: str,
        line: int,
        character: int,
        *,
        invoked: bool,
        selection: tuple[tuple[int, int], str] | None,
        word_start: bool = False,
    ) -> list[IssuedCompletion]:
        """Suggestions at a position, shaped as editor items (insert text plus the range it replaces)."""
        self.ensure_engine()
        self._cancel_preparation(uri)  # this request builds its own: preparing its cursor now would be waste
        completion_id_base = uuid.uuid4().hex[:16]
        bind(request_id=completion_id_base)
        try:
            doc = self.documents.get(uri)
            cursor = doc.offset_at(line, character, self.encoding, strict=True)
            start, head = self._replaced_span(doc, cursor, selection, word_start)
            request = self._completion_input(uri, doc, start, cursor, head, invoked=invoked or word_start)
            # Telemetry and the completion's log line wait for the reply (``after_reply``); their cost falls
            # on whatever the editor sends next (scripts/bench-telemetry measures it there). The start is
            # recorded while the engine works.
            asyncio.get_running_loop().call_soon(self.telemetry.request_started, uri)
            result = await self._run_pipeline(request, completion_id_base)
            items = []
            for index, proposal in enumerate(result.proposals):
                end = cursor + proposal.replace_suffix
                rng = {"start": doc.position_at(start, self.encoding), "end": doc.position_at(end, self.encoding)}
                issued = IssuedCompletion(f"{completion_id_base}-{index}", uri, head + proposal.text, rng,
                                          proposal.confidence, proposal.features, result.engine, result.fallback)
                self._remember(issued)
                items.append(issued)
            after_reply(functools.partial(
                self.telemetry.request_completed,
                request_id=completion_id_base, uri=uri, path=request.path, language=request.language,
                prefix=request.prefix, suffix=request.suffix, invoked=request.invoked, result=result,
                items=[(i.completion_id, i.insert_text, len(head), start) for i in items],
            ))
            after_reply(functools.partial(
                log.info, "completion", uri=uri, engine=result.engine, fallback=result.fallback or None,
                prompt_tokens=result.prompt_tokens, sources=list(result.sources), multiline=result.multiline,
                items=len(items), dropped=result.dropped, skipped=result.skipped, typed_ahead=result.typed_ahead,
                timings_ms=result.timings_ms,
            ))
            return items
        finally:
            unbind("request_id")
            if self._inflight.get(uri) is not None and self.connection is not None:
                running = self.connection.tasks.get(self._inflight[uri])
                if running is None or running is asyncio.current_task():
                    self._inflight.pop(uri, None)

    def _completion_input(self, uri: str, doc: TextDocument, start: int, cursor: int, head: str, *,
                          invoked: bool) -> CompletionInput:
        """The pipeline's request for ``doc`` with ``head`` typed in place of ``doc.text[start:cursor]``."""
        from splice.pipeline import CompletionInput  # noqa: PLC0415 - loaded with the engine

        return CompletionInput(
            path=display_path(uri, self.root), language=_language(doc), prefix=doc.text[:start] + head,
            suffix=doc.text[cursor:], eol=doc.eol, invoked=invoked, key=uri, document_path=uri_to_path(uri),
        )

    def _replaced_span(self, doc: TextDocument, cursor: int, selection: tuple[tuple[int, int], str] | None,
                       word_start: bool) -> tuple[int, str]:
        """Where the items' range starts and the text there they re-insert: the editor's selected
        completion (inline completion's ``selectedCompletionInfo``), the word before the cursor
        (``textDocument/completion``), or nothing."""
        if selection is not None:
            (sel_line, sel_char), head = selection
            return min(cursor, doc.offset_at(sel_line, sel_char, self.encoding, strict=True)), head
        start = cursor
        if word_start:
            while start > 0 and (doc.text[start - 1].isalnum() or doc.text[start - 1] == "_"):
                start -= 1
        return start, doc.text[start:cursor]

    async def _run_pipeline(self, request: CompletionInput, request_id: str) -> CompletionResult:
        """The pipeline's result; a cancelled or failed request is recorded as such, then re-raised."""
        assert self.pipeline is not None
        try:
            return await self.pipeline.complete(request)
        except asyncio.CancelledError:
            self.telemetry.request_failed(request_id=request_id, language=request.language,
                                          engine=self.pipeline.engine.name, reason="cancelled")
            raise
        except Exception as exc:
            self.telemetry.request_failed(request_id=request_id, language=request.language,
                                          engine=self.pipeline.engine.name, reason="error",
                                          detail=type(exc).__name__)
            raise

    def _text_of(self, uri: str) -> str | None:
        try:
            return self.documents.get(uri).text
        except SpliceError:
            return None

    def _language_of(self, uri: str) -> str:
        try:
            return _language(self.documents.get(uri))
        except SpliceError:
            return language_for_path(uri_to_path(uri) or uri)

    def _remember(self, issued: IssuedCompletion) -> None:
        self.issued[issued.completion_id] = issued
        while len(self.issued) > _ISSUED_LIMIT:
            self.issued.popitem(last=False)


def _project_cache(workspace: Path | None, settings: Settings) -> ProjectCache | None:
    """Where the engine stores its project index of ``workspace``, so a restarted server (or the
    ``splice complete`` beside it) reads the index back instead of lexing the workspace again; nowhere in
    evaluation mode, whose masked workspaces are thrown away after the run."""
    if workspace is None or settings.evaluation_guard:
        return None
    from splice.engines.embedded import ProjectCache  # noqa: PLC0415 - with the engine, after `initialize`

    return ProjectCache.for_workspace(workspace)


def _language(doc: TextDocument) -> str:
    if doc.language_id and doc.language_id != "plaintext":
        return doc.language_id
    return language_for_path(uri_to_path(doc.uri) or doc.uri)


def _workspace_root(params: dict[str, Any]) -> str | None:
    folders = params.get("workspaceFolders")
    if isinstance(folders, list) and folders and isinstance(folders[0], dict):
        path = uri_to_path(str(folders[0].get("uri", "")))
        if path:
            return path
    root_uri = params.get("rootUri")
    if isinstance(root_uri, str):
        path = uri_to_path(root_uri)
        if path:
            return path
    root_path = params.get("rootPath")
    return root_path if isinstance(root_path, str) and root_path else None
