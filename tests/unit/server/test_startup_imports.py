"""What the server loads before its initialize reply: an editor waits for that reply, so modules only a
later step needs load with that step."""

from __future__ import annotations

import json
import subprocess
import sys

# Each costs milliseconds of import that the reply does not need: numerics and the index for the first
# search, the workspace reader and its secret patterns for the first walk or snippet window, the engines;
# structlog's console extras never.
LATER = ("numpy", "pathspec", "splice.workspace", "splice.secrets", "splice.retrieval.index",
         "splice.engines.embedded.engine", "splice.pipeline", "tokenizers", "rich", "colorama")


def test_the_server_module_loads_nothing_its_initialize_reply_does_not_need() -> None:
    script = ("import json, sys\nimport splice.server.main\n"
              f"print(json.dumps([m for m in {LATER!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []
