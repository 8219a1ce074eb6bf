"""The telemetry database: one SQLite file in the user's data directory, safe for several processes.

Decisions, each for a failure someone will meet:

* WAL journal and a busy timeout, so a second editor window (a second ``splice serve``) and ``splice
  report`` can read and write at the same time; schema migrations run inside ``BEGIN IMMEDIATE`` so two
  processes starting together cannot apply one twice. ``PRAGMA user_version`` is the schema's version.
* Bounded size: when the live data passes the limit, the oldest quarter of the events goes (a ring buffer
  rather than a second file, which another process might still hold open) and the freed pages are returned
  with an incremental vacuum.
* A corrupt file is moved aside (``telemetry.db.corrupt-<time>``) and a fresh one started by the server;
  reports open read-only and say what is wrong instead.

Everything here is synchronous; the server calls it only from its writer thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from splice.config import directory
from splice.logging import get_logger
from splice.telemetry.events import Event, TextRecord

log = get_logger()

DB_NAME = "telemetry.db"
BUSY_TIMEOUT_MS = 2000
_EVENT_COLUMNS = (
    "ts_ms", "kind", "session", "request_id", "completion_id", "language", "engine", "sources", "timings",
    "length_chars", "length_lines", "text_hash", "display_ms", "accepted_length", "splice_chars", "reason",
    "detail", "checkpoint_s", "retained_chars", "typed_chars", "fallback",
)
_TEXT_COLUMNS = ("request_id", "ts_ms", "path", "language", "prefix", "suffix", "suggestion", "invoked")

# Each entry brings the schema from version i to i + 1. Only ever append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        session TEXT, request_id TEXT, completion_id TEXT, language TEXT, engine TEXT,
        sources TEXT,            -- JSON array of context source names
        timings TEXT,            -- JSON object: stage -> milliseconds
        length_chars INTEGER, length_lines INTEGER, text_hash TEXT,
        display_ms REAL, accepted_length INTEGER, splice_chars INTEGER,
        reason TEXT, detail TEXT,
        checkpoint_s INTEGER, retained_chars INTEGER, typed_chars INTEGER
    );
    CREATE INDEX events_ts ON events (ts_ms);
    CREATE INDEX events_completion ON events (completion_id);
    -- Only with the opt-in: the situation and suggestion of a request, secrets redacted.
    CREATE TABLE texts (
        request_id TEXT PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        path TEXT, language TEXT, prefix TEXT, suffix TEXT, suggestion TEXT, invoked INTEGER
    );
    CREATE INDEX texts_ts ON texts (ts_ms);
    """,
    # The engine column had held "embedded (fallback: <error>)": one report row per distinct error. The
    # reason moves to its own column and the engine keeps its short name.
    """
    ALTER TABLE events ADD COLUMN fallback TEXT;
    UPDATE events
       SET engine = substr(engine, 1, instr(engine, ' (fallback: ') - 1),
           fallback = substr(engine, instr(engine, ' (fallback: ') + 12,
                             length(engine) - instr(engine, ' (fallback: ') - 12)
     WHERE instr(engine, ' (fallback: ') > 0;
    """,
)


def default_data_dir() -> Path:
    """The platform's per-user data directory for Splice."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "Splice"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Splice"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "splice"


def database_path(data_dir: str) -> Path:
    """Where the database lives for the ``data_dir`` setting ("" means the platform default), as an
    absolute path: SQLite's read-only mode takes a ``file:`` URI, which a relative path cannot be."""
    return ((directory(data_dir) if data_dir else default_data_dir()) / DB_NAME).absolute()


class StoreError(Exception):
    """The database cannot be used; the message says why in words a person can act on."""


