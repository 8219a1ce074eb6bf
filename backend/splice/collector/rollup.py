"""Daily roll-ups of ingested events: what the dashboard reads, so its queries do not grow with the events.

Each batch is folded into counters per day and value of each of :data:`DIMENSIONS` (a row per language,
per repository, per team, ...: a dashboard reads a few thousand rows, however many events and people) and
into latency histograms per (day, engine, language, stage, bucket); the database adds them to the stored
rows in the batch's transaction. The figures mean what :mod:`splice.telemetry.metrics` means locally:

* requests: ``suggested`` + ``no_suggestion``; fallbacks: those answered by a stand-in engine;
* shown: ``shown`` events (the server writes one per suggestion, also for one accepted unseen);
* accepted / partially accepted: per suggestion, once, by its largest accepted length. A suggestion
  accepted in steps sends several events, so the fold is given the suggestion's previous best
  (:class:`PriorAccept`, kept in the database) and adds only the difference;
* rejected: ``rejected`` events. Unlike the local report, a suggestion rejected by inference (a timeout,
  say) and accepted afterwards stays counted as rejected too: the two events may arrive in different
  batches, and this counter is not shown as a rate;
* Splice's characters (of those accepts), typed characters, and per checkpoint the accepts checked,
  the characters retained and the characters they were measured against.

Latency goes into buckets about 5% wide (:func:`bucket_of`); a percentile read from them is the upper
edge of the bucket holding that rank, at most 5% above the exact figure.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# What the dashboard groups by. "team" comes from the organization's mapping when the batch arrives;
# "customization" is "<tenant> v<version>" of the artifact the backend was assigned; "all" has one value.
DIMENSIONS = ("all", "language", "repository", "team", "tenant", "engine", "version", "customization")
COUNTERS = (
    "requests", "no_suggestion", "fallbacks", "shown", "accepted", "partially_accepted", "rejected",
    "splice_chars", "typed_chars",
    "retained_30", "inserted_30", "checked_30", "retained_120", "inserted_120", "checked_120",
    "retained_600", "inserted_600", "checked_600",
)
LATENCY_DIMENSIONS = ("engine", "language", "stage")
ACCEPT_KINDS = ("accepted", "partially_accepted")
_BUCKET_BASE_MS = 0.01
_BUCKET_GROWTH = 1.05
_INDEX = {name: i for i, name in enumerate(COUNTERS)}

WideKey = tuple[dt.date, str, str, str, str, str, str, str]  # day and an event's own values
DailyKey = tuple[dt.date, str, str]  # day, dimension, value
LatencyKey = tuple[dt.date, str, str, str, int]


def bucket_of(ms: float) -> int:
    """The histogram bucket of a duration: bucket ``b`` holds durations up to :func:`bucket_upper` (b)."""
    if ms <= _BUCKET_BASE_MS:
        return 0
    return math.ceil(math.log(ms / _BUCKET_BASE_MS) / math.log(_BUCKET_GROWTH) - 1e-9)


def bucket_upper(bucket: int) -> float:
    """The largest duration (ms) in ``bucket``."""
    return float(_BUCKET_BASE_MS * _BUCKET_GROWTH**bucket)


def percentile_of(histogram: Mapping[int, int], percentile: int) -> float | None:
    """The nearest-rank ``percentile`` of a bucket histogram, as its bucket's upper edge."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(percentile / 100 * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_upper(bucket)
    return None  # unreachable: the ranks add up to the total


@dataclass(frozen=True)
class PriorAccept:
    """The best accept stored so far for a suggestion."""

    accepted_length: int
    kind: str
    splice_chars: int


def day_of(ts_ms: int) -> dt.date:
    """The UTC day of a timestamp (the collector serves many time zones; UTC is the one they share)."""
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC).date()


def wide_key(event: Mapping[str, Any]) -> WideKey:
    """An event's day, language, repository, user, tenant, engine, version and tenant version."""
    return (day_of(event["ts_ms"]), str(event.get("language") or ""), str(event.get("repository") or ""),
            str(event.get("user") or ""), str(event.get("tenant") or ""), str(event.get("engine") or ""),
            str(event.get("version") or ""), str(event.get("tenant_version") or ""))


