"""``splice serve`` as editors start it: the flags their client libraries add, the settings problems it
shows, and telemetry that survives a lone surrogate and a ``kill -9``."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rawpipe import RawServer

DOC = "def total(values):\n    result = 0\n    for value in values:\n        result += value\n    return result\n"


def _events(data_dir: Path) -> list[tuple[str, str]]:
    path = data_dir / "telemetry.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        return [(kind, language or "") for kind, language in conn.execute("SELECT kind, language FROM events")]


def _schema_version(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        return 0


def _messages(server: RawServer) -> list[str]:
    return [m["params"]["message"] for m in server.drain(1.0) + server.seen
            if m.get("method") == "window/showMessage"]


def test_editor_flags_are_accepted_and_the_client_process_is_watched(tmp_path: Path) -> None:
    for style in ("--clientProcessId={pid}", "--clientProcessId {pid}"):
        editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        args = tuple(style.format(pid=editor.pid).split())
        with RawServer(args=("--stdio", *args), env={"SPLICE_DATA_DIR": str(tmp_path)}) as server:
            assert "capabilities" in server.initialize(tmp_path)["result"]
            editor.kill()
            editor.wait()
            server.proc.wait(timeout=10)  # gone within a poll or two of the editor's death
            assert "unrecognized arguments" not in server.stderr()


def test_settings_problems_are_shown_to_the_person(tmp_path: Path) -> None:
    env = {"SPLICE_DATA_DIR": str(tmp_path), "SPLICE_TENANT_TASKIDS": "acme=3"}
    with RawServer(env=env) as server:
        server.initialize(tmp_path, options={"tenantTaskIds": "a=²", "tenant": "ACME"})
        shown = "\n".join(_messages(server))
        assert "unknown variable SPLICE_TENANT_TASKIDS ignored (did you mean SPLICE_TENANT_TASK_IDS?)" in shown
        assert "'tenantTaskIds' must be" in shown and "'tenant' must be" in shown
        server.open("file:///w/a.py", DOC)
        reply = server.inline("file:///w/a.py", 4, 4)
        assert "error" not in reply  # the bad value was refused, so completions still work


def test_a_lone_surrogate_from_the_client_does_not_stop_telemetry(tmp_path: Path) -> None:
    uri = (tmp_path / "a.py").as_uri()
    with RawServer(env={"SPLICE_DATA_DIR": str(tmp_path)}) as server:
        server.initialize(tmp_path)
        server.open(uri, DOC, language="\ud800")
        server.inline(uri, 4, 4)
        time.sleep(0.5)
        server.open(uri + "2", DOC, language="python")
        server.inline(uri + "2", 4, 4)
        assert server.close() == 0
    events = _events(tmp_path)
    assert ("suggested", "python") in events or ("no_suggestion", "python") in events
    assert any(language == "\ufffd" for _, language in events)


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_kill_9_loses_at_most_the_last_second(tmp_path: Path) -> None:
    uri = (tmp_path / "a.py").as_uri()
    with RawServer(env={"SPLICE_DATA_DIR": str(tmp_path)}) as server:
        server.initialize(tmp_path)
        server.open(uri, DOC)
        server.inline(uri, 4, 4)
        for version, text in enumerate(("x", "y", "z"), start=2):
            server.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": 5, "character": 0},
                                              "end": {"line": 5, "character": 0}}, "text": text}]})
        time.sleep(1.2)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
    kinds = {kind for kind, _ in _events(tmp_path)}
    assert {"typed"} <= kinds and kinds & {"suggested", "no_suggestion"}, kinds


def test_kill_9_in_the_first_second_keeps_the_database(tmp_path: Path) -> None:
    with RawServer(env={"SPLICE_DATA_DIR": str(tmp_path)}) as server:
        server.initialize(tmp_path)
        _wait_for(lambda: _schema_version(tmp_path / "telemetry.db") >= 1, timeout=1.0)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
    assert _schema_version(tmp_path / "telemetry.db") >= 1
