"""Offline replay: recorded situations (the opt-in texts) through the current pipeline, old and new compared.

Each recorded request is run again through the pipeline ``splice serve`` runs (:mod:`splice.local`), with
the prefix, suffix, path and trigger it had: the recorded document is opened with its recorded text, so
its live text, not today's file on disk (which may hold the accepted suggestion), is what the engine and
the snippet sources see for it. What a replay lacks is said in :data:`LACKS`: the other open files of
the time are not recorded, and the workspace index is today's. Texts were redacted before they were
stored, and are replayed as stored.

A previously accepted suggestion is "still produced" when the new top suggestion starts with the part the
person accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from splice.errors import SpliceError
from splice.local import LocalPipeline
from splice.open_documents import OpenDocument
from splice.pipeline import CompletionInput
from splice.telemetry.events import Event, TextRecord

LACKS = ("the other documents open at the time (not recorded)",
         "the workspace as it was (the index and the engine see today's files)")


@dataclass(frozen=True)
class ReplayedRequest:
    """One recorded request, then and now."""

    request_id: str
    path: str
    before: str
    after: str
    accepted: str | None  # the part the person accepted, if they did

    @property
    def status(self) -> str:
        """``same``, ``changed``, ``gone`` (nothing suggested now) or ``new`` (nothing suggested then)."""
        if self.before == self.after:
            return "same"
        if not self.after:
            return "gone"
        if not self.before:
            return "new"
        return "changed"

    @property
    def still_produced(self) -> bool | None:
        """For an accepted suggestion: does the new one start with what was accepted?"""
        return None if not self.accepted else self.after.startswith(self.accepted)


@dataclass
class ReplaySummary:
    """Counts over a replay, plus each request."""

    requests: list[ReplayedRequest] = field(default_factory=list)
    errors: int = 0

    def count(self, status: str) -> int:
        """Requests with ``status``."""
        return sum(1 for r in self.requests if r.status == status)

    @property
    def accepted_before(self) -> int:
        """Requests whose suggestion was accepted when recorded."""
        return sum(1 for r in self.requests if r.accepted)

    @property
    def still_produced(self) -> int:
        """Of those, how many the current pipeline would still produce."""
        return sum(1 for r in self.requests if r.still_produced)


def accepted_parts(events: list[Event], texts: list[TextRecord]) -> dict[str, str]:
    """Request id -> the part of its top suggestion that was accepted (the largest accept counts)."""
    by_request = {t.request_id: t for t in texts}
    chars: dict[str, int] = {}
    for event in events:
        if event.kind in ("accepted", "partially_accepted") and event.completion_id == f"{event.request_id}-0":
            chars[event.request_id] = max(chars.get(event.request_id, 0), event.splice_chars or 0)
    return {rid: by_request[rid].suggestion[:n] for rid, n in chars.items() if rid in by_request and n > 0}


async def replay(local: LocalPipeline, texts: list[TextRecord], accepted: dict[str, str],
                 workspace: Path | None = None) -> ReplaySummary:
    """Run every recorded situation through ``local``'s pipeline, the recorded document open meanwhile."""
    summary = ReplaySummary()
    for record in texts:
        eol = "\r\n" if "\r\n" in record.prefix + record.suffix else "\n"
        on_disk = str(workspace / record.path) if workspace is not None else None
        key = on_disk or record.path
        local.documents.update(OpenDocument(key=key, path=on_disk, shown=record.path, version=1,
                                            text=(record.prefix + record.suffix).replace("\r\n", "\n")))
        request = CompletionInput(path=record.path, language=record.language, prefix=record.prefix,
                                  suffix=record.suffix, eol=eol, invoked=record.invoked,
                                  repo=workspace.name if workspace else "", document_path=on_disk, key=key)
        try:
            result = await local.pipeline.complete(request)
        except SpliceError:  # an engine failure on one situation; the others still count
            summary.errors += 1
            continue
        finally:
            local.documents.close(key)
        after = result.proposals[0].text if result.proposals else ""
        summary.requests.append(ReplayedRequest(
            request_id=record.request_id, path=record.path, before=record.suggestion.replace("\r\n", "\n"),
            after=after.replace("\r\n", "\n"), accepted=accepted.get(record.request_id),
        ))
    return summary
