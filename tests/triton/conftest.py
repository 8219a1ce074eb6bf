"""Real Triton servers for the tests in this folder, started through ``scripts/triton-cpu`` on free ports.

Each server runs in its own process group so a test can kill it outright (fault injection) and the
fixture can always clean up. Waits are bounded by timeouts; nothing is retried.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRITON_CPU = REPO / "scripts" / "triton-cpu"
MODEL_TEMPLATE = REPO / "triton_models" / "cpu" / "splice_fim"
SCRIPTED_ENGINE = Path(__file__).resolve().parent / "scripted_engine.py"
START_TIMEOUT_S = 90.0


def embedded_engine_available() -> bool:
    try:
        from splice.engines.embedded import EmbeddedEngine  # noqa: F401
    except ImportError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@pytest.fixture(scope="session")
def artifacts_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tenant directories for the scripted models: 1 = plain, 2 = slow generation, 3 = other middle."""
    root = tmp_path_factory.mktemp("artifacts")
    (root / "1").mkdir()
    (root / "2").mkdir()
    (root / "2" / "delay_s.txt").write_text("5")
    (root / "3").mkdir()
    (root / "3" / "middle.txt").write_text("difference = first - second\n")
    return root


@pytest.fixture(scope="session")
def triton(tmp_path_factory: pytest.TempPathFactory, artifacts_root: Path) -> Iterator[TritonProcess]:
    """A shared server with explicit model control and these models:

    - ``splice_fim``: the shipped model and its embedded engine;
    - ``scripted``: the scripted engine streamed in 4 pieces, 30 ms apart;
    - ``scripted_slow``: the same, 1.5 s apart (a model slower than any deadline);
    - ``scripted_unload``: the same as ``scripted``, for the test that unloads it.
    """
    repository = tmp_path_factory.mktemp("models")
    if embedded_engine_available():
        shutil.copytree(MODEL_TEMPLATE, repository / "splice_fim", ignore=shutil.ignore_patterns("__pycache__"))
    engine = f"{SCRIPTED_ENGINE}:ScriptedEngine"
    write_model(repository, "scripted", engine=engine, chunk_delay_ms="30")
    write_model(repository, "scripted_slow", engine=engine, chunk_delay_ms="1500")
    write_model(repository, "scripted_unload", engine=engine)
    server = TritonProcess(
        repository=repository,
        log_path=tmp_path_factory.mktemp("logs") / "triton.log",
        args=["--model-control-mode", "explicit", "--load-model", "*"],
        env={"SPLICE_ARTIFACTS_ROOT": str(artifacts_root)},
    )
    server.start()
    yield server
    server.stop()
