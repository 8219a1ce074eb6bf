"""A seeded fuzzer for `splice serve`: byte mutations of valid frames and schema-aware wrong-typed params for
every method the server serves, in bursts, each followed by a probe request that must be answered correctly.

Used by ``test_fuzz.py`` (a few thousand messages in the suite) and ``scripts/fuzz-server`` (as many as you
like). What it checks, after every burst: the process is alive; the probe got its correct answer; and at the
end, every intact request got exactly one response with its id, and no mutated one got more than one.
Anything on stdout that is not a frame fails at once (:class:`rawpipe.StdoutCorrupted`).
"""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rawpipe import RawServer, frame, message_frame

from splice.server.features import FEATURES

PROBE_URI = "file:///fuzz/probe.py"
PROBE_TEXT = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    \n"
PROBE = {"textDocument": {"uri": PROBE_URI}, "position": {"line": 9, "character": 4}, "context": {"triggerKind": 1}}
URIS = ["file:///fuzz/a.py", "file:///fuzz/b.js", "untitled:Untitled-1", "file:///fuzz/%E2%82%AC.py"]
# Ending the session is not a fault to find: these two are left out of the schema-aware messages.
ENDING = frozenset({"shutdown", "exit"})

WRONG_VALUES: list[Any] = [
    None, "", "x", "\ud800", "\udfff\ud800", -1, 0, 2**63, -(2**70), 1.5, float("1e308"), True, False, [], {},
    [1, "a", None], {"a": {"b": []}}, "a" * 5000, "\x00\x01", "😀" * 50, [[[[[[[[]]]]]]]],
]


def _position(rng: random.Random) -> dict[str, Any]:
    return {"line": rng.randint(0, 12), "character": rng.randint(0, 10)}


def _range(rng: random.Random) -> dict[str, Any]:
    return {"start": _position(rng), "end": _position(rng)}


def _document(rng: random.Random) -> dict[str, Any]:
    return {"uri": rng.choice(URIS)}


def _text(rng: random.Random) -> str:
    pieces = ["def f(x):\n    return x\n", "const a = 1;\n", "\r\n", "\t", "é", "😀", "\ud800", "",
              "class A:\n    pass\n"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))


