"""The customization workflow on the real collector: versions built by ``splice customize`` are registered,
published to everyone, switched and rolled back, while a real ``splice serve`` that was never told its
tenant learns it (and the version's task id) from the collector; every action is in the audit log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from .support import ROOT, SPLICE, Collector, wait_for

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from rawpipe import RawServer

DOC = "def total(values):\n    result = 0\n    for value in values:\n        result += value\n    return result\n\n" \
      "def mean(values):\n    result = 0\n    for value in values:\n        "


def _splice(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPLICE, *args], capture_output=True, text=True, timeout=300, check=check, cwd=ROOT)


def _admin(collector: Collector, action: str, *args: str, check: bool = True) -> Any:
    done = _splice("collector", action, "--url", collector.url, "--admin-token", collector.admin_token,
                   "--actor", "lee", *args, check=check)
    return json.loads(done.stdout) if done.returncode == 0 else done


def _versions_seen(collector: Collector) -> set[int]:
    with psycopg.connect(collector.conninfo) as conn:
        rows = conn.execute("SELECT DISTINCT tenant_version FROM events WHERE user_name = 'alice' "
                            "AND tenant = 'acme' AND tenant_version IS NOT NULL").fetchall()
    return {int(r[0]) for r in rows}


def _complete_until(server: RawServer, uri: str, collector: Collector, version: int) -> None:
    """Ask for completions until the collector has stored one made under ``version``."""
    def seen() -> bool:
        server.inline(uri, 9, 8)
        return version in _versions_seen(collector)

    wait_for(seen, 60, f"events of version {version}", interval=0.3)


def test_publish_switch_compare_and_roll_back(collector: Collector, tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    for task_id in ("3", "4"):
        _splice("customize", "--tenant", "acme", "--repo", str(ROOT / "tests/e2e/fixtures/inventory"),
                "--out", str(artifacts), "--no-guardrail", "--task-id", task_id, "--quiet")
    registered = _admin(collector, "register", "--tenant", "acme", "--artifacts", str(artifacts))
    assert [(r["version"], r["task_id"]) for r in registered] == [(1, 3), (2, 4)]
    listed = _admin(collector, "versions", "--tenant", "acme")["versions"]
    assert [(v["version"], v["task_id"], v["assigned_groups"]) for v in listed] == [(2, 4, 0), (1, 3, 0)]
    refused = _admin(collector, "publish", "--tenant", "acme", "--version", "9", "--all", check=False)
    assert refused.returncode == 1 and "no registered version 9" in refused.stderr

    assert _admin(collector, "publish", "--tenant", "acme", "--version", "1", "--all") == {"assigned": 1}
    root = tmp_path / "billing"
    root.mkdir()
    uri = (root / "main.py").as_uri()
    env = {"SPLICE_DATA_DIR": str(tmp_path / "data"), "SPLICE_COLLECTOR_URL": collector.url,
           "SPLICE_COLLECTOR_TOKEN": collector.ingest_token, "SPLICE_COLLECTOR_USER": "alice",
           "SPLICE_ENGINE": "embedded"}
    with RawServer(env=env) as server:
        server.initialize(root)
        server.open(uri, DOC)
        _complete_until(server, uri, collector, 1)
        # A new version for everyone reaches the running server with the next ingest reply.
        _admin(collector, "publish", "--tenant", "acme", "--version", "2", "--all")
        _complete_until(server, uri, collector, 2)
        compared = _admin(collector, "compare", "--tenant", "acme", "1", "2")["rows"]
        assert [r["key"] for r in compared] == ["acme v1", "acme v2"]
        assert all(r["requests"] > 0 for r in compared)
        changed = _admin(collector, "rollback", "--tenant", "acme")["changed"]
        assert changed == [{"member": "all:", "version": 1, "from": 2}]
        with psycopg.connect(collector.conninfo) as conn:
            before = conn.execute("SELECT max(ts) FROM events").fetchone()
        assert before is not None

        def back_on_v1() -> bool:
            server.inline(uri, 9, 8)
            with psycopg.connect(collector.conninfo) as conn:
                row = conn.execute("SELECT count(*) FROM events WHERE tenant_version = 1 AND ts > %s",
                                   (before[0],)).fetchone()
            return row is not None and row[0] > 0

        wait_for(back_on_v1, 60, "events of version 1 after the rollback", interval=0.3)
        stderr = server.stderr()
        assert server.close() == 0
    assert '"task_id": 4' in stderr and '"task_id": 3' in stderr  # the task ids the server switched to
    audit = _admin(collector, "audit")["audit"]
    assert [(a["action"], a["actor"]) for a in reversed(audit)] == [
        ("register", "lee"), ("register", "lee"), ("publish", "lee"), ("publish", "lee"), ("rollback", "lee")]
