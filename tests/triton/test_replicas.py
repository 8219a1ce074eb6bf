"""Several real Triton replicas on loopback: spread, affinity, per-replica breakers, failover, recovery.

Three ``tritonserver`` processes serve the same scripted models. The client is Splice's
:class:`ReplicaSet` over them. Which replica served a request is read from each server's own Prometheus
metrics, not only from the client's counters.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator

import pytest
from triton_support import SCRIPTED_ENGINE, TritonProcess, fim_request, write_model

from splice.engines.base import GenerationRequest
from splice.engines.breaker import CircuitBreaker
from splice.engines.replicas import ReplicaSet, affinity_key
from splice.engines.triton import TritonEngine, TritonSettings

MIDDLE = "total = first + second\n    return total\n"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[TritonProcess]]:
    root = tmp_path_factory.mktemp("replicas")
    repository = root / "models"
    repository.mkdir()
    engine = f"{SCRIPTED_ENGINE}:ScriptedEngine"
    write_model(repository, "scripted", engine=engine)
    # Four pieces 400 ms apart: long enough to kill the server between two of them.
    write_model(repository, "scripted_stream", engine=engine, chunk_delay_ms="400")
    processes = [TritonProcess(repository=repository, log_path=root / f"triton-{i}.log") for i in range(3)]
    for process in processes:
        process.start()
    yield processes
    for process in processes:
        process.stop()


def successes(server: TritonProcess, model: str) -> int:
    """``nv_inference_request_success`` of ``model`` on ``server`` (0 while it has served none)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(rf'nv_inference_request_success{{model="{model}",version="1"}} (\d+)', text)
    return int(match.group(1)) if match else 0


def maker(model: str, deadline_s: float = 10.0,
          on_text: Callable[[str], None] | None = None) -> Callable[[str], TritonEngine]:
    """One engine per replica, with a short breaker so the tests see it open and close."""
    def make(url: str) -> TritonEngine:
        settings = TritonSettings(url=url, model=model, deadline_s=deadline_s, connect_attempts=1)

        def should_stop(text: str) -> bool:
            if on_text is not None:
                on_text(text)
            return False

        return TritonEngine(settings, breaker=CircuitBreaker(failure_threshold=2, reset_timeout_s=1.0),
                            should_stop=should_stop)

    return make


def pool(servers: list[TritonProcess], model: str, deadline_s: float = 10.0,
         on_text: Callable[[str], None] | None = None) -> ReplicaSet:
    return ReplicaSet(",".join(s.grpc_url for s in servers), maker(model, deadline_s, on_text),
                      deadline_s=deadline_s)


def for_file(name: str, tenant: str | None = None) -> GenerationRequest:
    return dataclasses.replace(fim_request(tenant=tenant), document_path=f"/workspace/{name}")


def owner(replicas: ReplicaSet, servers: list[TritonProcess], request: GenerationRequest) -> TritonProcess:
    url = replicas.order(affinity_key(request))[0].settings.url
    return next(s for s in servers if s.grpc_url == url)


async def test_files_spread_over_replicas_and_each_file_stays_on_one(servers: list[TritonProcess]) -> None:
    before = [successes(s, "scripted") for s in servers]
    replicas = pool(servers, "scripted")
    try:
        # The servers' ports are random, so which files hash to which replica differs from run to run: take
        # the first 24 file names that give every replica a share, then check the requests went there.
        files: list[str] = []
        expected = {s.grpc_url: 0 for s in servers}
        for i in range(1000):
            name = f"module_{i}.py"
            url = owner(replicas, servers, for_file(name)).grpc_url
            if expected[url] < 8:
                expected[url] += 1
                files.append(name)
            if len(files) == 24:
                break
        for name in files:
            [candidate] = await replicas.generate(for_file(name))
            assert candidate.text == MIDDLE
        spread = [successes(s, "scripted") - b for s, b in zip(servers, before, strict=True)]
        assert spread == [expected[s.grpc_url] for s in servers] == [8, 8, 8], spread

        sticky = for_file("billing.py")
        home = owner(replicas, servers, sticky)
        at_home = successes(home, "scripted")
        for _ in range(6):
            await replicas.generate(sticky)
        assert successes(home, "scripted") - at_home == 6
    finally:
        await replicas.aclose()


async def test_a_replica_killed_mid_stream_fails_over_then_recovers(servers: list[TritonProcess]) -> None:
    streamed = asyncio.Event()
    replicas = pool(servers, "scripted_stream", on_text=lambda text: streamed.set() if text else None)
    request = for_file("orders.py")
    victim = owner(replicas, servers, request)
    others = [s for s in servers if s is not victim]
    try:
        before = [successes(s, "scripted_stream") for s in others]
        task = asyncio.ensure_future(replicas.generate(request))
        await asyncio.wait_for(streamed.wait(), timeout=10)
        victim.kill()  # mid-stream: the first pieces are out, the rest never come
        [candidate] = await task
        assert candidate.text == MIDDLE  # the whole suggestion, from another replica
        assert replicas.failovers == 1 and replicas.served_by[victim.grpc_url] == 0
        assert sum(successes(s, "scripted_stream") - b for s, b in zip(others, before, strict=True)) == 1

        # Only the dead replica's breaker opens; requests keep being served by the others.
        for _ in range(3):
            [candidate] = await replicas.generate(request)
            assert candidate.text == MIDDLE
        states = replicas.breakers()
        assert states[victim.grpc_url] in ("open", "half_open")
        assert all(states[s.grpc_url] == "closed" for s in others)

        victim.start()  # same ports: the replica comes back

        async def home_again() -> bool:
            await replicas.generate(request)
            return replicas.breakers()[victim.grpc_url] == "closed"

        await _eventually(home_again, timeout=30)
        served = successes(victim, "scripted_stream")
        await replicas.generate(request)
        assert successes(victim, "scripted_stream") == served + 1  # affinity is back
    finally:
        await replicas.aclose()


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not recovered within {timeout}s")
        await asyncio.sleep(0.2)


async def test_a_dns_name_reaches_the_replicas_behind_it(servers: list[TritonProcess]) -> None:
    # localhost stands in for a headless Service: the system resolver's answer becomes the replica list.
    port = servers[0].grpc_port
    replicas = ReplicaSet(f"dns:///localhost:{port}", maker("scripted"), deadline_s=10)
    try:
        assert f"127.0.0.1:{port}" in replicas.endpoints()
        [candidate] = await replicas.generate(for_file("dns.py"))
    finally:
        await replicas.aclose()
    assert candidate.text == MIDDLE
