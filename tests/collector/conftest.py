"""Fixtures: one PostgreSQL cluster for the session, a fresh database and a real collector per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .postgres import LocalPostgres, available
from .support import Collector, CollectorProcess, add_org, new_database


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """Debian's PostgreSQL, started for the session on loopback."""
    if not available():
        pytest.fail("PostgreSQL is not installed: run scripts/install-collector-deps (scripts/setup --tests runs it)")
    cluster = LocalPostgres()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def collector(postgres: LocalPostgres, tmp_path: Path) -> Iterator[Collector]:
    """``splice collector serve`` on a fresh database, with organization ``acme``."""
    conninfo = new_database(postgres.conninfo)
    ingest, admin = add_org(conninfo, "acme")
    process = CollectorProcess(conninfo, tmp_path / "collector.log")
    process.start()
    try:
        yield Collector(process, conninfo, ingest, admin)
    finally:
        process.stop()
