"""A throwaway PostgreSQL cluster from Debian's packages, on loopback in a temporary directory.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` system user the
Debian package creates, and its commands run through ``runuser``; as anyone else they run directly.
The cluster trusts local connections (it listens only on 127.0.0.1, on a port chosen free) and is removed
when stopped. The tests and ``scripts/bench-collector`` share it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "splice"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def available() -> bool:
    """Whether Debian's PostgreSQL server is installed (``scripts/install-postgresql``)."""
    return _bin_dir() is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPostgres:
    """One cluster; ``start`` / ``stop`` / ``restart`` drive it with ``pg_ctl``."""

    def __init__(self, *, settings: dict[str, str] | None = None) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed: run scripts/install-postgresql")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="splice-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.settings = {"fsync": "on", "max_connections": "100", "shared_buffers": "128MB", **(settings or {})}
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")

    @property
    def conninfo(self) -> str:
        """A libpq connection string for the database ``postgres`` as the superuser."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root} {options}", "start")
        deadline = time.monotonic() + 30
        while self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {self.log()[-2000:]}")
            time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        """Stop and start again on the same port and data."""
        self.stop(mode)
        self.start()

    def log(self) -> str:
        """The server's log."""
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def destroy(self) -> None:
        """Stop the server and remove its files."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
