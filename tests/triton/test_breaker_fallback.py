"""Unit tests without a server: the circuit breaker's states, the fallback's status reports, stop rules."""

from __future__ import annotations

from triton_support import StaticEngine, StatusLog, fim_request, wait_for

from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.engines.breaker import BreakerState, CircuitBreaker
from splice.engines.fallback import DEGRADED, OFFLINE, READY, FallbackEngine
from splice.engines.triton import stop_index
from splice.errors import EngineError, EngineUnavailableError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_and_probes_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=1.0, clock=clock)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    clock.now = 1.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one probe at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN  # a failed probe reopens at once
    clock.now = 2.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_cancelled_probe_is_given_back() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=1.0, clock=clock)
    breaker.record_failure()
    clock.now = 1.0
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()


def test_stop_index() -> None:
    assert stop_index("a\nb", multiline=False, stop=()) == 1
    assert stop_index("a\nb", multiline=True, stop=()) is None
    assert stop_index("x = 1)\n", multiline=True, stop=(")",)) == 5


class FlakyEngine(RemoteEngine):
    """A primary that fails while ``down`` is set and can be probed."""

    name = "triton"

    def __init__(self) -> None:
        self.down = False

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        if self.down:
            raise EngineUnavailableError("down")
        return [Candidate(text="primary", origin=self.name)]

    async def probe(self) -> bool:
        return not self.down

    async def aclose(self) -> None:
        return None


class BrokenEngine(StaticEngine):
    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        raise EngineError("broken")


async def test_fallback_reports_transitions_and_recovers_by_probing() -> None:
    primary = FlakyEngine()
    status = StatusLog()
    engine = FallbackEngine(primary, StaticEngine(), status, probe_interval_s=0.01)
    try:
        assert (await engine.generate(fim_request()))[0].origin == "triton"
        primary.down = True
        for _ in range(2):
            [candidate] = await engine.generate(fim_request())
            assert (candidate.origin, candidate.fallback) == ("embedded", "triton: down")
        assert status.statuses == [READY, DEGRADED]
        primary.down = False
        await wait_for(lambda: status.statuses[-1] == READY, timeout=2)
    finally:
        await engine.aclose()
    assert status.statuses == [READY, DEGRADED, READY]


async def test_both_failing_is_offline() -> None:
    primary = FlakyEngine()
    primary.down = True
    status = StatusLog()
    engine = FallbackEngine(primary, BrokenEngine(), status, probe_interval_s=10)
    try:
        try:
            await engine.generate(fim_request())
        except EngineError:
            pass
        else:
            raise AssertionError("expected EngineError")
    finally:
        await engine.aclose()
    assert status.statuses == [OFFLINE]


class LoadingEngine(FlakyEngine):
    """A primary with a start-up phase: it cannot serve while ``down`` is set."""

    name = "neural"

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def starting(self) -> str | None:
        return "the model is loading" if self.down else None


async def test_a_starting_primary_is_reported_degraded_at_start_then_ready_without_a_request() -> None:
    primary = LoadingEngine()
    status = StatusLog()
    engine = FallbackEngine(primary, StaticEngine(), status, probe_interval_s=0.01)
    try:
        await engine.start()
        assert status.events == [(DEGRADED, "neural: the model is loading")]
        primary.down = False
        await wait_for(lambda: status.statuses[-1] == READY, timeout=2)
        assert (await engine.generate(fim_request()))[0].origin == "neural"
    finally:
        await engine.aclose()
    assert status.statuses == [DEGRADED, READY]


async def test_a_primary_that_has_started_is_not_reported_at_start() -> None:
    primary = LoadingEngine()
    primary.down = False
    status = StatusLog()
    engine = FallbackEngine(primary, StaticEngine(), status, probe_interval_s=0.01)
    try:
        await engine.start()
        assert status.events == []
    finally:
        await engine.aclose()
