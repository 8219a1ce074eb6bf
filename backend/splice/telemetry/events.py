"""The telemetry events: one flat record type whose fields are filled according to its kind.

A flat record keeps the store one table and the JSON-lines export one shape, which is what an
organisation's own pipeline wants to ingest. No field holds code: suggestions are described by their
length in characters and lines and a hash. Prompts and suggestion texts travel separately, in
:class:`TextRecord`, and only when the person opted in.

Kinds:

* ``suggested``: a completion request produced at least one suggestion (request metadata and timings);
* ``no_suggestion``: it produced none, ``reason`` one of :data:`NO_SUGGESTION_REASONS`;
* ``shown``: the editor displayed a suggestion; ``display_ms`` says for how long (written when the display
  ended, so the record is complete);
* ``accepted`` / ``partially_accepted``: with ``accepted_length`` (characters of the item's insert text)
  and ``splice_chars`` (the new characters Splice wrote, without any head the person had typed);
* ``rejected``: ``reason`` one of :data:`REJECT_REASONS`;
* ``retained``: ``checkpoint_s`` after an accept, ``retained_chars`` of ``splice_chars`` are still there;
* ``typed``: ``typed_chars`` inserted by the person (not by accepting) in one document since the last such
  event; the denominator of the share of code Splice wrote.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

KINDS = ("suggested", "no_suggestion", "shown", "accepted", "partially_accepted", "rejected", "retained", "typed")
NO_SUGGESTION_REASONS = ("filtered", "empty", "cancelled", "error")
# explicit: dismissed by the person; typing: hidden because the person typed on (reported by the editor or
# inferred from a new request for the document); replaced: another suggestion took its place; timeout: no
# word from the editor within the show timeout; ended: the document closed or the session ended.
REJECT_REASONS = ("explicit", "typing", "replaced", "timeout", "ended")
CHECKPOINTS_S = (30, 120, 600)


@dataclass(frozen=True, kw_only=True)
class Event:
    """One telemetry event. ``ts_ms`` is wall time (Unix milliseconds) when it happened."""

    kind: str
    ts_ms: int
    session: str = ""
    request_id: str = ""
    completion_id: str = ""
    language: str = ""
    engine: str = ""  # a short name (``embedded``, ``triton``)
    fallback: str = ""  # why the preferred engine did not answer, when ``engine`` stood in for it
    sources: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    length_chars: int | None = None
    length_lines: int | None = None
    text_hash: str = ""
    display_ms: float | None = None
    accepted_length: int | None = None
    splice_chars: int | None = None
    reason: str = ""
    detail: str = ""  # a processor's or the pipeline's reason, never code
    checkpoint_s: int | None = None
    retained_chars: int | None = None
    typed_chars: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The event as plain JSON-ready values, unset fields left out."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or value == "" or value == () or value == {}:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, kw_only=True)
class TextRecord:
    """A request's situation and its top suggestion (secrets redacted), stored only with the opt-in.

    ``suggestion`` is the middle the pipeline proposed after ``prefix``, without any text the person had
    already typed, so a replay can compare it with the pipeline's new answer directly."""

    request_id: str
    ts_ms: int
    path: str
    language: str
    prefix: str
    suffix: str
    suggestion: str
    invoked: bool


def text_hash(text: str) -> str:
    """A short digest that tells equal suggestions apart without keeping them."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def line_count(text: str) -> int:
    """Lines a suggestion spans (a suggestion without a line break is one line)."""
    return text.count("\n") + 1 if text else 0
