"""The SQLite store and its writer thread: migrations, two processes, rotation, export, and every failure
(corrupt file, lock held past the timeout, full disk, full queue) logged and survived."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from splice.telemetry import store as store_module
from splice.telemetry.events import Event, TextRecord
from splice.telemetry.store import MIGRATIONS, Store, StoreError
from splice.telemetry.writer import TelemetryWriter

ROOT = Path(__file__).resolve().parents[3]


def _event(n: int, kind: str = "suggested") -> Event:
    return Event(kind=kind, ts_ms=1_700_000_000_000 + n, request_id=f"r{n}", language="python", engine="fixed",
                 sources=("prefix", "suffix"), timings_ms={"total": 1.5}, length_chars=n)


def test_a_new_database_is_migrated_in_wal_mode_and_reopening_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "telemetry.db"
    store = Store.open(path)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    store.insert([_event(1)])
    store.close()
    again = Store.open(path)
    assert [e.request_id for e in again.events()] == ["r1"]
    again.close()


def test_events_round_trip_and_export_as_json_lines(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "telemetry.db")
    store.insert([_event(1), _event(2, "shown")], [TextRecord(request_id="r1", ts_ms=1, path="a.py", language="python",
                                                             prefix="p", suffix="s", suggestion="x", invoked=True)])
    assert list(store.events()) == [_event(1), _event(2, "shown")]
    assert [t.invoked for t in store.texts()] == [True]
    out = io.StringIO()
    assert store.export_jsonl(out, since_ms=1_700_000_000_002) == 1
    line = json.loads(out.getvalue())
    assert line["kind"] == "shown" and line["sources"] == ["prefix", "suffix"] and line["ts_ms"] == 1_700_000_000_002
    store.close()


def test_two_processes_write_to_one_database(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.db"
    script = (
        "import sys; sys.path.insert(0, sys.argv[2]);"
        "from pathlib import Path;"
        "from splice.telemetry.store import Store; from splice.telemetry.events import Event;"
        "s = Store.open(Path(sys.argv[1]));"
        "[s.insert([Event(kind='typed', ts_ms=i, typed_chars=1)]) for i in range(200)]; s.close()"
    )
    other = subprocess.Popen([sys.executable, "-c", script, str(path), str(ROOT / "backend")])
    mine = Store.open(path)
    for n in range(200):
        mine.insert([_event(n)])
    assert other.wait(60) == 0
    kinds = [e.kind for e in mine.events()]
    assert kinds.count("typed") == 200 and kinds.count("suggested") == 200
    mine.close()


def test_rotation_keeps_the_database_under_its_limit_dropping_the_oldest(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "telemetry.db")
    for chunk in range(20):
        store.insert([Event(kind="shown", ts_ms=chunk * 1000 + i, detail="x" * 200) for i in range(500)])
    before = store.live_bytes()
    dropped = store.rotate(before // 2)
    assert dropped > 0 and store.live_bytes() <= before // 2
    remaining = [e.ts_ms for e in store.events()]
    assert remaining == sorted(remaining) and remaining[-1] == 19 * 1000 + 499  # the newest survive
    assert (tmp_path / "telemetry.db").stat().st_size < before  # pages were given back
    store.close()


def test_a_corrupt_file_is_moved_aside_and_a_fresh_database_started(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        Store.open_readonly(path)
    store = Store.open(path)
    store.insert([_event(1)])
    assert len(list(store.events())) == 1
    store.close()
    assert [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]


def test_the_writer_survives_a_lock_held_past_the_busy_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "telemetry.db"
    Store.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    writer = TelemetryWriter(path, 1 << 30)
    writer.submit(_event(1))
    assert writer.flush()
    assert writer.failures >= 1 and writer.dropped == 1  # the open at start and the batch both met the lock
    holder.execute("ROLLBACK")
    holder.close()
    writer.submit(_event(2))
    assert writer.flush()
    writer.close()
    assert [e.request_id for e in Store.open(path).events()] == ["r2"]


class _FullDisk(Store):
    def insert(self, events: object, texts: object = ()) -> None:
        raise sqlite3.OperationalError("database or disk is full")


def test_a_full_disk_loses_the_batch_and_the_writer_carries_on(tmp_path: Path) -> None:
    opened: list[Path] = []

    def opener(path: Path) -> Store:
        opened.append(path)
        return _FullDisk(sqlite3.connect(":memory:", check_same_thread=False), path)

    writer = TelemetryWriter(tmp_path / "telemetry.db", 1 << 30, opener=opener)
    for n in range(3):
        writer.submit(_event(n))
    assert writer.flush()
    assert writer.failures >= 1 and writer.dropped == 3 and writer.written == 0
    writer.close()


def test_a_full_queue_drops_instead_of_blocking(tmp_path: Path) -> None:
    gate = threading.Event()

    def slow_opener(path: Path) -> Store:
        gate.wait(10)
        return Store.open(path)

    writer = TelemetryWriter(tmp_path / "telemetry.db", 1 << 30, opener=slow_opener, queue_limit=5)
    for n in range(50):
        writer.submit(_event(n))  # returns at once even though nothing can be written yet
    assert writer.dropped >= 40
    gate.set()
    assert writer.flush()
    writer.close()


def test_an_unwritable_data_directory_is_logged_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    writer = TelemetryWriter(blocker / "telemetry.db", 1 << 30)
    writer.submit(_event(1))
    assert writer.flush()
    assert writer.failures >= 1 and writer.dropped == 1  # the open at start and the batch both met the lock
    writer.close()


def _version_one(path: Path, engine: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in store_module._statements(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO events (ts_ms, kind, engine) VALUES (1, 'suggested', ?)", (engine,))
    conn.close()


def test_a_fallback_reason_written_into_the_engine_name_moves_to_its_own_field(tmp_path: Path) -> None:
    legacy = "embedded (fallback: triton: cannot reach 127.0.0.1:8001 (connection refused))"
    old = tmp_path / "old" / "telemetry.db"
    old.parent.mkdir()
    _version_one(old, legacy)
    reader = Store.open_readonly(old)  # not migrated: a report never writes
    [event] = list(reader.events())
    reader.close()
    assert (event.engine, event.fallback) == ("embedded", "triton: cannot reach 127.0.0.1:8001 (connection refused)")
    migrated = Store.open(old)
    row = migrated.conn.execute("SELECT engine, fallback FROM events").fetchone()
    migrated.close()
    assert row == ("embedded", "triton: cannot reach 127.0.0.1:8001 (connection refused)")


def test_client_text_with_lone_surrogates_is_stored(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "telemetry.db")
    store.insert([Event(kind="suggested", ts_ms=1, language="\ud800", session="a\udfffb", detail="\ud83d\ude00")],
                 [TextRecord(request_id="r", ts_ms=1, path="\ud800.py", language="\ud800", prefix="x\ud800",
                             suffix="", suggestion="\udc00", invoked=True)])
    [event] = list(store.events())
    [text] = list(store.texts())
    store.close()
    assert (event.language, event.session, event.detail) == ("\ufffd", "a\ufffdb", "😀")
    assert (text.path, text.prefix, text.suggestion) == ("\ufffd.py", "x\ufffd", "\ufffd")


def test_one_record_that_cannot_be_stored_is_dropped_alone(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.db"
    writer = TelemetryWriter(path, 1 << 30)
    writer.submit(_event(1))
    writer.submit(Event(kind="suggested", ts_ms=2, request_id="huge", length_chars=2**70))
    writer.submit(_event(3))
    assert writer.flush()
    assert writer.rejected == 1 and writer.written == 2
    writer.submit(_event(4))  # the thread is still alive
    assert writer.flush()
    writer.close()
    assert [e.request_id for e in Store.open(path).events()] == ["r1", "r3", "r4"]


def test_an_unexpected_failure_never_ends_the_writer_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "telemetry.db"
    real_insert = Store.insert
    calls = {"n": 0}

    def failing_once(self: Store, events: object, texts: object = ()) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in the store")
        real_insert(self, events, texts)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "insert", failing_once)
    writer = TelemetryWriter(path, 1 << 30)
    writer.submit(_event(1))
    assert writer.flush()
    assert writer.dropped == 1
    writer.submit(_event(2))
    assert writer.flush()
    writer.close()
    assert [e.request_id for e in Store.open(path).events()] == ["r2"]
