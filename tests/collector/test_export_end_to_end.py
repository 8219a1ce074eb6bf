"""Three real ``splice serve`` processes, driven by a scripted editor session, export to one real collector
on a real PostgreSQL. Midway the collector is killed and later restarted, then PostgreSQL is restarted;
every event still arrives exactly once, and the dashboard's figures per language and team are the ones
the script implies (and the ones each backend's own store gives)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .postgres import LocalPostgres
from .support import ROOT, SPLICE, Collector, request, wait_for

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from rawpipe import RawServer

sys.path.insert(0, str(ROOT / "backend"))
from splice.telemetry.metrics import figures
from splice.telemetry.store import Store

PY = "def total(values):\n    result = 0\n    for value in values:\n        result += value\n    return result\n\n\n" \
     "def mean(values):\n    result = 0\n    for value in values:\n        "
JS = "function total(values) {\n  let result = 0;\n  for (const value of values) {\n    result += value;\n  }\n" \
     "  return result;\n}\n\nfunction mean(values) {\n  let result = 0;\n  for (const value of values) {\n    "
TYPED = "#zq\n"


@dataclass
class Backend:
    """One editor's server and its script: 'a' accept, 'r' reject, 't' type a line."""

    user: str
    repository: str
    language: str
    script: str
    root: Path
    data: Path
    server: RawServer | None = None
    version: int = 1
    line_offset: int = 0
    requests: int = 0
    shown: int = 0
    accepted: int = 0
    typed: int = 0
    steps: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return (self.root / ("main.py" if self.language == "python" else "main.js")).as_uri()

    @property
    def text(self) -> str:
        return PY if self.language == "python" else JS


def _env(backend: Backend, collector: Collector) -> dict[str, str]:
    return {"SPLICE_DATA_DIR": str(backend.data), "SPLICE_COLLECTOR_URL": collector.url,
            "SPLICE_COLLECTOR_TOKEN": collector.ingest_token, "SPLICE_COLLECTOR_USER": backend.user,
            "SPLICE_ENGINE": "embedded"}


def _start(backend: Backend, collector: Collector) -> None:
    backend.server = RawServer(env=_env(backend, collector))
    backend.server.initialize(backend.root)
    backend.server.open(backend.uri, backend.text, language=backend.language)


