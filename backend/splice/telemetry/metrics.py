"""Adoption figures computed from stored events, for ``splice report`` (never imported by the server).

Definitions, each chosen so a figure means one thing:

* opportunities: completion requests (``suggested`` + ``no_suggestion``);
* acceptance rate: suggestions accepted wholly or partly, over suggestions shown (distinct completion ids);
* retained-character rate at a checkpoint: characters of accepted suggestions still in the document, over
  the characters Splice inserted, for the accepts that reached that checkpoint;
* share of code written by Splice: characters Splice inserted, over those plus the characters the person
  typed (typing is counted per document and language, so this figure has no per-engine value);
* characters per opportunity: characters Splice inserted, over opportunities;
* latency: nearest-rank percentiles of each pipeline stage over the requests that reached the pipeline;
* context sources: the share of shown and of accepted suggestions whose prompt used each source.

A suggestion accepted in several partial steps counts once, with its largest accepted length.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from splice.telemetry.events import CHECKPOINTS_S, Event

PERCENTILES = (50, 90, 99)
GROUPINGS = ("language", "engine", "day")


@dataclass
class Figures:
    """The adoption figures of one group of events."""

    opportunities: int = 0
    no_suggestion: Counter[str] = field(default_factory=Counter)
    shown: int = 0
    accepted: int = 0
    partially_accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    splice_chars: int = 0
    typed_chars: int = 0
    typing_known: bool = True
    retained: dict[int, tuple[int, int]] = field(default_factory=dict)  # checkpoint -> (retained, inserted)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)
    display_ms: list[float] = field(default_factory=list)
    sources_shown: Counter[str] = field(default_factory=Counter)
    sources_accepted: Counter[str] = field(default_factory=Counter)

    @property
    def acceptance_rate(self) -> float | None:
        """(accepted + partially accepted) / shown."""
        return _ratio(self.accepted + self.partially_accepted, self.shown)

    @property
    def share_of_code(self) -> float | None:
        """Splice's characters / (Splice's + the person's)."""
        if not self.typing_known:
            return None
        return _ratio(self.splice_chars, self.splice_chars + self.typed_chars)

    @property
    def chars_per_opportunity(self) -> float | None:
        """Splice's characters / opportunities."""
        return _ratio(self.splice_chars, self.opportunities)

    def retention_rate(self, checkpoint: int) -> float | None:
        """Retained / inserted characters at ``checkpoint`` seconds."""
        retained, inserted = self.retained.get(checkpoint, (0, 0))
        return _ratio(retained, inserted)

    def latency(self, stage: str) -> dict[int, float]:
        """Percentile -> milliseconds for ``stage``."""
        values = sorted(self.latency_ms.get(stage, []))
        return {p: _nearest_rank(values, p) for p in PERCENTILES} if values else {}

    def source_presence(self) -> list[tuple[str, float | None, float | None]]:
        """Per source: share of shown and of accepted suggestions whose prompt used it."""
        accepted = self.accepted + self.partially_accepted
        return [(s, _ratio(self.sources_shown[s], self.shown), _ratio(self.sources_accepted[s], accepted))
                for s in sorted(set(self.sources_shown) | set(self.sources_accepted))]


def day_of(event: Event) -> str:
    """The local calendar day of an event."""
    return dt.datetime.fromtimestamp(event.ts_ms / 1000).date().isoformat()


_KEYS: dict[str, Callable[[Event], str]] = {
    "language": lambda e: e.language or "unknown",
    "engine": lambda e: e.engine or "unknown",
    "day": day_of,
}


def figures(events: Iterable[Event], by: str | None = None) -> dict[str, Figures]:
    """Figures for all events (key ``"all"``) or per ``by`` (one of :data:`GROUPINGS`)."""
    keyed: dict[str, list[Event]] = defaultdict(list)
    key = _KEYS[by] if by is not None else (lambda e: "all")
    for event in events:
        if by == "engine" and event.kind == "typed":
            continue  # typing has no engine; see the module docstring
        keyed[key(event)].append(event)
    out = {name: _figures(group) for name, group in sorted(keyed.items())}
    if by == "engine":
        for result in out.values():
            result.typing_known = False
    return out


def _figures(events: list[Event]) -> Figures:
    result = Figures()
    shown: dict[str, Event] = {}
    accepted: dict[str, Event] = {}
    rejected: dict[str, str] = {}
    retained: dict[tuple[str, int], Event] = {}
    for event in events:
        if event.kind in ("suggested", "no_suggestion"):
            result.opportunities += 1
            if event.kind == "no_suggestion":
                result.no_suggestion[event.reason or "unknown"] += 1
            for stage, ms in event.timings_ms.items():
                result.latency_ms.setdefault(stage, []).append(float(ms))
        elif event.kind == "shown":
            shown.setdefault(event.completion_id, event)
            if event.display_ms is not None:
                result.display_ms.append(event.display_ms)
        elif event.kind in ("accepted", "partially_accepted"):
            best = accepted.get(event.completion_id)
            if best is None or (event.accepted_length or 0) > (best.accepted_length or 0):
                accepted[event.completion_id] = event
        elif event.kind == "rejected":
            rejected[event.completion_id] = event.reason or "explicit"
        elif event.kind == "retained" and event.checkpoint_s is not None:
            retained[(event.completion_id, event.checkpoint_s)] = event
        elif event.kind == "typed":
            result.typed_chars += event.typed_chars or 0
    result.shown = len(shown.keys() | accepted.keys())
    for event in accepted.values():
        if event.kind == "accepted":
            result.accepted += 1
        else:
            result.partially_accepted += 1
        result.splice_chars += event.splice_chars or 0
        result.sources_accepted.update(set(event.sources))
    for completion_id, reason in rejected.items():
        if completion_id not in accepted:  # accepted after an inferred rejection: the accept stands
            result.rejected[reason] += 1
    for completion_id in shown.keys() | accepted.keys():
        source_event = shown.get(completion_id) or accepted[completion_id]
        result.sources_shown.update(set(source_event.sources))
    for checkpoint in CHECKPOINTS_S:
        pairs = [e for (_, c), e in retained.items() if c == checkpoint]
        if pairs:
            result.retained[checkpoint] = (sum(e.retained_chars or 0 for e in pairs),
                                           sum(e.splice_chars or 0 for e in pairs))
    return result


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _nearest_rank(values: list[float], percentile: int) -> float:
    rank = max(1, math.ceil(percentile / 100 * len(values)))
    return values[rank - 1]
