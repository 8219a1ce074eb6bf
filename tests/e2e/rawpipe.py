"""A byte-level client for `splice serve` over real pipes: it writes any bytes, and it reads the server's
stdout with a strict framer of its own, so anything on stdout that is not a well-formed frame fails the test.

The VS Code client library cannot send malformed frames, wrong-typed ids or lone surrogates; this client
exists for exactly those. It shares no code with the server's framing on purpose.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


class StdoutCorrupted(AssertionError):
    """The server wrote something on stdout that is not an LSP frame."""


def frame(body: bytes | str) -> bytes:
    """``body`` framed with a correct Content-Length."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return b"Content-Length: %d\r\n\r\n%s" % (len(data), data)


def message_frame(message: dict[str, Any]) -> bytes:
    """``message`` as JSON with ASCII escapes (so lone surrogates travel as ``\\ud800``), framed."""
    return frame(json.dumps(message, ensure_ascii=True).encode("ascii"))


class RawServer:
    """A real ``splice serve`` process; frames from its stdout are parsed on a thread into a queue."""

    def __init__(self, env: dict[str, str] | None = None, args: tuple[str, ...] = (),
                 cwd: Path | None = None) -> None:
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "splice", "serve", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=cwd,
        )
        self.messages: queue.Queue[dict[str, Any] | BaseException] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stderr_lines: list[bytes] = []
        self._next_id = 0
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # Output of the server -----------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        out = self.proc.stdout
        try:
            while True:
                header = b""
                while not header.endswith(b"\r\n\r\n"):
                    byte = out.read(1)
                    if not byte:
                        if header:
                            raise StdoutCorrupted(f"stdout ended inside a header: {header!r}")
                        return
                    header += byte
                    if len(header) > 200:
                        raise StdoutCorrupted(f"not a header on stdout: {header[:200]!r}")
                lines = header[:-4].split(b"\r\n")
                lengths = [ln for ln in lines if ln.lower().startswith(b"content-length: ")]
                if len(lengths) != 1 or not lengths[0][16:].isdigit():
                    raise StdoutCorrupted(f"bad header on stdout: {header!r}")
                length = int(lengths[0][16:])
                body = out.read(length)
                if len(body) != length:
                    raise StdoutCorrupted("stdout ended inside a body")
                try:
                    decoded = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise StdoutCorrupted(f"a frame that is not UTF-8 JSON: {body[:200]!r}") from exc
                if not isinstance(decoded, dict) or decoded.get("jsonrpc") != "2.0":
                    raise StdoutCorrupted(f"not a JSON-RPC message: {body[:200]!r}")
                self.messages.put(decoded)
        except BaseException as exc:  # handed to the test thread, which raises it
            self.messages.put(exc)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def stderr(self) -> str:
        return b"".join(self.stderr_lines).decode("utf-8", "replace")

    def next_message(self, timeout: float = 10.0) -> dict[str, Any]:
        item = self.messages.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        self.seen.append(item)
        return item

    def reply_to(self, request_id: Any, timeout: float = 15.0) -> dict[str, Any]:
        """The response with ``request_id``; server-sent requests are answered with a null result."""
        for m in self.seen:
            if "method" not in m and m.get("id") == request_id:
                return m
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no reply to {request_id!r}; stderr:\n{self.stderr()[-3000:]}")
            try:
                m = self.next_message(remaining)
            except queue.Empty:
                continue
            if "method" in m and "id" in m:
                self.send({"jsonrpc": "2.0", "id": m["id"], "result": None})
            elif "method" not in m and m.get("id") == request_id:
                return m

    def drain(self, quiet: float = 0.3) -> list[dict[str, Any]]:
        """Messages that arrive until the server has been quiet for ``quiet`` seconds."""
        got = []
        while True:
            try:
                got.append(self.next_message(quiet))
            except queue.Empty:
                return got

    # Input to the server ------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.write(message_frame(message))

    def request(self, method: str, params: Any = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self._next_id

    def call(self, method: str, params: Any = None, timeout: float = 15.0) -> dict[str, Any]:
        return self.reply_to(self.request(method, params), timeout)

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def initialize(self, root: Path | None = None, capabilities: dict[str, Any] | None = None,
                   options: dict[str, Any] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"processId": None, "capabilities": capabilities or {}}
        if root is not None:
            params["rootUri"] = root.resolve().as_uri()
        if options is not None:
            params["initializationOptions"] = options
        reply = self.call("initialize", params, timeout=30)
        self.notify("initialized", {})
        return reply

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}})

    def inline(self, uri: str, line: int, character: int, timeout: float = 30.0) -> dict[str, Any]:
        return self.call("textDocument/inlineCompletion",
                         {"textDocument": {"uri": uri}, "position": {"line": line, "character": character},
                          "context": {"triggerKind": 1}}, timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> int:
        """Shut down politely if alive; return the exit code."""
        if self.alive():
            try:
                self.call("shutdown", timeout=10)
                self.notify("exit")
            except (AssertionError, BrokenPipeError, OSError):
                pass
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()
