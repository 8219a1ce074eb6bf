"""Checking a batch before anything of it is stored: size, JSON, the schema in ``plugin-protocol/``, times.

Every refusal names the first problem in words a backend's operator can act on, with the HTTP status
the collector answers: 413 for a body over :data:`MAX_BODY_BYTES`, 422 for anything the schema or the
time window refuses. The schema file is ``plugin-protocol/telemetry-batch.schema.json`` (the package
carries it as ``splice/data/telemetry-batch.schema.json``).
"""

from __future__ import annotations

import functools
import json
import time
from importlib import resources
from typing import Any

import jsonschema_rs

MAX_BODY_BYTES = 1024 * 1024
FUTURE_SLACK_MS = 24 * 3600 * 1000  # a backend's clock may run ahead; a day ahead is a broken clock


class BatchRefused(Exception):
    """The batch cannot be stored; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@functools.cache
def batch_schema() -> dict[str, Any]:
    """The telemetry batch schema."""
    text = resources.files("splice").joinpath("data/telemetry-batch.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> jsonschema_rs.Draft202012Validator:
    # jsonschema-rs rather than the jsonschema package the server uses: this runs on every event of every
    # batch, and jsonschema took 0.55 ms an event (bench-collector), which capped ingest below 2,000/s.
    return jsonschema_rs.Draft202012Validator(batch_schema())


def event_kinds() -> tuple[str, ...]:
    """The event kinds the schema knows."""
    return tuple(batch_schema()["$defs"]["Event"]["properties"]["kind"]["enum"])


def parsed_batch(body: bytes, retention_days: int, now_ms: int | None = None) -> dict[str, Any]:
    """``body`` as a batch that may be stored; BatchRefused saying why not."""
    if len(body) > MAX_BODY_BYTES:
        raise BatchRefused(413, f"batch of {len(body)} bytes is over the limit of {MAX_BODY_BYTES}")
    try:
        batch = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchRefused(422, f"body is not JSON: {exc}") from exc
    kinds = event_kinds()
    if isinstance(batch, dict) and isinstance(batch.get("events"), list):
        for index, event in enumerate(batch["events"]):
            if isinstance(event, dict) and "kind" in event and event["kind"] not in kinds:
                raise BatchRefused(422, f"events/{index}/kind: unknown event kind {event['kind']!r} "
                                        f"(known: {', '.join(kinds)})")
    validator = _validator()
    if not validator.is_valid(batch):
        error = next(iter(validator.iter_errors(batch)))
        where = "/".join(str(p) for p in error.instance_path) or "batch"
        raise BatchRefused(422, f"{where}: {error.message}")
    events: list[dict[str, Any]] = batch["events"]
    seen: set[str] = set()
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    oldest = now_ms - retention_days * 86400 * 1000
    for index, event in enumerate(events):
        if event["id"] in seen:
            raise BatchRefused(422, f"events/{index}/id: {event['id']} appears twice in the batch")
        seen.add(event["id"])
        if not oldest <= event["ts_ms"] <= now_ms + FUTURE_SLACK_MS:
            raise BatchRefused(422, f"events/{index}/ts_ms: {event['ts_ms']} is outside the retention period "
                                    f"({retention_days} days) or more than a day ahead")
    return dict(batch)