TEMPLATES: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "initialize": lambda rng: {"processId": None, "capabilities": {}},
    "initialized": lambda rng: {},
    "textDocument/didOpen": lambda rng: {"textDocument": {**_document(rng), "languageId": rng.choice(
        ["python", "javascript", "plaintext", "\ud800"]), "version": rng.randint(0, 9), "text": _text(rng)}},
    "textDocument/didChange": lambda rng: {"textDocument": {**_document(rng), "version": rng.randint(0, 9)},
                                           "contentChanges": [{"range": _range(rng), "text": _text(rng)}]},
    "textDocument/didSave": lambda rng: {"textDocument": _document(rng)},
    "textDocument/didClose": lambda rng: {"textDocument": _document(rng)},
    "workspace/didChangeConfiguration": lambda rng: {"settings": {"splice": {rng.choice(
        ["maxNewTokens", "engine", "tenant", "deadlineMs", "telemetry", "snippetWindowLines", "tenantTaskIds",
         "maxDocumentBytes", "logLevel", "retrievalDeadlineMs"]): rng.choice(WRONG_VALUES)}}},
    "textDocument/inlineCompletion": lambda rng: {"textDocument": _document(rng), "position": _position(rng),
                                                  "context": {"triggerKind": rng.choice([1, 2])}},
    "textDocument/completion": lambda rng: {"textDocument": _document(rng), "position": _position(rng),
                                            "context": {"triggerKind": 1}},
    "splice/didShowCompletion": lambda rng: {"completionId": f"{rng.getrandbits(32):x}-0"},
    "splice/didAcceptCompletion": lambda rng: {"completionId": f"{rng.getrandbits(32):x}-0",
                                               "acceptedLength": rng.randint(0, 5)},
    "splice/didRejectCompletion": lambda rng: {"completionId": f"{rng.getrandbits(32):x}-0", "reason": "typed"},
    "workspace/executeCommand": lambda rng: {"command": "splice.acceptCompletion",
                                             "arguments": [{"completionId": f"{rng.getrandbits(32):x}-0"}]},
    "$/cancelRequest": lambda rng: {"id": rng.randint(0, 10_000)},
    "$/setTrace": lambda rng: {"value": "off"},
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a member or element of ``value``."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((*prefix, key))
            found.extend(_paths(inner, (*prefix, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.append((*prefix, index))
            found.extend(_paths(inner, (*prefix, index)))
    return found


def wrong_typed(params: dict[str, Any], rng: random.Random) -> Any:
    """``params`` with one member replaced by a value of another type, deleted, or the whole replaced."""
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(WRONG_VALUES)
    mutated = copy.deepcopy(params)
    paths = _paths(mutated)
    if not paths:
        return rng.choice(WRONG_VALUES)
    path = rng.choice(paths)
    parent: Any = mutated
    for step in path[:-1]:
        parent = parent[step]
    if roll < 0.3:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(WRONG_VALUES))
    return mutated


def mutated_bytes(data: bytes, rng: random.Random) -> bytes:
    """One of a handful of damages to a framed message."""
    kind = rng.randrange(8)
    header, _, body = data.partition(b"\r\n\r\n")
    if kind == 0:  # flip some bytes anywhere
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == 1:  # Content-Length off by a little
        return b"Content-Length: %d\r\n\r\n%s" % (max(0, len(body) + rng.randint(-3, 3)), body)
    if kind == 2:  # cut short
        return data[: rng.randrange(len(data))]
    if kind == 3:  # no blank line after the header
        return header + b"\r\n" + body
    if kind == 4:  # junk before the frame
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 40))) + data
    if kind == 5:  # a body that is not UTF-8 or not JSON
        return frame(body[: len(body) // 2] + b"\xff\xfe" + body[len(body) // 2 :])
    if kind == 6:  # the header doubled
        return header + b"\r\n" + data
    return frame(json.dumps(json.loads(body)).encode()[::-1])  # reversed body


@dataclass
class FuzzResult:
    """What a run found; ``failures`` is empty when the server held."""

    messages: int = 0
    bursts: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    rss_start_kb: int = 0
    rss_end_kb: int = 0


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fuzz(messages: int, seed: int, burst: int = 50, env: dict[str, str] | None = None) -> FuzzResult:
    """Send ``messages`` fuzzed messages to a fresh `splice serve` and report what held and what did not."""
    rng = random.Random(seed)
    methods = sorted(set(FEATURES.methods) - ENDING | {"$/cancelRequest", "$/setTrace"})
    missing = [m for m in methods if m not in TEMPLATES]
    assert not missing, f"no fuzz template for {missing}"
    result = FuzzResult()
    intact: set[Any] = set()
    with RawServer(env=env) as server:
        server.initialize()
        server.open(PROBE_URI, PROBE_TEXT)
        _probe_reply(server, server.request("textDocument/inlineCompletion", PROBE))  # warm: engine loaded
        result.rss_start_kb = _rss_kb(server.proc.pid)
        sent = 0
        while sent < messages:
            for _ in range(min(burst, messages - sent)):
                sent += 1
                method = rng.choice(methods)
                params = TEMPLATES[method](rng)
                message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
                is_request = rng.random() < 0.5
                if is_request:
                    message["id"] = f"fuzz-{sent}"
                if rng.random() < 0.5:
                    message["params"] = wrong_typed(params, rng)
                    data = message_frame(message)
                    if is_request:
                        intact.add(message["id"])
                else:
                    message["params"] = params
                    data = mutated_bytes(message_frame(message), rng)
                server.write(data)
            result.bursts += 1
            # Close any frame the burst left open: a probe must not be swallowed by a torn body.
            server.write(b"\r\n\r\n" + b" " * 64 + b"\r\n\r\n")
            probe = server.request("textDocument/inlineCompletion", PROBE)
            reply = _probe_reply(server, probe)
            if reply is None or "result" not in reply or not isinstance(reply["result"].get("items"), list):
                result.failures.append(f"burst {result.bursts}: probe answered {reply!r}")
                if not server.alive():
                    result.failures.append(f"process ended with {server.proc.poll()}")
                    break
        result.messages = sent
        server.drain(1.0)
        result.rss_end_kb = _rss_kb(server.proc.pid) if server.alive() else 0
        answers = Counter(m.get("id") for m in server.seen if "method" not in m and m.get("id") is not None)
        result.requests = len(intact)
        for request_id in intact:
            if answers.get(request_id, 0) != 1:
                result.failures.append(f"request {request_id!r} got {answers.get(request_id, 0)} responses")
        for request_id, count in answers.items():
            if count > 1:
                result.failures.append(f"id {request_id!r} answered {count} times")
        if server.alive() and server.close() != 0:
            result.failures.append("shutdown/exit did not end with code 0")
    return result


def _probe_reply(server: RawServer, probe: int) -> dict[str, Any] | None:
    try:
        return server.reply_to(probe, timeout=30)
    except AssertionError:
        return None
