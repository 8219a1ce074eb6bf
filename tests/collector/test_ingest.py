"""The real collector refuses what it must with a clear 4xx, stores nothing of a refused batch, and
stores a good batch exactly once."""

from __future__ import annotations

import subprocess
import time
import uuid
from typing import Any

import psycopg

from .support import SPLICE, Collector, request


def _event(kind: str = "suggested", **fields: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "kind": kind, "ts_ms": int(time.time() * 1000), "user": "ana",
            "repository": "billing", "language": "python", "engine": "embedded", "version": "0.1.0", **fields}


def _stored(collector: Collector) -> int:
    with psycopg.connect(collector.conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    assert row is not None
    return int(row[0])


def _post(collector: Collector, body: Any, token: str | None = None) -> tuple[int, Any]:
    return request(collector.url + "/v1/events", collector.ingest_token if token is None else token, "POST", body)


def test_a_good_batch_is_stored_once_and_a_replay_is_refused(collector: Collector) -> None:
    batch = {"events": [_event(timings_ms={"total": 4.5}), _event("typed", typed_chars=12)]}
    status, reply = _post(collector, batch)
    assert (status, reply["stored"]) == (200, 2)
    status, reply = _post(collector, batch)
    assert status == 409
    assert sorted(reply["duplicates"]) == sorted(e["id"] for e in batch["events"])
    assert "already stored" in reply["error"]
    # A resend holding one stored event and one new one stores neither: the backend drops the stored id.
    status, _ = _post(collector, {"events": [batch["events"][0], _event()]})
    assert status == 409
    assert _stored(collector) == 2


def test_wrong_or_missing_tokens_are_refused(collector: Collector) -> None:
    batch = {"events": [_event()]}
    status, reply = _post(collector, batch, token="not-a-token-of-anyone")
    assert status == 401 and "wrong token" in reply["error"]
    status, reply = _post(collector, batch, token="")
    assert status == 401
    # The admin token is not an ingest token, and the ingest token opens no dashboard.
    assert _post(collector, batch, token=collector.admin_token)[0] == 401
    assert request(collector.url + "/v1/figures", collector.ingest_token)[0] == 401
    assert _stored(collector) == 0


def test_malformed_batches_are_refused_with_the_reason(collector: Collector) -> None:
    cases: list[tuple[Any, int, str]] = [
        (b"{not json", 422, "not JSON"),
        ({"events": [_event("clicked")]}, 422, "unknown event kind 'clicked'"),
        ({"events": [{k: v for k, v in _event().items() if k != "id"}]}, 422, '"id" is a required property'),
        ({"events": [_event(code="print('secret')")]}, 422, "Additional properties"),
        ({"events": [_event(typed_chars=-3)]}, 422, "events/0/typed_chars"),
        ({"events": []}, 422, "events"),
        ({"events": [_event(ts_ms=int(time.time() * 1000) + 3 * 86400_000)]}, 422, "more than a day ahead"),
        (b"x" * (1024 * 1024 + 1), 413, "over the limit"),
    ]
    same = _event()
    cases.append(({"events": [same, same]}, 422, "appears twice"))
    for body, status, words in cases:
        got, reply = _post(collector, body)
        assert got == status, (body if isinstance(body, dict) else body[:40], got, reply)
        assert words in reply["error"], reply
    assert _stored(collector) == 0
    # The service lives on after all of that.
    assert _post(collector, {"events": [_event()]})[0] == 200


def test_the_terminal_report_prints_the_dashboards_figures(collector: Collector) -> None:
    completion = uuid.uuid4().hex
    batch = {"events": [_event(timings_ms={"total": 4.0}), _event("shown", completion_id=completion),
                        _event("accepted", completion_id=completion, accepted_length=9, splice_chars=9)]}
    assert _post(collector, batch)[0] == 200
    done = subprocess.run([*SPLICE, "report", "--collector", collector.url, "--admin-token", collector.admin_token],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    python_row = next(line for line in done.stdout.splitlines() if line.startswith("python"))
    assert python_row.split()[1:4] == ["1", "1", "1"] and "100.0% (n=1) (too few to trust)" in python_row
    assert "latency by stage" in done.stdout
    refused = subprocess.run([*SPLICE, "report", "--collector", collector.url, "--admin-token", "wrong"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "401" in refused.stderr
