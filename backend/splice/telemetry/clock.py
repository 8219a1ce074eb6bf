"""Time as telemetry reads it: wall time for when an event happened, monotonic time for how long things took.

Durations and deadlines (display time, the retention checkpoints, the show timeout) use the monotonic clock,
so a wall-clock change (NTP step, daylight saving, a person fixing the date) can neither stretch nor skip
them. Tests pass a :class:`ManualClock` to the server and move time on by hand.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of the two kinds of time."""

    def wall(self) -> float:
        """Unix time in seconds (may jump)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...


class SystemClock:
    """The machine's clocks."""

    def wall(self) -> float:
        """``time.time()``."""
        return time.time()

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to; the wall clock may also be set backwards, as real ones are."""

    def __init__(self, wall: float = 1_700_000_000.0) -> None:
        self._wall = wall
        self._monotonic = 0.0

    def wall(self) -> float:
        """The current wall time."""
        return self._wall

    def monotonic(self) -> float:
        """The current monotonic time."""
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass on both clocks."""
        self._wall += seconds
        self._monotonic += seconds

    def set_wall(self, wall: float) -> None:
        """Step the wall clock only (monotonic time is unaffected)."""
        self._wall = wall