class Store:
    """An open telemetry database."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._columns: tuple[str, ...] | None = None

    # Opening -------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, quarantine_corrupt: bool = True) -> Store:
        """Open (creating and migrating) the database at ``path``; a corrupt file is moved aside first
        when ``quarantine_corrupt``, otherwise StoreError."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return cls._open(path)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not _is_corruption(exc):
                raise StoreError(f"{path}: {exc}") from exc
            if not quarantine_corrupt:
                raise StoreError(f"{path} is not a usable database ({exc})") from exc
            aside = _quarantine(path)
            log.warning("telemetry_database_corrupt", path=str(path), moved_to=str(aside), error=str(exc))
            return cls._open(path)

    @classmethod
    def _open(cls, path: Path) -> Store:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Before the first table exists, so the freed pages of a rotation can be given back.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL keeps the file consistent at NORMAL; a power cut may lose the last batch, which is acceptable.
            conn.execute("PRAGMA synchronous = NORMAL")
            store = cls(conn, path)
            store._migrate()
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """Open an existing database for reading (reports); StoreError if it is missing or unusable."""
        if not path.exists():
            raise StoreError(f"no telemetry database at {path} (is telemetry on, and SPLICE_DATA_DIR the same?)")
        try:
            conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} cannot be read: {exc}") from exc
        if version < 1:
            conn.close()
            raise StoreError(f"{path} holds no telemetry yet")
        return cls(conn, path)

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(MIGRATIONS):
            if version > len(MIGRATIONS):
                log.info("telemetry_schema_newer", version=version, known=len(MIGRATIONS))
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have migrated in the meantime.
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, len(MIGRATIONS)):
                for statement in _statements(MIGRATIONS[number]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    # Writing -------------------------------------------------------------------------------------------

    def insert(self, events: Iterable[Event], texts: Iterable[TextRecord] = ()) -> None:
        """Store a batch in one transaction."""
        event_rows = [_event_row(e) for e in events]
        text_rows = [tuple(_storable(getattr(t, c)) for c in _TEXT_COLUMNS) for t in texts]
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if event_rows:
                self.conn.executemany(
                    f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(_EVENT_COLUMNS))})",
                    event_rows,
                )
            if text_rows:
                self.conn.executemany(
                    f"INSERT OR REPLACE INTO texts ({', '.join(_TEXT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_TEXT_COLUMNS))})",
                    text_rows,
                )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def live_bytes(self) -> int:
        """Bytes in use (the file less its free pages)."""
        page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * page_size)

    def rotate(self, max_bytes: int) -> int:
        """Drop the oldest events (and texts) until the data fits in ``max_bytes``; returns events dropped."""
        dropped = 0
        for _ in range(8):  # each round drops a quarter; bounded so a pathological file cannot spin
            if self.live_bytes() <= max_bytes:
                break
            count = self.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            texts = self.conn.execute("SELECT COUNT(*) FROM texts").fetchone()[0]
            if count + texts == 0:
                break
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                cut = self.conn.execute("SELECT id FROM events ORDER BY id LIMIT 1 OFFSET ?",
                                        (max(1, count // 4),)).fetchone()
                if cut is not None:
                    self.conn.execute("DELETE FROM events WHERE id < ?", (cut[0],))
                    dropped += max(1, count // 4)
                text_cut = self.conn.execute("SELECT ts_ms FROM texts ORDER BY ts_ms LIMIT 1 OFFSET ?",
                                             (max(1, texts // 4),)).fetchone()
                if text_cut is not None:
                    self.conn.execute("DELETE FROM texts WHERE ts_ms < ?", (text_cut[0],))
                elif texts:
                    self.conn.execute("DELETE FROM texts")
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("PRAGMA incremental_vacuum")
        if dropped:
            # The shrinking happens in the WAL; a checkpoint carries it to the file (a busy reader only delays it).
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dropped

    # Reading -------------------------------------------------------------------------------------------

    def _event_select(self) -> str:
        """The event columns to select; a column a read-only reader finds missing (a database written by an
        older Splice, not migrated since) reads as NULL."""
        if self._columns is None:
            self._columns = tuple(row[1] for row in self.conn.execute("PRAGMA table_info(events)"))
        return ", ".join(c if c in self._columns else f"NULL AS {c}" for c in _EVENT_COLUMNS)

    def events(self, since_ms: int | None = None) -> Iterator[Event]:
        """Stored events in the order they were written, from ``since_ms`` on."""
        query = f"SELECT {self._event_select()} FROM events"
        params: tuple[Any, ...] = ()
        if since_ms is not None:
            query += " WHERE ts_ms >= ?"
            params = (since_ms,)
        for row in self.conn.execute(query + " ORDER BY id", params):
            yield _event_of(row)

    def texts(self, since_ms: int | None = None) -> Iterator[TextRecord]:
        """Stored opt-in texts, oldest first."""
        query = f"SELECT {', '.join(_TEXT_COLUMNS)} FROM texts"
        params: tuple[Any, ...] = ()
        if since_ms is not None:
            query += " WHERE ts_ms >= ?"
            params = (since_ms,)
        for row in self.conn.execute(query + " ORDER BY ts_ms", params):
            values = dict(zip(_TEXT_COLUMNS, row, strict=True))
            values["invoked"] = bool(values["invoked"])
            yield TextRecord(**values)

    def export_jsonl(self, out: TextIO, since_ms: int | None = None) -> int:
        """Write events as JSON lines (no code text, ever) for an organisation's own pipeline."""
        count = 0
        for event in self.events(since_ms):
            out.write(json.dumps(event.as_dict(), sort_keys=True) + "\n")
            count += 1
        return count


def _statements(script: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _event_row(event: Event) -> tuple[Any, ...]:
    values = {c: getattr(event, c, None) for c in _EVENT_COLUMNS}
    values["sources"] = json.dumps(list(event.sources)) if event.sources else None
    values["timings"] = json.dumps(event.timings_ms) if event.timings_ms else None
    return tuple(_storable(values[c]) for c in _EVENT_COLUMNS)


def _storable(value: Any) -> Any:
    """``value`` as SQLite can bind it. Client text may hold unpaired UTF-16 surrogates (JSON allows
    ``"\\ud800"``), which UTF-8 cannot encode: each becomes U+FFFD, and a pair that arrived split is joined."""
    if not isinstance(value, str):
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _event_of(row: tuple[Any, ...]) -> Event:
    values = dict(zip(_EVENT_COLUMNS, row, strict=True))
    sources = tuple(json.loads(values.pop("sources") or "[]"))
    timings = json.loads(values.pop("timings") or "{}")
    kwargs: dict[str, Any] = {k: ("" if v is None and k in _TEXT_DEFAULTS else v) for k, v in values.items()}
    engine, marker, reason = kwargs["engine"].partition(_LEGACY_FALLBACK)
    if marker and not kwargs["fallback"] and reason.endswith(")"):  # written before the fallback column
        kwargs["engine"], kwargs["fallback"] = engine, reason[:-1]
    return Event(sources=sources, timings_ms=timings, **kwargs)


_LEGACY_FALLBACK = " (fallback: "


_TEXT_DEFAULTS = frozenset({"session", "request_id", "completion_id", "language", "engine", "text_hash", "reason",
                            "detail", "fallback"})


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    message = str(exc).lower()
    return "malformed" in message or "not a database" in message or "file is encrypted" in message


def _quarantine(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(path) + suffix)
        if source.exists():
            source.replace(Path(str(aside) + suffix))
    return aside
