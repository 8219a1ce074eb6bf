"""The evaluation's client waits while the server says its configured engine stands aside, so that no
timed request measures the fallback; a server that never becomes ready stops the run, saying why."""

from __future__ import annotations

import asyncio
import sys

import pytest

from splice.evaluation.stdio import ServerProcess

# A stand-in server: announces ``degraded``, then (after ``DELAY`` seconds, unless negative) ``ready``.
SCRIPT = """
import json, sys, time
def send(params):
    body = json.dumps({"jsonrpc": "2.0", "method": "splice/status", "params": params}).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)
    sys.stdout.buffer.flush()
send({"state": "degraded", "engine": "fallback", "message": "neural: the neural model is loading"})
delay = float(sys.argv[1])
if delay >= 0:
    time.sleep(delay)
    send({"state": "ready", "engine": "fallback"})
sys.stdin.read()
"""


async def _server(delay: float) -> ServerProcess:
    server = await ServerProcess.start([sys.executable, "-c", SCRIPT, str(delay)], {})
    for _ in range(200):  # the first announcement arrives before the wait is asked for
        if server.status:
            break
        await asyncio.sleep(0.01)
    return server


async def test_waits_for_ready_after_degraded() -> None:
    server = await _server(0.3)
    try:
        assert server.status["state"] == "degraded"
        await server.wait_engine(10)
        assert server.status["state"] == "ready"
    finally:
        server.process.kill()
        await server.stop()


async def test_a_server_that_stays_degraded_stops_the_run_saying_why() -> None:
    server = await _server(-1)
    try:
        with pytest.raises(TimeoutError, match="neural model is loading"):
            await server.wait_engine(0.5)
    finally:
        server.process.kill()
        await server.stop()
