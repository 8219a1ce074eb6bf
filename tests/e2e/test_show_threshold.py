"""The show threshold in a real ``splice serve``: a low-confidence automatic suggestion is hidden, a
high-confidence one kept, an explicit request shows both, and a bad ``minConfidence`` is reported while the
server keeps serving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rawpipe import RawServer

AUTOMATIC, INVOKED = 2, 1
_BODY = ("def total(values):\n    result = 0\n    for value in values:\n        result += value\n    return result\n"
         "\n\ndef count(values):\n    result = 0\n    for value in values:\n        result += 1\n    return result\n"
         "\n\ndef product(values):\n    result = 1\n    for value in values:\n")
# The loop body's line, copied from two functions above with a long agreeing context: a likely suggestion.
HIGH = _BODY + "        "
# A new module-level assignment: little agrees with it, and the engine's candidates disagree.
LOW = _BODY + "\n\nvalue = "


def _env(tmp_path: Path, threshold: float | None) -> dict[str, str]:
    env = {"SPLICE_DATA_DIR": str(tmp_path), "SPLICE_TELEMETRY": "off"}
    if threshold is not None:
        env["SPLICE_MIN_CONFIDENCE"] = str(threshold)
    return env


def _ask(server: RawServer, uri: str, text: str, trigger: int) -> list[dict[str, Any]]:
    """The items at the end of ``text``, opened fresh as ``uri`` (a new document: no typeahead)."""
    server.open(uri, text)
    lines = text.split("\n")
    reply = server.call("textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": {"line": len(lines) - 1, "character": len(lines[-1])},
        "context": {"triggerKind": trigger}}, timeout=30)
    assert "result" in reply, reply
    items: list[dict[str, Any]] = reply["result"]["items"]
    return items


def _confidences(tmp_path: Path) -> dict[str, float]:
    """Each case's first suggestion and its confidence, from a server that shows everything."""
    with RawServer(env=_env(tmp_path, 0.0)) as server:
        server.initialize(tmp_path)
        found = {}
        for name, text in (("high", HIGH), ("low", LOW)):
            items = _ask(server, f"file:///w/{name}.py", text, AUTOMATIC)
            assert items, f"no suggestion for the {name} case"
            data = items[0]["data"]
            assert 0.0 <= data["confidence"] <= 1.0 and data["confidenceFeatures"]["end_of_line"] == 1.0
            found[name] = data["confidence"]
            server.notify("textDocument/didClose", {"textDocument": {"uri": f"file:///w/{name}.py"}})
    return found


def test_the_threshold_hides_the_low_confidence_suggestion_and_keeps_the_high_one(tmp_path: Path) -> None:
    found = _confidences(tmp_path)
    assert found["low"] < found["high"], f"the model no longer tells the cases apart: {found}"
    between = round((found["low"] + found["high"]) / 2, 4)
    with RawServer(env=_env(tmp_path, between)) as server:
        server.initialize(tmp_path)
        high = _ask(server, "file:///w/high.py", HIGH, AUTOMATIC)
        assert [item["data"]["confidence"] for item in high] == [found["high"]]
        assert _ask(server, "file:///w/low.py", LOW, AUTOMATIC) == []
        # Asked for explicitly (Alt+\), the suggestion under the threshold is shown.
        invoked = _ask(server, "file:///w/low-invoked.py", LOW, INVOKED)
        assert invoked and invoked[0]["data"]["confidence"] < between


def _messages(server: RawServer) -> str:
    return "\n".join(m["params"]["message"] for m in server.drain(1.0) + server.seen
                     if m.get("method") == "window/showMessage")


def test_a_bad_min_confidence_is_reported_and_the_server_keeps_serving(tmp_path: Path) -> None:
    with RawServer(env=_env(tmp_path, None)) as server:
        server.initialize(tmp_path, options={"minConfidence": 1.5})
        assert "'minConfidence' must be a number from 0 to 1" in _messages(server)
        server.notify("workspace/didChangeConfiguration", {"settings": {"splice": {"minConfidence": "high"}}})
        server.notify("workspace/didChangeConfiguration", {"settings": {"splice": {"minConfidence": None}}})
        shown = _messages(server)
        assert "got 'high'" in shown and "got None" in shown
        # The default threshold stayed: the likely suggestion is still served, to an automatic request.
        assert _ask(server, "file:///w/high.py", HIGH, AUTOMATIC)
        assert server.alive()
    with RawServer(env={**_env(tmp_path, None), "SPLICE_MIN_CONFIDENCE": "nan"}) as server:
        server.initialize(tmp_path)
        assert "'SPLICE_MIN_CONFIDENCE' must be a number from 0 to 1" in _messages(server)
        assert _ask(server, "file:///w/high.py", HIGH, AUTOMATIC)
