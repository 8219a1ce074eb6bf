"""The writer thread: the only place telemetry touches the disk, so completions never wait on SQLite.

The server hands events to :meth:`TelemetryWriter.submit`, which never blocks: when the bounded queue is
full the event is counted and dropped. The thread opens the database as it starts (a server killed in its
first second still leaves its events), writes in batches a tenth of a second apart at most (a killed
server loses no more than the last second), redacts opt-in texts before they are stored, and keeps the file
under its size limit. Every failure (a locked or corrupt database, a full disk, a directory it may not
create) is logged and the batch is dropped; the thread carries on and tries to open the database again
after a pause. A record that cannot be stored (a value SQLite cannot bind, text the redactor trips on) is
dropped alone, counted in ``rejected`` and logged: one bad event never ends the thread.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from splice.logging import get_logger
from splice.secrets import redact
from splice.telemetry.events import Event, TextRecord
from splice.telemetry.store import Store, StoreError

if TYPE_CHECKING:
    from splice.telemetry.export import Exporter

log = get_logger()

QUEUE_LIMIT = 10_000
BATCH_LIMIT = 500
LINGER_S = 0.1
REOPEN_AFTER_S = 30.0
ROTATE_EVERY = 1000  # events between size checks
_STOP = object()


class TelemetryWriter:
    """A daemon thread that stores submitted events and texts in the database at ``path``."""

    def __init__(self, path: Path, max_bytes: int, *, opener: Callable[[Path], Store] = Store.open,
                 queue_limit: int = QUEUE_LIMIT) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.dropped = 0
        self.failures = 0
        self.written = 0
        self.rejected = 0  # records dropped because they could not be stored
        self.exporter: Exporter | None = None  # forwards each batch's events to the organization's collector
        self._opener = opener
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_limit)
        self._store: Store | None = None
        self._next_open = 0.0
        self._since_rotate = 0
        self._thread = threading.Thread(target=self._run, name="splice-telemetry", daemon=True)
        self._thread.start()

    def submit(self, item: Event | TextRecord) -> None:
        """Queue ``item`` for the disk; drops it (and counts) rather than wait when the queue is full."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("telemetry_queue_full", dropped=self.dropped)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far is written (or given up on); False on timeout."""
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued, then stop; gives up after ``timeout`` so an editor's restart never waits."""
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.warning("telemetry_close_queue_full")
        self._thread.join(timeout)

    # The thread ----------------------------------------------------------------------------------------

    def _run(self) -> None:
        self._ensure_store()
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            # Linger a moment so events arriving together share one transaction, and the thread wakes (and
            # takes the interpreter lock) a few times a second at most rather than once per event.
            deadline = time.monotonic() + LINGER_S
            while len(batch) < BATCH_LIMIT and not isinstance(batch[-1], threading.Event) and batch[-1] is not _STOP:
                remaining = deadline - time.monotonic()
                try:
                    batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
                except queue.Empty:
                    break
            waiters = [b for b in batch if isinstance(b, threading.Event)]
            stopping = any(b is _STOP for b in batch)
            records = [b for b in batch if isinstance(b, (Event, TextRecord))]
            try:
                self._write(records)
            except Exception as exc:  # whatever it is, the thread must live on: nothing else would be recorded
                self._failed("telemetry_batch_failed", exc, len(records))
            finally:
                for waiter in waiters:
                    waiter.set()
        if self._store is not None:
            self._store.close()
        if self.exporter is not None:
            self.exporter.close()

    def _write(self, batch: list[Event | TextRecord]) -> None:
        if not batch:
            return
        if self.exporter is not None:  # before the local store, whose failures must not hold the export back
            self.exporter.submit(b for b in batch if isinstance(b, Event))
        store = self._ensure_store()
        if store is None:
            self.dropped += len(batch)
            return
        events = [b for b in batch if isinstance(b, Event)]
        texts = [t for t in (self._redacted(t) for t in batch if isinstance(t, TextRecord)) if t is not None]
        try:
            try:
                store.insert(events, texts)
            except _UNBINDABLE:
                events = self._insert_each(store, events, texts)
            self.written += len(events)
            self._since_rotate += len(events)
            if self._since_rotate >= ROTATE_EVERY:
                self._since_rotate = 0
                removed = store.rotate(self.max_bytes)
                if removed:
                    log.info("telemetry_rotated", dropped_events=removed, path=str(self.path))
        except sqlite3.Error as exc:
            # Locked past the busy timeout, disk full, or the file went bad under us: this batch is lost.
            self._failed("telemetry_write_failed", exc, len(batch))
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
                self._drop_store()  # corruption: reopen (and move the file aside) later
            elif "disk" in str(exc).lower() or "full" in str(exc).lower():
                self._drop_store()

    def _insert_each(self, store: Store, events: list[Event], texts: list[TextRecord]) -> list[Event]:
        """Store the records of a failed batch one at a time, dropping those that cannot be; the stored events."""
        stored: list[Event] = []
        items: list[Event | TextRecord] = [*events, *texts]
        for item in items:
            try:
                if isinstance(item, Event):
                    store.insert([item])
                    stored.append(item)
                else:
                    store.insert([], [item])
            except _UNBINDABLE as exc:
                self._rejected(item, exc)
        return stored

    def _redacted(self, record: TextRecord) -> TextRecord | None:
        try:
            return _redacted(record)
        except Exception as exc:  # the record is dropped, the thread carries on
            self._rejected(record, exc)
            return None

    def _rejected(self, item: Event | TextRecord, exc: BaseException) -> None:
        self.rejected += 1
        if self.rejected <= 3 or self.rejected % 100 == 0:
            log.warning("telemetry_record_rejected", kind=getattr(item, "kind", "text"),
                        error=f"{type(exc).__name__}: {exc}", rejected=self.rejected)

    def _ensure_store(self) -> Store | None:
        if self._store is not None:
            return self._store
        now = time.monotonic()
        if now < self._next_open:
            return None
        try:
            self._store = self._opener(self.path)
        except (sqlite3.Error, StoreError, OSError) as exc:
            # A lock held by another process passes; anything else (permissions, a read-only disk) is
            # retried only after a pause so the log is not flooded.
            locked = "locked" in str(exc) or "busy" in str(exc)
            self._next_open = now if locked else now + REOPEN_AFTER_S
            self._failed("telemetry_open_failed", exc, 0)
            return None
        return self._store

    def _drop_store(self) -> None:
        if self._store is not None:
            with contextlib.suppress(sqlite3.Error):
                self._store.close()
            self._store = None
        self._next_open = time.monotonic() + REOPEN_AFTER_S

    def _failed(self, what: str, exc: BaseException, lost: int) -> None:
        self.failures += 1
        self.dropped += lost
        if self.failures <= 3 or self.failures % 100 == 0:
            log.warning(what, path=str(self.path), error=f"{type(exc).__name__}: {exc}", lost=lost,
                        failures=self.failures)


# What binding a bad value raises: it condemns the record, not the database.
_UNBINDABLE = (sqlite3.InterfaceError, sqlite3.ProgrammingError, ValueError, TypeError, OverflowError)


def _redacted(record: TextRecord) -> TextRecord:
    return replace(record, path=redact(record.path).text, prefix=redact(record.prefix).text,
                   suffix=redact(record.suffix).text, suggestion=redact(record.suggestion).text)
