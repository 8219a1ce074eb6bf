"""How much of an accepted suggestion is still in the document, followed edit by edit.

An accepted suggestion is a set of character intervals in its document. Every edit from the ``didChange``
stream moves, cuts or removes them: characters the person deleted or replaced are gone for good (even if
retyped identically, they are then the person's), text typed inside the suggestion splits an interval.
The retained count is the intervals' total length, read at the checkpoints 30 s, 2 min and 10 min after
the accept.

Checkpoints are read before the next edit is applied, so the figure is the document's state at the
checkpoint itself even when the reading happens later (nothing changed in between).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from splice.documents import Edit


def moved(position: int, edit: Edit) -> int:
    """Where ``position`` is after ``edit``; text inserted exactly there goes after it."""
    if position <= edit.begin:
        return position
    if position >= edit.finish:
        return position + len(edit.inserted) - (edit.finish - edit.begin)
    return edit.begin


def cut(intervals: list[tuple[int, int]], edit: Edit) -> list[tuple[int, int]]:
    """``intervals`` after ``edit``: shifted, trimmed or split; empty ones vanish."""
    delta = len(edit.inserted) - (edit.finish - edit.begin)
    out: list[tuple[int, int]] = []
    for start, end in intervals:
        if end <= edit.begin:
            out.append((start, end))
        elif start >= edit.finish:
            out.append((start + delta, end + delta))
        else:
            if start < edit.begin:
                out.append((start, edit.begin))
            if end > edit.finish:
                out.append((edit.finish + delta, end + delta))
    return [(s, e) for s, e in out if e > s]


@dataclass
class TrackedSuggestion:
    """An accepted suggestion being followed through its document."""

    completion_id: str
    uri: str
    accepted_at: float  # monotonic seconds
    anchor: int  # offset where the accepted text ends (where a further partial accept continues)
    intervals: list[tuple[int, int]] = field(default_factory=list)
    splice_chars: int = 0
    due: list[int] = field(default_factory=list)  # checkpoints (seconds) not yet read

    @property
    def retained(self) -> int:
        """Characters of the suggestion still in the document."""
        return sum(end - start for start, end in self.intervals)

    def apply(self, edit: Edit) -> None:
        """Follow one edit."""
        self.intervals = cut(self.intervals, edit)
        self.anchor = moved(self.anchor, edit)

    def extend(self, length: int) -> None:
        """A further partial accept added ``length`` characters at the anchor."""
        if length > 0:
            self.intervals.append((self.anchor, self.anchor + length))
            self.anchor += length
            self.splice_chars += length
