"""What the Triton tests share: a real server process on free ports, model copies, requests, an in-process
fallback engine and a status recorder.

Each server runs in its own process group so a test can kill it outright (fault injection) and cleanup is
always possible. Waits are bounded by timeouts; nothing is retried.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tritonclient.grpc.aio as grpcclient
from tritonclient.grpc import InferInput

from splice.context.prompt import FimPrompt
from splice.engines.base import Candidate, GenerationRequest, RemoteEngine

REPO = Path(__file__).resolve().parents[2]
TRITON_CPU = REPO / "scripts" / "triton-cpu"
MODEL_TEMPLATE = REPO / "triton_models" / "cpu" / "splice_fim"
SCRIPTED_ENGINE = Path(__file__).resolve().parent / "scripted_engine.py"
START_TIMEOUT_S = 90.0


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port not handed out before in this run (the OS may offer a just-closed port again, and a
    server given the same port twice refuses to start)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def write_model(repository: Path, name: str, **parameters: str) -> Path:
    """A copy of ``splice_fim`` named ``name`` in ``repository`` with some ``parameters`` replaced."""
    target = repository / name
    shutil.copytree(MODEL_TEMPLATE, target, ignore=shutil.ignore_patterns("__pycache__"))
    config = (target / "config.pbtxt").read_text()
    config = config.replace('name: "splice_fim"', f'name: "{name}"')
    for key, value in parameters.items():
        pattern = rf'(key: "{key}", value: {{ string_value: )"[^"]*"'
        config, count = re.subn(pattern, rf'\1"{value}"', config)
        assert count == 1, f"no parameter {key} in config.pbtxt"
    (target / "config.pbtxt").write_text(config)
    return target


@dataclass
class TritonProcess:
    """One ``scripts/triton-cpu`` run; ports stay fixed across restarts so clients can reconnect."""

    repository: Path
    log_path: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        command = [
            sys.executable, str(TRITON_CPU),
            "--model-repository", str(self.repository),
            "--http-port", str(self.http_port),
            "--grpc-port", str(self.grpc_port),
            "--metrics-port", str(self.metrics_port),
            "--ready-timeout", str(START_TIMEOUT_S),
            *self.args,
        ]
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True,
            env={**os.environ, **self.env}, start_new_session=True,
        )
        ready = threading.Event()
        stdout = self.process.stdout
        assert stdout is not None

        def watch() -> None:
            for line in stdout:
                log.write(line)
                log.flush()
                if line.startswith("triton-cpu: ready"):
                    ready.set()

        threading.Thread(target=watch, daemon=True).start()
        if not ready.wait(START_TIMEOUT_S):
            self.kill()
            tail = self.log_path.read_text()[-3000:]
            pytest.fail(f"tritonserver did not become ready; log tail:\n{tail}")

    def kill(self) -> None:
        """SIGKILL the whole process group: the server vanishes mid-request, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """SIGTERM through the wrapper: the clean shutdown path."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None



PREFIX = "def add(first, second):\n    "
SUFFIX = "\n\nprint(add(1, 2))\n"


def fim_request(
    *, multiline: bool = True, tenant: str | None = None, max_new_tokens: int = 64
) -> GenerationRequest:
    """A StarCoder2-format request, as the context layer renders it."""
    text = f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>"
    prompt = FimPrompt(path="calc.py", language="python", prefix=PREFIX, suffix=SUFFIX, text=text)
    return GenerationRequest(
        prompt=prompt,
        document_prefix=PREFIX,
        document_suffix=SUFFIX,
        multiline=multiline,
        max_new_tokens=max_new_tokens,
        tenant=tenant,
    )


class StaticEngine(RemoteEngine):
    """Stands in for the embedded engine as the fallback: instant and always the same answer."""

    name = "embedded"

    def __init__(self) -> None:
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        self.calls += 1
        return [Candidate(text="first + second", score=-2.0, origin=self.name)]

    async def aclose(self) -> None:
        return None


class StatusLog:
    """Records ``on_status`` calls."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None]] = []

    def __call__(self, status: str, detail: str | None) -> None:
        self.events.append((status, detail))

    @property
    def statuses(self) -> list[str]:
        return [status for status, _ in self.events]


async def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    """Wait until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def _input(name: str, datatype: str, value: np.ndarray[Any, Any]) -> InferInput:
    tensor = InferInput(name, list(value.shape), datatype)
    tensor.set_data_from_numpy(value)
    return tensor


async def raw_stream(url: str, model: str, text: str, *, max_tokens: int, stream: bool = True,
                     stop_words: tuple[bytes, ...] = (), timeout: float = 10.0) -> list[str]:
    """Every streamed ``text_output`` of one request, read with the vendor client directly (not Splice's)."""
    client = grpcclient.InferenceServerClient(url)
    inputs = [
        _input("text_input", "BYTES", np.array([[text.encode()]], dtype=np.object_)),
        _input("max_tokens", "INT32", np.array([[max_tokens]], dtype=np.int32)),
        _input("stream", "BOOL", np.array([[stream]])),
    ]
    if stop_words:
        inputs.append(_input("stop_words", "BYTES", np.array([list(stop_words)], dtype=np.object_)))

    async def one() -> AsyncIterator[dict[str, Any]]:
        yield {"model_name": model, "inputs": inputs}

    pieces = []
    try:
        async with asyncio.timeout(timeout):
            async for result, error in client.stream_infer(one()):
                assert error is None, error
                pieces.append(result.as_numpy("text_output").reshape(-1)[0].decode())
    finally:
        await client.close()
    return pieces
