"""The export queue and the exporter against a scripted HTTP collector on loopback: bounded with the
oldest dropped and counted, retries after failures, a refused event dropped alone, a resend's stored ids
forgotten, secrets redacted before anything is queued."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from splice.telemetry import export
from splice.telemetry.events import Event
from splice.telemetry.export import Exporter, Identity
from splice.telemetry.outbox import Outbox

Reply = tuple[int, dict[str, Any]]


class ScriptedCollector:
    """An HTTP server whose answer to each batch is decided by ``answer(events)``; it keeps what it 'stores'."""

    def __init__(self, answer: Callable[[list[dict[str, Any]]], Reply]) -> None:
        self.answer = answer
        self.stored: list[dict[str, Any]] = []
        self.posts = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._reply(200, {"assignment": None})

            def do_POST(self) -> None:
                events = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["events"]
                collector.posts += 1
                status, body = collector.answer(events)
                if status == 200:
                    collector.stored.extend(events)
                self._reply(status, body)

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short backoff and linger, so the tests take milliseconds rather than seconds."""
    monkeypatch.setattr(export, "BACKOFF_FIRST_S", 0.01)
    monkeypatch.setattr(export, "LINGER_S", 0.01)


def _events(count: int, **fields: Any) -> list[Event]:
    return [Event(kind="suggested", ts_ms=1_700_000_000_000 + i, request_id=f"r{i}", language="python", **fields)
            for i in range(count)]


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Callable[[Callable[[list[dict[str, Any]]], Reply]], tuple[ScriptedCollector,
                                                                                               Exporter]]]:
    started: list[tuple[ScriptedCollector, Exporter]] = []

    def start(answer: Callable[[list[dict[str, Any]]], Reply]) -> tuple[ScriptedCollector, Exporter]:
        collector = ScriptedCollector(answer)
        exporter = Exporter(collector.url, "t" * 20, tmp_path / "export-queue.db", 1000,
                            Identity(user="ana", repository="billing"))
        started.append((collector, exporter))
        return collector, exporter

    yield start
    for collector, exporter in started:
        exporter.close()
        collector.close()


def test_the_queue_keeps_the_newest_and_counts_what_it_dropped(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "q.db", limit=1000)
    assert outbox.put({"n": i} for i in range(600)) == 0
    assert outbox.put({"n": i} for i in range(600, 1500)) == 500
    assert outbox.size() == 1000 and outbox.counter("dropped") == 500
    oldest = outbox.claim(1)[0]
    assert oldest.event["n"] == 500 and len(oldest.id) == 32
    outbox.close()


def test_failures_are_retried_until_the_collector_stores_the_events(run: Any) -> None:
    answers = iter([(503, {"error": "down"}), (401, {"error": "wrong token"})])
    collector, exporter = run(lambda events: next(answers, (200, {"stored": len(events)})))
    exporter.submit(_events(5))
    _wait(lambda: len(collector.stored) == 5, "the events after two failures")
    assert exporter.retries == 2
    _wait(lambda: exporter.outbox is not None and exporter.outbox.size() == 0, "an empty queue")


def test_a_refused_event_is_dropped_alone(run: Any) -> None:
    def answer(events: list[dict[str, Any]]) -> Reply:
        if any(e["request_id"] == "r3" for e in events):
            return 422, {"error": "events/3: bad"}
        return 200, {"stored": len(events)}

    collector, exporter = run(answer)
    exporter.submit(_events(8))
    _wait(lambda: len(collector.stored) == 7, "every event but the refused one")
    assert sorted(e["request_id"] for e in collector.stored) == [f"r{i}" for i in range(8) if i != 3]
    _wait(lambda: exporter.outbox is not None and exporter.outbox.counter("refused") == 1, "the refusal counted")


def test_ids_already_stored_are_not_sent_again(run: Any) -> None:
    seen: set[str] = set()

    def answer(events: list[dict[str, Any]]) -> Reply:
        ids = [e["id"] for e in events]
        if not seen:  # the first batch is stored, but its reply is lost
            seen.update(ids)
            return 503, {"error": "reply lost"}
        duplicates = [i for i in ids if i in seen]
        if duplicates:
            return 409, {"error": "replayed", "duplicates": duplicates}
        seen.update(ids)
        return 200, {"stored": len(events)}

    collector, exporter = run(answer)
    exporter.submit(_events(4))
    _wait(lambda: exporter.outbox is not None and collector.posts >= 2 and exporter.outbox.size() == 0,
          "the queue emptied")
    assert len(seen) == 4 and collector.stored == []  # stored once, by the first (unacknowledged) batch


def test_secrets_in_free_text_are_redacted_before_they_are_queued(run: Any) -> None:
    collector, exporter = run(lambda events: (200, {"stored": len(events)}))
    secret = "AKIAIOSFODNN7EXAMPLQ"
    exporter.submit(_events(1, fallback=f"triton: cannot reach host (key {secret})"))
    _wait(lambda: len(collector.stored) == 1, "the event")
    sent = collector.stored[0]
    assert secret not in json.dumps(sent) and "<redacted>" in sent["fallback"]
    assert (sent["user"], sent["repository"]) == ("ana", "billing")
    with (exporter._outbox_path).open("rb") as queue_file:
        assert secret.encode() not in queue_file.read()
