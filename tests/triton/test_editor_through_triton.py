"""Editor client -> `splice serve` -> real tritonserver on CPU -> back, with Triton killed and restarted.

The VS Code client library drives the server (tests/e2e/client/driver.mjs, scenario ``triton``); the
server is configured with ``SPLICE_TRITON_URL`` and must answer through Triton, fall back to the embedded
engine with a ``degraded`` status when Triton dies, and report ``ready`` again once it is back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from triton_support import REPO, TRITON_CPU, free_port

CLIENT = REPO / "tests" / "e2e" / "client"
SAMPLE = REPO / "tests" / "e2e" / "fixtures" / "inventory"


def test_editor_gets_triton_then_fallback_then_recovery(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node and (CLIENT / "node_modules" / "vscode-jsonrpc").is_dir()
    http, grpc, metrics = free_port(), free_port(), free_port()
    triton_cmd = [sys.executable, str(TRITON_CPU), "--http-port", str(http), "--grpc-port", str(grpc),
                  "--metrics-port", str(metrics)]
    args = {
        "root": str(SAMPLE), "languageId": "python",
        "file": str(SAMPLE / "inventory" / "restock.py"), "line": 10, "character": 8,
        "triton": {"cmd": triton_cmd, "env": {}},
    }
    env = dict(
        os.environ,
        SPLICE_SERVER_CMD=json.dumps([sys.executable, "-m", "splice", "serve"]),
        SPLICE_TRITON_URL=f"127.0.0.1:{grpc}",
        SPLICE_DEADLINE_MS="1500",
    )
    proc = subprocess.run([node, str(CLIENT / "driver.mjs"), "triton", json.dumps(args)], capture_output=True,
                          text=True, timeout=400, env=env, check=False)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "failure" not in result, result.get("failure")

    logged = [json.loads(line) for line in result["stderr"].splitlines()
              if line.startswith("{") and json.loads(line).get("event") == "completion"]
    engines = [entry.get("engine") for entry in logged]
    assert engines == ["triton", "embedded", "triton"]
    assert logged[1]["fallback"].startswith("triton")
    for key in ("served", "fallback", "recovered"):
        assert "result" in result[key], result[key]
    assert result["fallback"]["result"]["items"], "the fallback engine must still suggest"
    states = [status["state"] for status in result["statuses"]]
    assert "degraded" in states
    assert states[-1] == "ready"
    assert states.index("degraded") < len(states) - 1
    assert result["exit"]["code"] == 0
