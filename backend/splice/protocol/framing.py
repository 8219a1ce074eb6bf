"""LSP base-protocol framing: ``Content-Length`` headers counted in bytes of the UTF-8 body.

:class:`FrameParser` is a pure state machine fed with bytes, so every malformed case is testable on
in-memory data. It resynchronises after garbage by scanning for the next ``Content-Length`` header, and it
never hands back a message twice: after a bad header the parser drops that header block and the buffer
moves on (a known failure of one popular reader is to re-dispatch the previous message instead).
:class:`FrameWriter` serialises writers and flushes after each message.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO

_HEADER_START = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 8 * 1024


@dataclass(frozen=True)
class Frame:
    """One well-framed body, decoded as JSON (``message``) or not (``error`` says why)."""

    message: Any = None
    error: str | None = None


class FrameParser:
    """Incremental parser from a byte stream to frames; feed bytes, collect frames and errors."""

    def __init__(self, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self._buffer = bytearray()
        self._max_body = max_body_bytes

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data`` and return every frame now complete, in order."""
        self._buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return frames
            frames.append(frame)

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return len(self._buffer)

    def _discard(self, count: int) -> None:
        del self._buffer[:count]

    def _next_frame(self) -> Frame | None:
        buf = self._buffer
        if not buf:
            return None
        start = _HEADER_START.search(buf)
        if start is None:
            # Keep a tail that could be the beginning of a split header; drop the rest as garbage.
            keep = len(b"content-length:") + 2
            if len(buf) > keep and buf.strip():
                garbage = len(buf) - keep
                self._discard(garbage)
                return Frame(error=f"discarded {garbage} bytes without a Content-Length header")
            return None
        header_begin = self._header_block_start(start.start())
        if header_begin > 0:
            skipped = bytes(buf[:header_begin])
            self._discard(header_begin)
            if skipped.strip():
                return Frame(error=f"discarded {len(skipped)} bytes of garbage before a header")
            return self._next_frame()
        end = _HEADER_END.search(buf)
        if end is None:
            if len(buf) > MAX_HEADER_BYTES:
                self._discard(start.end())
                return Frame(error="header block too long; skipped to the next header")
            return None
        headers, error = _parse_headers(bytes(buf[: end.start()]))
        if error is not None:
            self._discard(end.end())
            return Frame(error=error)
        length = headers
        if length > self._max_body:
            self._discard(end.end())
            return Frame(error=f"Content-Length {length} exceeds the limit of {self._max_body} bytes")
        body_start = end.end()
        if len(buf) < body_start + length:
            return None
        body = bytes(buf[body_start : body_start + length])
        self._discard(body_start + length)
        return self._decode(body)

    def _header_block_start(self, content_length_at: int) -> int:
        """Where the header block holding the Content-Length at ``content_length_at`` begins.

        Other headers (``Content-Type``) may precede Content-Length on the same block; walk back over
        complete header lines so they are not mistaken for garbage.
        """
        buf = self._buffer
        begin = content_length_at
        while begin > 0:
            line_end = begin - 1  # index of the "\n" ending the previous line
            if buf[line_end] != ord("\n"):
                return begin
            line_start = buf.rfind(b"\n", 0, line_end) + 1
            line = bytes(buf[line_start:line_end]).rstrip(b"\r")
            if not line or b":" not in line or not line.split(b":", 1)[0].strip().isascii():
                return begin
            if not re.fullmatch(rb"[A-Za-z][A-Za-z0-9-]*[ \t]*:.*", line):
                return begin
            begin = line_start
        return begin

    def _decode(self, body: bytes) -> Frame:
        try:
            return Frame(message=json.loads(body.decode("utf-8")))
        except UnicodeDecodeError:
            return Frame(error="message body is not valid UTF-8")
        except json.JSONDecodeError as exc:
            # A Content-Length that was too long swallows the next message's header: give those bytes
            # back so the next message still arrives.
            again = _HEADER_START.search(body, 1)
            if again is not None:
                self._buffer[:0] = body[again.start() :]
            return Frame(error=f"message body is not valid JSON: {exc.msg} at byte {exc.pos}")


def _parse_headers(block: bytes) -> tuple[int, str | None]:
    length: int | None = None
    for raw in re.split(rb"\r?\n", block):
        if not raw.strip():
            continue
        name, sep, value = raw.partition(b":")
        if not sep:
            return 0, f"malformed header line {raw[:40]!r}"
        if name.strip().lower() == b"content-length":
            text = value.strip()
            if not text.isdigit():
                return 0, f"invalid Content-Length {text[:20]!r}"
            length = int(text)
    if length is None:
        return 0, "missing Content-Length header"
    return length, None


def encode_message(message: Any) -> bytes:
    """The framed bytes for ``message``: header with the body's length in bytes, then the UTF-8 body."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class FrameWriter:
    """Writes framed messages to a binary stream, one writer at a time, flushing after each."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.closed = False

    def write(self, message: Any) -> None:
        """Frame and write ``message``; a closed pipe marks the writer closed instead of raising."""
        data = encode_message(message)
        with self._lock:
            if self.closed:
                return
            try:
                self._stream.write(data)
                self._stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                self.closed = True
