"""Fault injection against a real Triton server: every failure ends in the fallback, and recovery is
automatic once the server or model is back.

Breaker and probe periods are short so recovery shows within the test's timeouts.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from scripted_engine import MIDDLE
from triton_support import (
    SCRIPTED_ENGINE,
    StaticEngine,
    StatusLog,
    TritonProcess,
    fim_request,
    wait_for,
    write_model,
)

from splice.engines.breaker import CircuitBreaker
from splice.engines.fallback import DEGRADED, READY, FallbackEngine
from splice.engines.triton import TritonEngine, TritonSettings
from splice.errors import EngineTimeoutError, EngineUnavailableError


def _engines(
    url: str, model: str, deadline_s: float
) -> tuple[FallbackEngine, TritonEngine, StaticEngine, StatusLog]:
    primary = TritonEngine(
        TritonSettings(url=url, model=model, deadline_s=deadline_s, connect_attempts=2),
        breaker=CircuitBreaker(failure_threshold=1, reset_timeout_s=0.3),
    )
    fallback = StaticEngine()
    status = StatusLog()
    return FallbackEngine(primary, fallback, status, probe_interval_s=0.2), primary, fallback, status


def _model_control(server: TritonProcess, model: str, action: str) -> None:
    url = f"{server.http_url}/v2/repository/models/{model}/{action}"
    request = urllib.request.Request(url, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


async def test_slow_model_hits_the_deadline_and_falls_back(triton: TritonProcess) -> None:
    engine, primary, _, status = _engines(triton.grpc_url, "scripted_slow", deadline_s=0.5)
    try:
        with pytest.raises(EngineTimeoutError):
            await primary.generate(fim_request())
        started = time.monotonic()
        [candidate] = await engine.generate(fim_request())
        elapsed = time.monotonic() - started
    finally:
        await engine.aclose()
    assert candidate.origin == "embedded" and candidate.fallback.startswith("triton")
    # The breaker opened on the first timeout, so the fallback answered without waiting a deadline again.
    assert elapsed < 0.2
    assert status.statuses == [DEGRADED]


async def test_unloaded_model_falls_back_and_recovers_when_loaded(triton: TritonProcess) -> None:
    engine, _, _, status = _engines(triton.grpc_url, "scripted_unload", deadline_s=2)
    try:
        [served] = await engine.generate(fim_request())
        assert served.origin == "triton"
        await asyncio.to_thread(_model_control, triton, "scripted_unload", "unload")
        [degraded] = await engine.generate(fim_request())
        assert degraded.origin == "embedded" and degraded.fallback.startswith("triton")
        assert status.statuses == [READY, DEGRADED]
        assert "not" in (status.events[-1][1] or "")

        await asyncio.to_thread(_model_control, triton, "scripted_unload", "load")
        await wait_for(lambda: status.statuses[-1] == READY, timeout=5)
        [recovered] = await engine.generate(fim_request())
    finally:
        await engine.aclose()
    assert recovered.origin == "triton"
    assert recovered.text == MIDDLE


@pytest.fixture
def lone_triton(tmp_path: Path) -> Iterator[TritonProcess]:
    """A server of its own (the test kills it): one scripted model streaming 4 pieces 400 ms apart."""
    repository = tmp_path / "models"
    repository.mkdir()
    write_model(repository, "scripted", engine=f"{SCRIPTED_ENGINE}:ScriptedEngine", chunk_delay_ms="400")
    server = TritonProcess(repository=repository, log_path=tmp_path / "triton.log")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(repository, ignore_errors=True)


async def test_server_killed_mid_stream_falls_back_then_recovers(lone_triton: TritonProcess) -> None:
    engine, primary, _, status = _engines(lone_triton.grpc_url, "scripted", deadline_s=5)
    try:
        request = asyncio.create_task(engine.generate(fim_request()))
        await asyncio.sleep(0.6)  # one piece has arrived, the rest are 400 ms apart
        assert not request.done()
        await asyncio.to_thread(lone_triton.kill)
        [candidate] = await asyncio.wait_for(request, timeout=5)
        assert candidate.origin == "embedded" and candidate.fallback.startswith("triton")
        assert status.statuses == [DEGRADED]

        # While the server is gone, requests fail fast through the open breaker.
        with pytest.raises(EngineUnavailableError):
            await primary.generate(fim_request())

        await asyncio.to_thread(lone_triton.start)  # same ports
        await wait_for(lambda: status.statuses[-1] == READY, timeout=10)
        [recovered] = await engine.generate(fim_request())
    finally:
        await engine.aclose()
    assert recovered.origin == "triton"
    assert status.statuses == [DEGRADED, READY]
