"""The export queue: events waiting for the organization's collector, in an SQLite file beside the store.

On disk rather than in memory so that nothing is lost while the collector is down, slow or answering
errors, nor when the editor restarts in the meantime: the next ``splice serve`` sends what the last one
could not. Each event gets its id here, once, when it is queued; a resend after a lost reply carries the
same id, which is what the collector de-duplicates on. The queue is bounded by a number of events: past
it, the oldest go and are counted (``dropped``), and nothing else is ever dropped.

One file per data directory, shared by every ``splice serve`` using it, like the store: WAL journal,
busy timeout, and ``BEGIN IMMEDIATE`` around each change, so two servers never send the same rows at once
(a server claims rows before sending them; a claim of a process that is gone, or older than
:data:`CLAIM_S`, is released, so a server killed mid-send holds nothing back).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUTBOX_NAME = "export-queue.db"
BUSY_TIMEOUT_MS = 2000
CLAIM_S = 120.0

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outbox (
           seq INTEGER PRIMARY KEY,
           id TEXT NOT NULL,
           body TEXT NOT NULL,          -- the event as JSON, id included
           claimed_by TEXT, claimed_at REAL
       )""",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)


@dataclass(frozen=True)
class Queued:
    """A queued event: its row, its id and its JSON body."""

    seq: int
    id: str
    event: dict[str, Any]


class Outbox:
    """The bounded on-disk queue at ``path``; only ever used from one thread of a process."""

    def __init__(self, path: Path, limit: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.limit = limit
        self.owner = f"{os.getpid()}:{uuid.uuid4().hex}"
        self.conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                    check_same_thread=False)
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Switching to WAL and creating the tables can meet "database is locked" at once, without the busy
        # timeout, when another connection (the writer thread's, another server's) opens the file too.
        deadline = time.monotonic() + 10
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
                for statement in _SCHEMA:
                    self.conn.execute(statement)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    self.conn.close()
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        """Close the file; claimed rows go back to the queue for the next server."""
        try:
            self._write("UPDATE outbox SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?", (self.owner,))
        finally:
            self.conn.close()

    def put(self, events: Iterable[dict[str, Any]]) -> int:
        """Queue ``events`` (each given a fresh id); returns how many old ones were dropped to stay bounded."""
        rows = []
        for event in events:
            event_id = uuid.uuid4().hex
            rows.append((event_id, json.dumps({**event, "id": event_id}, separators=(",", ":"))))
        if not rows:
            return 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany("INSERT INTO outbox (id, body) VALUES (?, ?)", rows)
            over = self.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] - self.limit
            dropped = 0
            if over > 0:
                cut = self.conn.execute("SELECT seq FROM outbox ORDER BY seq LIMIT 1 OFFSET ?", (over,)).fetchone()
                dropped = self.conn.execute("DELETE FROM outbox WHERE seq < ?", (cut[0],)).rowcount
                self._count("dropped", dropped)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return dropped

    def claim(self, limit: int) -> list[Queued]:
        """The oldest ``limit`` events no other live server is sending, claimed for this one."""
        now = time.time()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            owners = [row[0] for row in self.conn.execute(
                "SELECT DISTINCT claimed_by FROM outbox WHERE claimed_by IS NOT NULL AND claimed_by <> ?",
                (self.owner,))]
            self.conn.executemany("UPDATE outbox SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?",
                                  [(owner,) for owner in owners if not _alive(owner)])
            rows = self.conn.execute(
                "SELECT seq, id, body FROM outbox WHERE claimed_by IS NULL OR claimed_by = ? OR claimed_at < ? "
                "ORDER BY seq LIMIT ?", (self.owner, now - CLAIM_S, limit)).fetchall()
            self.conn.executemany("UPDATE outbox SET claimed_by = ?, claimed_at = ? WHERE seq = ?",
                                  [(self.owner, now, seq) for seq, _, _ in rows])
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return [Queued(seq, event_id, json.loads(body)) for seq, event_id, body in rows]

    def remove(self, items: Iterable[Queued]) -> None:
        """Forget events the collector has stored (or refused for good)."""
        seqs = [(item.seq,) for item in items]
        if seqs:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany("DELETE FROM outbox WHERE seq = ?", seqs)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def release(self) -> None:
        """Give this server's claims back (a send failed; any server may try again)."""
        self._write("UPDATE outbox SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?", (self.owner,))

    def refused(self, count: int) -> None:
        """Count events the collector refused for good (a malformed batch that no resend can fix)."""
        self._write("INSERT INTO counters VALUES ('refused', ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
                    (count, count))

    def size(self) -> int:
        """Events waiting."""
        return int(self.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def counter(self, name: str) -> int:
        """``dropped`` (past the bound) or ``refused`` (by the collector) since the file was created."""
        row = self.conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def _count(self, name: str, amount: int) -> None:
        self.conn.execute("INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
                          (name, amount, amount))

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(sql, params)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise


def _alive(owner: str) -> bool:
    """Whether the process named in a claim still runs (a claim that names none is kept until it is old)."""
    pid = owner.partition(":")[0]
    if not pid.isdigit() or sys.platform == "win32":  # os.kill(pid, 0) would end the process there
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but belongs to someone else
    return True