def _step(backend: Backend, action: str) -> None:
    """Play one step of the script and count what it must produce."""
    server = backend.server
    assert server is not None
    if action == "t":
        backend.version += 1
        server.notify("textDocument/didChange", {
            "textDocument": {"uri": backend.uri, "version": backend.version},
            "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                                "text": TYPED}]})
        backend.line_offset += 1
        backend.typed += len(TYPED)
        return
    last_line = backend.text.count("\n") + backend.line_offset
    reply = server.inline(backend.uri, last_line, len(backend.text.rsplit("\n", 1)[1]))
    backend.requests += 1
    items = (reply.get("result") or {}).get("items") or []
    if not items:
        return
    completion_id = items[0]["data"]["completionId"]
    server.notify("splice/didShowCompletion", {"completionId": completion_id})
    backend.shown += 1
    if action == "a":
        server.notify("splice/didAcceptCompletion", {"completionId": completion_id})
        backend.accepted += 1
    else:
        server.notify("splice/didRejectCompletion", {"completionId": completion_id, "reason": "dismissed"})


def _stored_count(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    assert row is not None
    return int(row[0])


def _queued(backend: Backend) -> int:
    path = backend.data / "export-queue.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def _local_events(backend: Backend) -> list[Any]:
    store = Store.open_readonly(backend.data / "telemetry.db")
    try:
        return list(store.events())
    finally:
        store.close()


def _set_team(collector: Collector, team: str, *members: str) -> None:
    args = [arg for member in members for arg in (f"--{member.split(':')[0]}", member.split(":")[1])]
    subprocess.run([*SPLICE, "collector", "set-team", team, "--org", "acme", "--database", collector.conninfo,
                    *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def backends(tmp_path: Path) -> list[Backend]:
    plans = [("alice", "billing", "python", "aatratrrat"), ("bob", "billing", "python", "arttrr"),
             ("carol", "web", "javascript", "aaatrat")]
    out = []
    for user, repository, language, script in plans:
        root = tmp_path / user / repository
        root.mkdir(parents=True)
        out.append(Backend(user, repository, language, script, root, tmp_path / user / "data"))
    return out


def _play(backends: list[Backend], collector: Collector, postgres: LocalPostgres) -> None:
    """Round-robin through the scripts; the collector dies after round 2 and returns after round 4, and
    PostgreSQL restarts after round 6."""
    for round_number in range(max(len(b.script) for b in backends)):
        for backend in backends:
            if round_number < len(backend.script):
                _step(backend, backend.script[round_number])
        if round_number == 2:
            collector.process.kill()
        elif round_number == 4:
            # The backends kept what they could not send on disk.
            wait_for(lambda: any(_queued(b) for b in backends), 30, "events queued while the collector is down")
            collector.process.start()
        elif round_number == 6:
            postgres.restart()


def test_every_event_arrives_once_and_the_dashboard_matches_the_session(
        collector: Collector, postgres: LocalPostgres, backends: list[Backend]) -> None:
    _set_team(collector, "payments", "user:alice", "user:bob")
    _set_team(collector, "frontend", "repository:web")
    for backend in backends:
        _start(backend, collector)
    try:
        _play(backends, collector, postgres)
    finally:
        for backend in backends:
            assert backend.server is not None
            assert backend.server.close() == 0
    # What a server could not send before it stopped is sent by the next one on the same data directory.
    for backend in backends:
        _start(backend, collector)
    local = {b.user: _local_events(b) for b in backends}
    total = sum(len(events) for events in local.values())
    wait_for(lambda: _stored_count(collector.conninfo) >= total and not any(_queued(b) for b in backends),
             120, f"{total} events at the collector")
    for backend in backends:
        assert backend.server is not None and backend.server.close() == 0
    assert _stored_count(collector.conninfo) == total
    _assert_exactly_once(collector, local)
    _assert_dashboard(collector, backends, local)


def _assert_exactly_once(collector: Collector, local: dict[str, list[Any]]) -> None:
    with psycopg.connect(collector.conninfo) as conn:
        rows = conn.execute("SELECT user_name, kind, (extract(epoch FROM ts) * 1000)::bigint, "
                            "coalesce(completion_id, ''), coalesce(request_id, '') FROM events").fetchall()
    stored = Counter((u, k, int(ts), c, r) for u, k, ts, c, r in rows)
    expected = Counter((user, e.kind, e.ts_ms, e.completion_id, e.request_id)
                       for user, events in local.items() for e in events)
    assert stored == expected


def _row(data: dict[str, Any], by: str, key: str) -> dict[str, Any]:
    return next(r for r in data["groups"][by] if r["key"] == key)


def _assert_dashboard(collector: Collector, backends: list[Backend], local: dict[str, list[Any]]) -> None:
    status, data = request(collector.url + "/v1/figures?days=2", collector.admin_token)
    assert status == 200, data
    by_hand = {"python": [b for b in backends if b.language == "python"],
               "javascript": [b for b in backends if b.language == "javascript"]}
    teams = {"payments": backends[:2], "frontend": backends[2:]}
    for by, groups in (("language", by_hand), ("team", teams)):
        for key, members in groups.items():
            row = _row(data, by, key)
            shown, accepted = sum(b.shown for b in members), sum(b.accepted for b in members)
            assert row["requests"] == sum(b.requests for b in members), (by, key, row)
            assert (row["shown"], row["accepted"]) == (shown, accepted), (by, key, row)
            assert row["typed_chars"] == sum(b.typed for b in members), (by, key, row)
            assert row["acceptance_rate"] == pytest.approx(accepted / shown if shown else None)
            assert row["acceptance_n"] == shown
            # Splice's characters, the share of code and characters per opportunity are what each
            # backend's own store says.
            mine = figures([e for b in members for e in local[b.user]])["all"]
            assert row["splice_chars"] == mine.splice_chars
            assert row["share_of_code"] == pytest.approx(mine.share_of_code)
            assert row["chars_per_opportunity"] == pytest.approx(mine.chars_per_opportunity)
    assert sum(b.shown for b in backends) > 0 and sum(b.accepted for b in backends) > 0
    assert data["overall"]["acceptance_n"] < data["min_sample"]  # a session this small is flagged as such