@dataclass
class Rollup:
    """The counters one batch adds, and the accepts it changes."""

    wide: dict[WideKey, list[int]] = field(default_factory=dict)
    latency: dict[LatencyKey, int] = field(default_factory=dict)
    accepts: dict[str, PriorAccept] = field(default_factory=dict)

    def fold(self, events: Iterable[Mapping[str, Any]], prior: Mapping[str, PriorAccept]) -> None:
        """Add ``events`` (in the order they happened); ``prior`` holds the stored accepts of their suggestions."""
        for event in events:
            kind = event["kind"]
            key = wide_key(event)
            if kind in ("suggested", "no_suggestion"):
                self._add(key, "requests")
                if kind == "no_suggestion":
                    self._add(key, "no_suggestion")
                if event.get("fallback"):
                    self._add(key, "fallbacks")
                self._latency(key, event)
            elif kind == "shown":
                self._add(key, "shown")
            elif kind in ACCEPT_KINDS:
                self._accept(key, event, prior)
            elif kind == "rejected":
                self._add(key, "rejected")
            elif kind == "retained" and event.get("checkpoint_s") in (30, 120, 600):
                checkpoint = event["checkpoint_s"]
                self._add(key, f"retained_{checkpoint}", int(event.get("retained_chars") or 0))
                self._add(key, f"inserted_{checkpoint}", int(event.get("splice_chars") or 0))
                self._add(key, f"checked_{checkpoint}")
            elif kind == "typed":
                self._add(key, "typed_chars", int(event.get("typed_chars") or 0))

    def daily(self, team_of: Callable[[str, str], str]) -> dict[DailyKey, list[int]]:
        """The counters per (day, dimension, value); ``team_of(user, repository)`` names a team or ""."""
        out: dict[DailyKey, list[int]] = {}
        for (day, language, repository, user, tenant, engine, version, tenant_version), values in self.wide.items():
            customization = f"{tenant} v{tenant_version}" if tenant and tenant_version else ""
            for dimension, value in (("all", ""), ("language", language), ("repository", repository),
                                     ("team", team_of(user, repository)), ("tenant", tenant), ("engine", engine),
                                     ("version", version), ("customization", customization)):
                row = out.get((day, dimension, value))
                if row is None:
                    out[(day, dimension, value)] = list(values)
                else:
                    for i, v in enumerate(values):
                        row[i] += v
        return out

    def _add(self, key: WideKey, counter: str, amount: int = 1) -> None:
        row = self.wide.get(key)
        if row is None:
            row = self.wide[key] = [0] * len(COUNTERS)
        row[_INDEX[counter]] += amount

    def _latency(self, key: WideKey, event: Mapping[str, Any]) -> None:
        day, language, engine = key[0], key[1], key[5]
        for stage, ms in (event.get("timings_ms") or {}).items():
            bucket_key: LatencyKey = (day, engine, language, str(stage), bucket_of(float(ms)))
            self.latency[bucket_key] = self.latency.get(bucket_key, 0) + 1

    def _accept(self, key: WideKey, event: Mapping[str, Any], prior: Mapping[str, PriorAccept]) -> None:
        completion_id = str(event.get("completion_id") or event["id"])
        best = self.accepts.get(completion_id) or prior.get(completion_id)
        new = PriorAccept(int(event.get("accepted_length") or 0), event["kind"], int(event.get("splice_chars") or 0))
        if best is not None and new.accepted_length <= best.accepted_length:
            return  # a smaller or repeated accept of a suggestion already counted
        if best is not None:
            self._add(key, best.kind, -1)
            self._add(key, "splice_chars", -best.splice_chars)
        self._add(key, new.kind)
        self._add(key, "splice_chars", new.splice_chars)
        self.accepts[completion_id] = new


def accept_ids(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The suggestions whose stored accepts a batch's fold needs."""
    return sorted({str(e.get("completion_id") or e["id"]) for e in events if e["kind"] in ACCEPT_KINDS})
