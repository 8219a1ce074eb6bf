"""The real collector as a process (``splice collector serve``) and small HTTP helpers for the tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SPLICE = [str(Path(sys.executable).parent / "splice")]


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``condition`` until it holds; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def new_database(admin_conninfo: str) -> str:
    """A fresh, empty database on the cluster; its connection string."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return admin_conninfo.replace("dbname=postgres", f"dbname={name}")


def add_org(conninfo: str, name: str) -> tuple[str, str]:
    """Create an organization through the command line; its (ingest, admin) tokens."""
    out = subprocess.run([*SPLICE, "collector", "add-org", name, "--database", conninfo], check=True,
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    tokens = json.loads(out.stdout)
    return tokens["ingest_token"], tokens["admin_token"]


def request(url: str, token: str, method: str = "GET", body: bytes | dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One HTTP exchange; (status, decoded JSON or text)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class CollectorProcess:
    """``splice collector serve`` on a loopback port, started and stopped (or killed) by the test."""

    def __init__(self, conninfo: str, log_path: Path, port: int | None = None, workers: int = 1) -> None:
        self.conninfo = conninfo
        self.workers = workers
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it and wait until it answers its health check."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*SPLICE, "collector", "serve", "--database", self.conninfo, "--port", str(self.port),
             "--workers", str(self.workers)],
            stdout=log, stderr=log, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wait_for(self._healthy, 60, f"the collector on {self.url} (log: {self.log_path})")

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the collector exited with {self.process.returncode}: "
                                 f"{self.log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def kill(self) -> None:
        """End it at once (SIGKILL): whatever it had not committed is lost, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        """End it gracefully (SIGTERM)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Collector:
    """A running collector with one organization."""

    process: CollectorProcess
    conninfo: str
    ingest_token: str
    admin_token: str

    @property
    def url(self) -> str:
        """Where it listens."""
        return self.process.url
