"""The client's keepalive pings and the server's keepalive policy agree: an idle channel stays open.

Splice keeps one long-lived gRPC channel and pings it while idle. Triton's default policy refuses such
pings and, after two that come too soon, closes the connection with GOAWAY; ``scripts/triton-cpu`` (and
the Kubernetes manifests) start the server with a policy that admits them. Both servers here run the same
model; only the policy differs, so the second test shows the first one could fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from triton_support import SCRIPTED_ENGINE, TritonProcess, fim_request, wait_for, write_model

from splice.engines.triton import TritonEngine, TritonSettings

PING_MS = 300


def _server(root: Path, policy: str) -> TritonProcess:
    repository = root / policy
    repository.mkdir()
    write_model(repository, "scripted", engine=f"{SCRIPTED_ENGINE}:ScriptedEngine")
    return TritonProcess(
        repository=repository, log_path=root / f"{policy}.log",
        args=["--keepalive-policy", policy, "--min-ping-interval-ms", str(PING_MS // 2)],
    )


@pytest.fixture(params=["splice", "triton-default"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TritonProcess]:
    process = _server(tmp_path, request.param)
    process.start()
    yield process
    process.stop()


async def test_idle_channel_survives_only_the_agreed_policy(server: TritonProcess) -> None:
    engine = TritonEngine(TritonSettings(url=server.grpc_url, model="scripted", deadline_s=10,
                                         keepalive_time_ms=PING_MS, keepalive_timeout_ms=2_000))
    states: list[grpc.ChannelConnectivity] = []
    try:
        await engine.generate(fim_request())
        channel = engine._connection()._channel  # the vendor client's one aio channel

        async def watch() -> None:
            state = channel.get_state()
            while True:
                states.append(state)
                await channel.wait_for_state_change(state)
                state = channel.get_state()

        watcher = asyncio.create_task(watch())
        agreed = "splice" in str(server.repository)
        if agreed:
            await asyncio.sleep(PING_MS * 12 / 1000)  # a dozen pings on an idle channel
        else:
            await wait_for(lambda: len(states) > 1, timeout=20)
        watcher.cancel()
        [candidate] = await engine.generate(fim_request())  # either way the next request is served
    finally:
        await engine.aclose()
    assert candidate.text
    if agreed:
        assert states == [grpc.ChannelConnectivity.READY]
    else:
        assert states[0] == grpc.ChannelConnectivity.READY and len(states) > 1
