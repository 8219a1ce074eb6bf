"""A circuit breaker: stop calling a remote engine that keeps failing, and probe it back in.

A completion request is worth little after a few hundred milliseconds, so once an engine has failed
``failure_threshold`` times in a row the breaker *opens* and callers fail at once (and fall back) instead
of spending their deadline on connection attempts. After ``reset_timeout_s`` it lets exactly one call
through (*half-open*); that probe's success closes the breaker, its failure opens it for another period.

    closed --(threshold consecutive failures)--> open --(reset timeout)--> half_open
       ^                                                                     |  |
       +------------------------(probe succeeds)-----------------------------+  |
                                 open <----------(probe fails)------------------+

Single-threaded by design: every caller runs on the server's one event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures and decides whether the next call may go out."""

    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        reset_timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_out = False

    @property
    def reset_timeout_s(self) -> float:
        return self._reset_timeout_s

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probe_out or self._clock() - self._opened_at >= self._reset_timeout_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open state only one probe is out at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probe_out:
            self._probe_out = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probe_out = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probe_out or self._failures >= self._threshold:
            self._opened_at = self._clock()
        self._probe_out = False

    def release(self) -> None:
        """Give back a half-open probe whose call ended without telling health either way (cancelled)."""
        self._probe_out = False
