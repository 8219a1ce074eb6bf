"""The server's telemetry: turns requests, feedback notifications and edits into events.

It follows each suggestion from the request that produced it through shown, accepted or rejected, and each
accept through the document's edits (see :mod:`splice.telemetry.retention`). It also counts the characters
the person typed, so the share of code Splice wrote has a denominator.

Rules that keep it harmless:

* Nothing here blocks or touches the disk: events go to :class:`TelemetryWriter`'s bounded queue. The work
  on the event loop is building a few small records.
* Every public method is guarded: an exception is logged and swallowed, never passed to a handler.
* Feedback for ids it does not know (never issued, long forgotten, issued before a restart) is ignored.
* Durations and deadlines use the monotonic clock; only the events' timestamps use wall time.

Inferred outcomes: a shown suggestion with no verdict is rejected as ``typing`` when the next completion
request for its document arrives (the editor hid it because the person typed on), as ``timeout`` after
:data:`SHOW_TIMEOUT_S`, and as ``ended`` when its document closes or the session ends.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypeVar

from splice.config import Settings
from splice.documents import Edit
from splice.logging import get_logger
from splice.telemetry.clock import Clock
from splice.telemetry.events import CHECKPOINTS_S, Event, TextRecord, line_count, text_hash
from splice.telemetry.retention import TrackedSuggestion

if TYPE_CHECKING:
    from splice.telemetry.export import Assignment
    from splice.telemetry.writer import TelemetryWriter

log = get_logger()


class Answer(Protocol):
    """What telemetry reads of the pipeline's answer to a request (``splice.pipeline.CompletionResult``),
    declared here so that telemetry depends on nothing above it."""

    engine: str
    fallback: str
    sources: tuple[str, ...]
    timings_ms: dict[str, float]
    skipped: str | None
    dropped: list[str]

SHOW_TIMEOUT_S = 60.0
# Typed characters are counted per document and written this often while the person types, and the idle
# sweep runs this often, so a server killed outright loses at most about a second of them (with the
# writer's own batching); an event a second per document typed in is little to store.
TYPED_FLUSH_S = 0.5
ACCEPT_EDIT_WINDOW_S = 5.0  # an accept and the edit that inserts its text arrive this close together
TICK_S = 0.25
PENDING_LIMIT = 4096
TRACKED_LIMIT = 2000
PREFIX_CHARS, SUFFIX_CHARS = 16_000, 4_000  # of the situation kept with the opt-in; more than any prompt uses
_REJECT_REASONS = {"dismissed": "explicit", "typedPast": "typing", "replaced": "replaced"}

P = ParamSpec("P")
R = TypeVar("R")


def _guarded(fn: Callable[P, R | None]) -> Callable[P, R | None]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return fn(*args, **kwargs)
        except Exception:
            log.exception("telemetry_failed", step=fn.__name__)
            return None

    return wrapper


@dataclass
class _Suggestion:
    completion_id: str
    request_id: str
    uri: str
    language: str
    engine: str
    sources: tuple[str, ...]
    insert_text: str
    head_len: int  # characters at the start of insert_text the person had already typed
    start: int  # document offset where insert_text goes, when it was issued
    shown_at: float | None = None
    shown_wall_ms: int = 0
    shown_written: bool = False
    verdict: str = ""  # "", "accepted" or "rejected"
    accepted_length: int = 0


@dataclass
class _Awaiting:
    """An accept whose text is not in the document yet (the editor's edit is still on its way)."""

    tracked: TrackedSuggestion
    part: str  # accepted text not located yet
    skip: int  # leading characters of ``part`` that the person had typed (not Splice's)
    until: float
    edit_seen: bool = False


@dataclass
class _RecentEdit:
    inserted: str
    end: int  # offset just after the inserted text, in the document as it is after this edit
    at: float
    reattributed: bool = False


@dataclass
class _Typing:
    language: str
    since: float
    chars: int = 0
    recent: deque[_RecentEdit] = field(default_factory=lambda: deque(maxlen=8))


class TelemetryRecorder:
    """Telemetry for one server process."""

    def __init__(self, settings: Settings, clock: Clock, *, text_of: Callable[[str], str | None],
                 language_of: Callable[[str], str],
                 writer_factory: Callable[[Settings], TelemetryWriter] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.session = uuid.uuid4().hex[:12]
        self._text_of = text_of
        self._language_of = language_of
        self._writer_factory = writer_factory or _default_writer
        self.writer: TelemetryWriter | None = None
        self._pending: OrderedDict[str, _Suggestion] = OrderedDict()
        # Shown and awaiting a verdict: the only suggestions a sweep looks at, so its cost does not grow with
        # the number of suggestions remembered.
        self._on_screen: dict[str, _Suggestion] = {}
        self._tracked: list[TrackedSuggestion] = []
        self._awaiting: list[_Awaiting] = []
        self._typing: dict[str, _Typing] = {}
        self._timer: asyncio.Task[None] | None = None
        self._closed = False
        self.workspace: str | None = None  # the workspace root, the repository events are exported under
        # Called on the exporter's thread when the collector assigns another customization.
        self.on_assignment: Callable[[Assignment], None] | None = None

    @property
    def enabled(self) -> bool:
        """Whether anything is recorded now (the setting can change while the server runs)."""
        return self.settings.telemetry == "on" and not self._closed

    # Requests --------------------------------------------------------------------------------------------

    @_guarded
    def request_started(self, uri: str) -> None:
        """A new completion request for ``uri``: a suggestion still shown there was hidden by typing."""
        if not self.enabled:
            return
        self.sweep()
        for suggestion in list(self._on_screen.values()):
            if suggestion.uri == uri and suggestion.shown_at is not None and not suggestion.verdict:
                self._reject(suggestion, "typing")

    @_guarded
    def request_completed(self, *, request_id: str, uri: str, path: str, language: str, prefix: str,
                          suffix: str, invoked: bool, result: Answer,
                          items: list[tuple[str, str, int, int]]) -> None:
        """The pipeline answered; ``items`` are ``(completion_id, insert_text, head_len, start)``."""
        if not self.enabled:
            return
        now_ms = self._now_ms()
        event = Event(kind="suggested", ts_ms=now_ms, session=self.session, request_id=request_id,
                      language=language, engine=result.engine, fallback=result.fallback, sources=tuple(result.sources),
                      timings_ms=dict(result.timings_ms))
        if items:
            top = items[0][1]
            self._submit(replace(event, length_chars=len(top), length_lines=line_count(top), text_hash=text_hash(top)))
        elif result.skipped:  # the pipeline's own gate decided not to ask the engine
            self._submit(replace(event, kind="no_suggestion", reason="filtered", detail=result.skipped))
        elif result.dropped:  # every candidate was dropped by a processor
            detail = "; ".join(sorted(set(result.dropped)))[:200]
            self._submit(replace(event, kind="no_suggestion", reason="filtered", detail=detail))
        else:
            self._submit(replace(event, kind="no_suggestion", reason="empty"))
        for completion_id, insert_text, head_len, start in items:
            self._pending[completion_id] = _Suggestion(
                completion_id=completion_id, request_id=request_id, uri=uri, language=language,
                engine=result.engine, sources=tuple(result.sources), insert_text=insert_text, head_len=head_len,
                start=start,
            )
        while len(self._pending) > PENDING_LIMIT:
            self._pending.popitem(last=False)
        if self.settings.telemetry_store_text and not result.skipped:
            # Redacted on the writer thread, before it is stored.
            self._submit(TextRecord(request_id=request_id, ts_ms=now_ms, path=path, language=language,
                                    prefix=prefix[-PREFIX_CHARS:], suffix=suffix[:SUFFIX_CHARS],
                                    suggestion=items[0][1][items[0][2]:] if items else "", invoked=invoked))

    @_guarded
    def request_failed(self, *, request_id: str, language: str, engine: str, reason: str, detail: str = "") -> None:
        """The request ended without an answer: ``cancelled`` or ``error``."""
        if not self.enabled:
            return
        self._submit(Event(kind="no_suggestion", ts_ms=self._now_ms(), session=self.session,
                           request_id=request_id, language=language, engine=engine, reason=reason, detail=detail))

    # Feedback --------------------------------------------------------------------------------------------

    @_guarded
    def shown(self, completion_id: str) -> None:
        """The editor displayed the suggestion (the display's length is known when it ends)."""
        if not self.enabled:
            return
        self.sweep()
        suggestion = self._pending.get(completion_id)
        if suggestion is None or suggestion.shown_at is not None:
            return
        suggestion.shown_at = self.clock.monotonic()
        self._on_screen[completion_id] = suggestion
        suggestion.shown_wall_ms = self._now_ms()

    @_guarded
    def accepted(self, completion_id: str, accepted_length: int | None) -> None:
        """The person accepted ``accepted_length`` characters of the item's insert text (None: all of it)."""
        if not self.enabled:
            return
        self.sweep()
        suggestion = self._pending.get(completion_id)
        if suggestion is None:
            return
        total = len(suggestion.insert_text)
        length = total if accepted_length is None else max(0, min(accepted_length, total))
        previous = suggestion.accepted_length
        if length <= previous:
            return  # a repeated notification
        self._write_shown(suggestion)
        suggestion.verdict = "accepted"
        self._on_screen.pop(completion_id, None)
        suggestion.accepted_length = length
        kind = "accepted" if length == total else "partially_accepted"
        self._submit(replace(self._event(suggestion, kind), accepted_length=length,
                             splice_chars=max(0, length - suggestion.head_len)))
        self._follow(suggestion, previous, length)

    @_guarded
    def rejected(self, completion_id: str, reason: str | None) -> None:
        """The editor reports the suggestion dismissed, typed past or replaced."""
        if not self.enabled:
            return
        self.sweep()
        suggestion = self._pending.get(completion_id)
        if suggestion is None or suggestion.verdict:
            return
        self._reject(suggestion, _REJECT_REASONS.get(reason or "", "explicit"))

    # Documents -------------------------------------------------------------------------------------------

    @_guarded
    def document_edited(self, uri: str, edits: list[Edit]) -> None:
        """Follow accepted suggestions through ``edits`` and count what the person typed."""
        if not self.enabled:
            return
        self.sweep()  # checkpoints that fell due read the document as it was before these edits
        now = self.clock.monotonic()
        typing = self._typing_of(uri, now)
        waiting = [a for a in self._awaiting if a.tracked.uri == uri]
        for edit in edits:
            for tracked in self._tracked:
                if tracked.uri == uri:
                    tracked.apply(edit)
            for awaiting in waiting:
                awaiting.tracked.apply(edit)
            if not edit.inserted:
                continue
            splice_edit = next((a for a in waiting if not a.edit_seen and a.part.endswith(edit.inserted)), None)
            if splice_edit is not None:
                splice_edit.edit_seen = True  # the accept's own insertion: not typed by the person
                continue
            typing.chars += len(edit.inserted)
            typing.recent.append(_RecentEdit(edit.inserted, edit.begin + len(edit.inserted), now))
        for awaiting in waiting:
            if self._locate(awaiting):
                self._awaiting.remove(awaiting)

    @_guarded
    def document_closed(self, uri: str) -> None:
        """Stop following ``uri``: end its shown suggestions and flush its typing count."""
        if not self.enabled:
            return
        self.sweep()
        for suggestion in list(self._on_screen.values()):
            if suggestion.uri == uri and suggestion.shown_at is not None and not suggestion.verdict:
                self._reject(suggestion, "ended")
        self._tracked = [t for t in self._tracked if t.uri != uri]
        self._awaiting = [a for a in self._awaiting if a.tracked.uri != uri]
        typing = self._typing.pop(uri, None)
        if typing is not None:
            self._flush_typing(uri, typing)

    # Time ------------------------------------------------------------------------------------------------

    @_guarded
    def sweep(self) -> None:
        """Apply whatever fell due: show timeouts, retention checkpoints, typing counts."""
        if not self.enabled:
            return
        now = self.clock.monotonic()
        for suggestion in list(self._on_screen.values()):
            if (suggestion.shown_at is not None and not suggestion.verdict
                    and now - suggestion.shown_at >= SHOW_TIMEOUT_S):
                self._reject(suggestion, "timeout")
        for tracked in list(self._tracked):
            while tracked.due and now - tracked.accepted_at >= tracked.due[0]:
                checkpoint = tracked.due.pop(0)
                self._checkpoint(tracked, checkpoint)
            if not tracked.due:
                self._tracked.remove(tracked)
        for awaiting in list(self._awaiting):
            if now > awaiting.until:
                log.info("telemetry_accept_not_located", completion_id=awaiting.tracked.completion_id)
                self._awaiting.remove(awaiting)
        for uri, typing in self._typing.items():
            if now - typing.since >= TYPED_FLUSH_S:
                self._flush_typing(uri, typing)
                typing.since = now

    def start_timer(self) -> None:
        """Start the writer and sweep every few seconds while the server is idle (called on the server's loop
        once the ``initialize`` reply is out, so loading SQLite does not delay it)."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._tick())
        if self.enabled and self.writer is None:
            self.writer = self._writer_factory(self.settings)
            self._start_export()

    def _start_export(self) -> None:
        """Forward events to the organization's collector when one is configured (read once, at start)."""
        if self.writer is None or not (self.settings.collector_url and self.settings.collector_token):
            return
        from splice.telemetry.export import Exporter, Identity, default_user, outbox_path  # noqa: PLC0415

        identity = Identity(user=self.settings.collector_user or default_user(),
                            repository=Path(self.workspace).name if self.workspace else "")
        self.writer.exporter = Exporter(
            self.settings.collector_url, self.settings.collector_token, outbox_path(self.writer.path),
            self.settings.collector_queue_events, identity, tenant_of=lambda: self.settings.tenant,
            on_assignment=self.on_assignment)
        log.info("telemetry_export", url=self.settings.collector_url, user=identity.user,
                 repository=identity.repository)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.sweep()

    def close(self, timeout: float = 2.0) -> None:
        """End the session: settle what is open, then let the writer finish (at most ``timeout`` s)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed:
            return
        try:
            if self.enabled:
                self.sweep()
                for suggestion in list(self._on_screen.values()):
                    if suggestion.shown_at is not None and not suggestion.verdict:
                        self._reject(suggestion, "ended")
                for uri, typing in self._typing.items():
                    self._flush_typing(uri, typing)
        except Exception:
            log.exception("telemetry_failed", step="close")
        self._closed = True
        if self.writer is not None:
            self.writer.close(timeout)

    # Internals -------------------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock.wall() * 1000)

    def _submit(self, item: Event | TextRecord) -> None:
        if self.writer is None:
            self.writer = self._writer_factory(self.settings)
            self._start_export()
        self.writer.submit(item)

    def _event(self, suggestion: _Suggestion, kind: str) -> Event:
        text = suggestion.insert_text
        return Event(kind=kind, ts_ms=self._now_ms(), session=self.session, request_id=suggestion.request_id,
                     completion_id=suggestion.completion_id, language=suggestion.language, engine=suggestion.engine,
                     sources=suggestion.sources, length_chars=len(text), length_lines=line_count(text),
                     text_hash=text_hash(text))

    def _write_shown(self, suggestion: _Suggestion) -> None:
        """The ``shown`` event, once, when the display ends; an accept without a show counts as shown."""
        if suggestion.shown_written:
            return
        suggestion.shown_written = True
        display_ms = None
        ts_ms = self._now_ms()
        if suggestion.shown_at is not None:
            display_ms = round((self.clock.monotonic() - suggestion.shown_at) * 1000, 1)
            ts_ms = suggestion.shown_wall_ms
        self._submit(replace(self._event(suggestion, "shown"), display_ms=display_ms, ts_ms=ts_ms))

    def _reject(self, suggestion: _Suggestion, reason: str) -> None:
        self._write_shown(suggestion)
        suggestion.verdict = "rejected"
        self._on_screen.pop(suggestion.completion_id, None)
        self._submit(replace(self._event(suggestion, "rejected"), reason=reason))

    def _follow(self, suggestion: _Suggestion, previous: int, length: int) -> None:
        """Start (or extend) following the accepted text through the document."""
        part = suggestion.insert_text[previous:length]
        skip = max(0, suggestion.head_len - previous)
        tracked = next((t for t in self._tracked if t.completion_id == suggestion.completion_id), None)
        if tracked is None:
            waiting = next((a for a in self._awaiting if a.tracked.completion_id == suggestion.completion_id), None)
            if waiting is not None:  # a further partial accept before the first was located: wait for both
                waiting.part += part
                waiting.until = self.clock.monotonic() + ACCEPT_EDIT_WINDOW_S
                return
            tracked = TrackedSuggestion(completion_id=suggestion.completion_id, uri=suggestion.uri,
                                        accepted_at=self.clock.monotonic(), anchor=suggestion.start,
                                        due=list(CHECKPOINTS_S))
            if len(self._tracked) >= TRACKED_LIMIT:
                self._tracked.pop(0)
        awaiting = _Awaiting(tracked, part, skip, self.clock.monotonic() + ACCEPT_EDIT_WINDOW_S)
        if self._locate(awaiting):
            self._reattribute(suggestion.uri, awaiting)
        else:
            self._awaiting.append(awaiting)

    def _locate(self, awaiting: _Awaiting) -> bool:
        """Find the accepted text at its anchor; once found it is followed and its checkpoints run."""
        tracked = awaiting.tracked
        text = self._text_of(tracked.uri)
        if text is None or text[tracked.anchor : tracked.anchor + len(awaiting.part)] != awaiting.part:
            return False
        tracked.anchor += awaiting.skip
        tracked.extend(len(awaiting.part) - awaiting.skip)
        if tracked not in self._tracked:
            self._tracked.append(tracked)
        return True

    def _reattribute(self, uri: str, awaiting: _Awaiting) -> None:
        """The accept's edit came first and was counted as typed: it was Splice's."""
        typing = self._typing.get(uri)
        if typing is None or not typing.recent:
            return
        last = typing.recent[-1]
        now = self.clock.monotonic()
        if (not last.reattributed and now - last.at <= ACCEPT_EDIT_WINDOW_S and awaiting.part.endswith(last.inserted)
                and last.end == awaiting.tracked.anchor):
            last.reattributed = True
            typing.chars -= len(last.inserted)

    def _checkpoint(self, tracked: TrackedSuggestion, checkpoint: int) -> None:
        suggestion = self._pending.get(tracked.completion_id)
        base = Event(kind="retained", ts_ms=self._now_ms(), session=self.session,
                     completion_id=tracked.completion_id, checkpoint_s=checkpoint,
                     retained_chars=tracked.retained, splice_chars=tracked.splice_chars)
        if suggestion is not None:
            base = replace(base, request_id=suggestion.request_id, language=suggestion.language,
                           engine=suggestion.engine, sources=suggestion.sources)
        self._submit(base)

    def _typing_of(self, uri: str, now: float) -> _Typing:
        typing = self._typing.get(uri)
        if typing is None:
            typing = self._typing[uri] = _Typing(language=self._language_of(uri), since=now)
        return typing

    def _flush_typing(self, uri: str, typing: _Typing) -> None:
        if typing.chars:
            self._submit(Event(kind="typed", ts_ms=self._now_ms(), session=self.session, language=typing.language,
                               typed_chars=typing.chars))
            typing.chars = 0


def _default_writer(settings: Settings) -> TelemetryWriter:
    # Imported here: SQLite and the redactor are loaded when telemetry first needs them, not at start-up.
    from splice.telemetry.store import database_path  # noqa: PLC0415
    from splice.telemetry.writer import TelemetryWriter  # noqa: PLC0415

    path = database_path(settings.data_dir)
    log.info("telemetry_database", path=str(path), store_text=settings.telemetry_store_text)
    return TelemetryWriter(path, settings.telemetry_max_mb * 1024 * 1024)
