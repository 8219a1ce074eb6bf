"""Forwarding telemetry to the organization's collector, on a thread of its own.

The writer thread hands each batch of events to :meth:`Exporter.submit`, which writes them to the
on-disk queue (:mod:`splice.telemetry.outbox`) at once, so a server that exits (or is stopped while a
send hangs) loses nothing it had handed over. The exporter's thread sends the oldest queued events in
batches with the organization's token, and forgets them only when the collector has stored them. So
the completion path never waits for the network, and a collector that is down, slow or failing costs
nothing but retries, spaced by exponential backoff with jitter.

What the collector answers decides what happens to a batch:

* 2xx: stored; removed from the queue. The reply also names the tenant and task id assigned to this
  user and repository, which the server applies (``on_assignment``).
* 409 with the ids already stored (a resend after a lost reply): those are removed, the rest resent.
* 413 or 422 (too large, or an event the collector's schema refuses): the batch is halved until the
  refused event is alone, and only that one is dropped and counted (``refused``).
* 401/403 (a wrong or revoked token), 5xx, timeouts, refused connections: kept; retried after a backoff.

The privacy rules are the local store's: events hold no code text, and the free-text fields (a
processor's reason, a fallback's error) are redacted before they are queued.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import random
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splice import __version__
from splice.logging import get_logger
from splice.secrets import redact
from splice.telemetry.events import Event
from splice.telemetry.outbox import OUTBOX_NAME, Outbox, Queued

log = get_logger()

BATCH_LIMIT = 500
SEND_TIMEOUT_S = 10.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 60.0
IDLE_POLL_S = 60.0  # how often an idle server asks for its assignment
LINGER_S = 1.0  # events gathered between two sends, unless a full batch is waiting
INGEST_PATH = "/v1/events"
ASSIGNMENT_PATH = "/v1/assignment"


@dataclass(frozen=True, kw_only=True)
class Identity:
    """Who the events come from: what the dashboard groups them by beside their own fields."""

    user: str
    repository: str
    version: str = __version__


@dataclass(frozen=True)
class Assignment:
    """The customization the collector assigns to this user and repository (tenant "" means none)."""

    tenant: str
    task_id: int | None
    version: int | None


@dataclass(frozen=True)
class _Reply:
    status: int
    body: dict[str, Any]


class Exporter:
    """Sends queued events to ``url`` with ``token``; ``tenant_of`` gives the tenant to stamp on each."""

    def __init__(self, url: str, token: str, outbox_path: Path, limit: int, identity: Identity, *,
                 tenant_of: Callable[[], str] = lambda: "",
                 on_assignment: Callable[[Assignment], None] | None = None) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.identity = identity
        self.sent = 0
        self.dropped = 0  # events that could not be queued (the queue's file unusable)
        self.retries = 0
        self._outbox_path = outbox_path
        self._limit = limit
        self._tenant_of = tenant_of
        self._on_assignment = on_assignment
        self._assignment: Assignment | None = None
        self._writer_outbox: Outbox | None = None  # the writer thread's own connection to the queue
        self._wake = threading.Event()  # set when events are queued
        self._stopping = threading.Event()
        self.outbox: Outbox | None = None
        self._thread = threading.Thread(target=self._run, name="splice-export", daemon=True)
        self._thread.start()

    def submit(self, events: Iterable[Event]) -> None:
        """Queue ``events`` on disk (called on the writer thread, never on the completion path)."""
        tenant = self._tenant_of()
        records = [self._record(event, tenant) for event in events]
        if not records:
            return
        try:
            if self._writer_outbox is None:
                self._writer_outbox = Outbox(self._outbox_path, self._limit)
            dropped = self._writer_outbox.put(records)
        except (sqlite3.Error, OSError) as exc:
            self.dropped += len(records)
            log.warning("export_queue_failed", path=str(self._outbox_path), error=f"{type(exc).__name__}: {exc}",
                        lost=len(records))
            return
        if dropped:
            log.warning("export_queue_full", dropped=dropped, limit=self._limit)
        self._wake.set()

    def close(self, timeout: float = 1.0) -> None:
        """Stop sending; what is unsent is on disk already, for the next server on this data directory."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        if self._writer_outbox is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer_outbox.close()

    def _record(self, event: Event, tenant: str) -> dict[str, Any]:
        record = event.as_dict()
        for name, limit in (("fallback", 1000), ("detail", 300)):
            if name in record:
                record[name] = redact(record[name]).text[:limit]
        record.update(user=self.identity.user, repository=self.identity.repository,
                      version=self.identity.version)
        if tenant:
            record["tenant"] = tenant
            assignment = self._assignment
            if assignment is not None and assignment.tenant == tenant and assignment.version is not None:
                record["tenant_version"] = assignment.version
        return record

    # The thread ----------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self.outbox = Outbox(self._outbox_path, self._limit)
        except (sqlite3.Error, OSError) as exc:
            log.warning("export_queue_unusable", path=str(self._outbox_path), error=f"{type(exc).__name__}: {exc}")
            return
        try:
            self._ask_assignment()
            self._loop(self.outbox)
        except Exception:  # the exporter stops; the server and its local store carry on
            log.exception("export_failed")
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.outbox.close()

    def _loop(self, outbox: Outbox) -> None:
        backoff = wait = 0.0
        batch_limit = BATCH_LIMIT
        next_poll = time.monotonic() + IDLE_POLL_S
        while True:
            if self._wait(wait, until_queued=wait == IDLE_POLL_S):
                return
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + IDLE_POLL_S
                self._ask_assignment()
            batch = outbox.claim(batch_limit)
            if not batch:
                wait = IDLE_POLL_S
                continue
            outcome = self._send(outbox, batch)
            if outcome == "retry":
                self.retries += 1
                backoff = min(BACKOFF_MAX_S, max(BACKOFF_FIRST_S, backoff * 2))
                wait = backoff * random.uniform(0.8, 1.2)
                continue
            backoff = 0.0
            if outcome == "split":
                batch_limit = max(1, len(batch) // 2)
            elif outcome == "sent":
                next_poll = time.monotonic() + IDLE_POLL_S
                batch_limit = BATCH_LIMIT
            # A full batch means more is waiting; otherwise gather for a moment, so a backend sends about
            # one request a second however often its writer hands events over.
            wait = LINGER_S if outcome == "sent" and len(batch) < batch_limit else 0.0

    def _wait(self, seconds: float, *, until_queued: bool) -> bool:
        """Wait ``seconds`` (``until_queued``: or until events are queued); True when told to stop."""
        if until_queued:
            self._wake.wait(seconds)
            self._wake.clear()
        elif seconds > 0:
            self._stopping.wait(seconds)
        return self._stopping.is_set()

    def _send(self, outbox: Outbox, batch: list[Queued]) -> str:
        """POST ``batch``; "sent", "partial" (duplicates removed), "split", "dropped" or "retry"."""
        body = {"backend": {"user": self.identity.user, "repository": self.identity.repository},
                "events": [item.event for item in batch]}
        reply = self._request("POST", INGEST_PATH, body)
        if reply is None or reply.status >= 500 or reply.status in (401, 403, 408, 429):
            if reply is not None and reply.status in (401, 403):
                log.warning("export_refused_token", status=reply.status, error=reply.body.get("error", ""))
            outbox.release()
            return "retry"
        if reply.status < 300:
            outbox.remove(batch)
            self.sent += len(batch)
            self._assigned(reply.body.get("assignment"))
            return "sent"
        if reply.status == 409 and isinstance(reply.body.get("duplicates"), list):
            stored = set(reply.body["duplicates"])
            outbox.remove(item for item in batch if item.id in stored)
            outbox.release()
            return "partial"
        if len(batch) > 1:
            outbox.release()
            return "split"
        log.warning("export_event_refused", status=reply.status, error=reply.body.get("error", ""),
                    kind=batch[0].event.get("kind"))
        outbox.remove(batch)
        outbox.refused(1)
        return "dropped"

    def _ask_assignment(self) -> None:
        query = urllib.parse.urlencode({"user": self.identity.user, "repository": self.identity.repository})
        reply = self._request("GET", f"{ASSIGNMENT_PATH}?{query}", None)
        if reply is not None and reply.status == 200:
            self._assigned(reply.body.get("assignment"))

    def _assigned(self, raw: Any) -> None:
        if not isinstance(raw, dict) or self._on_assignment is None:
            return
        task_id, version = raw.get("task_id"), raw.get("version")
        assignment = Assignment(str(raw.get("tenant") or ""), task_id if isinstance(task_id, int) else None,
                                version if isinstance(version, int) else None)
        if assignment != self._assignment:
            self._assignment = assignment
            log.info("collector_assignment", tenant=assignment.tenant, task_id=assignment.task_id,
                     version=assignment.version)
            try:
                self._on_assignment(assignment)
            except Exception:
                log.exception("collector_assignment_failed")

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> _Reply | None:
        """One HTTP exchange; None when the collector could not be reached or did not answer in time."""
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self._token}", "Content-Type": "application/json",
            "User-Agent": f"splice/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_S) as response:
                return _Reply(response.status, _json_of(response.read()))
        except urllib.error.HTTPError as exc:
            return _Reply(exc.code, _json_of(exc.read()))
        except (OSError, ValueError) as exc:  # refused, reset, timed out, DNS, a malformed reply
            log.info("export_unreachable", url=self.url, error=f"{type(exc).__name__}: {exc}")
            return None


def _json_of(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def default_user() -> str:
    """The operating system's name for the person running the server ("" when it has none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def outbox_path(store_path: Path) -> Path:
    """The export queue beside the telemetry database at ``store_path``."""
    return store_path.with_name(OUTBOX_NAME)
