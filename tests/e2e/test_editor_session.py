"""End to end: `splice serve` over real pipes, driven by the VS Code client library under Node.

Each test runs one scenario of ``client/driver.mjs`` and asserts on what the client observed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "client"
SAMPLE = HERE / "fixtures" / "inventory"
REPORT = SAMPLE / "inventory" / "restock.py"  # line 10 is an empty loop body, indented 8


def run_scenario(name: str, timeout: float = 90, **args: Any) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is required for the end-to-end tests"
    assert (CLIENT / "node_modules" / "vscode-jsonrpc").is_dir(), "run `npm ci --prefix tests/e2e/client` first"
    env = dict(os.environ, SPLICE_SERVER_CMD=json.dumps([sys.executable, "-m", "splice", "serve"]))
    args.setdefault("root", str(SAMPLE))
    args.setdefault("languageId", "python")
    proc = subprocess.run([node, str(CLIENT / "driver.mjs"), name, json.dumps(args)], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)
    assert proc.stdout.strip(), f"driver printed nothing; stderr:\n{proc.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "failure" not in result, result.get("failure")
    return result


def test_completion_on_a_real_file_through_the_vscode_client() -> None:
    # Cursor at the start of the body of `dispatch`, after its indentation, the line emptied by the test.
    result = run_scenario("complete", file=str(REPORT), line=10, character=8,
                          others=[str(SAMPLE / "inventory" / "store.py")])
    caps = result["capabilities"]
    assert caps["positionEncoding"] == "utf-16"
    assert caps["textDocumentSync"]["change"] == 2 and caps["textDocumentSync"]["save"]
    assert "inlineCompletionProvider" in caps and "completionProvider" in caps
    inline = result["inline"]["result"]
    assert inline["items"], result
    item = inline["items"][0]
    assert item["insertText"].strip()
    assert item["range"]["start"] == {"line": 10, "character": 8}
    assert item["data"]["completionId"]
    popup = result["popup"]["result"]["items"]
    assert popup and popup[0]["textEdit"]["newText"].strip() and popup[0]["data"]["completionId"]
    assert result["exit"]["code"] == 0
    # Feedback for the issued id is logged; an unknown id and a negative length are refused with a reason.
    stderr = result["stderr"]
    assert '"completion_feedback"' in stderr and "acceptedLength" not in stderr.split('"completion_feedback"')[0][-1:]
    assert "unknown completionId" in stderr
    assert "less than the minimum of 0" in stderr
    log_lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    completion_logs = [entry for entry in log_lines if entry.get("event") == "completion"]
    assert completion_logs and all("request_id" in e and "timings_ms" in e for e in completion_logs)


def test_cancel_and_supersede_reply_request_cancelled() -> None:
    result = run_scenario("cancel", file=str(REPORT), line=10, character=8)
    assert result["cancelled"]["error"]["code"] == -32800
    assert result["superseded"]["error"]["code"] == -32800
    assert "items" in result["latest"]["result"]
    assert result["exit"]["code"] == 0


def test_garbage_and_bad_requests_get_errors_and_the_server_keeps_serving() -> None:
    result = run_scenario("badInput", file=str(REPORT), line=10, character=8)
    assert result["before"]["error"]["code"] == -32002
    assert result["initialized"]
    assert result["unknownMethod"]["error"]["code"] == -32601
    assert result["invalidParams"]["error"]["code"] == -32602
    assert "not open" in result["unknownDocument"]["error"]["message"]
    assert "past the end" in result["outOfRange"]["error"]["message"]
    assert "larger than" in result["tooLarge"]["error"]["message"]
    assert "result" in result["afterAll"]
    messages = [n["params"]["message"] for n in result["notifications"] if n["method"] == "window/showMessage"]
    assert any("larger than" in m for m in messages)
    assert any("maxNewTokens" in m for m in messages)
    assert result["exit"]["code"] == 0


def test_process_exits_when_stdin_closes() -> None:
    # The stream ended without shutdown: the server leaves on its own, with the code an exit without
    # shutdown gets, not killed by a signal.
    assert run_scenario("stdinClose")["exit"] == {"code": 1, "signal": None}


def test_exit_without_shutdown_is_code_one() -> None:
    assert run_scenario("exitWithoutShutdown")["exit"]["code"] == 1


def test_process_exits_when_the_editor_dies() -> None:
    assert run_scenario("parentDies")["exit"] == {"code": 1, "signal": None}


@pytest.fixture(autouse=True, scope="module")
def _sample_has_an_empty_loop_body() -> None:
    assert REPORT.read_text().splitlines()[10] == " " * 8


def test_feedback_from_the_vscode_client_reaches_the_telemetry_database(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The real process over real pipes: the writer thread must have stored the session's events by the time
    # the process exits, and no code text with them.
    monkeypatch.setenv("SPLICE_DATA_DIR", str(tmp_path))
    result = run_scenario("complete", file=str(REPORT), line=10, character=8)
    assert result["exit"]["code"] == 0
    conn = sqlite3.connect(tmp_path / "telemetry.db")
    rows = conn.execute("SELECT kind, accepted_length, language FROM events ORDER BY id").fetchall()
    texts = conn.execute("SELECT COUNT(*) FROM texts").fetchone()[0]
    conn.close()
    kinds = [kind for kind, _, _ in rows]
    assert kinds.count("suggested") == 2  # the inline and the popup request
    assert "shown" in kinds and ("partially_accepted", 3, "python") in rows
    assert texts == 0
