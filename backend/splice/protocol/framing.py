"""LSP base-protocol framing: ``Content-Length`` headers counted in bytes of the UTF-8 body.

:class:`FrameParser` is a pure state machine fed with bytes, so every malformed case is testable on
in-memory data. It resynchronises after garbage on the last ``Content-Length`` header it has seen, and it never hands
back a message twice: after a bad header the parser drops that header block and the buffer moves on (a
known failure of one popular reader is to re-dispatch the previous message instead).

A decoded message is safe for every layer above: nesting is bounded (deep arrays would exhaust the
interpreter's recursion anywhere later), integers too long for Python's digit limit are a parse error,
and lone UTF-16 surrogates (``"\\ud800"`` escapes, which JSON allows and UTF-8 cannot encode) become
U+FFFD everywhere except in the top-level ``id``, which must come back exactly as it was sent. U+FFFD is
one UTF-16 code unit like the surrogate it replaces, so document positions do not move.
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
_RAW_HEADER = re.compile(rb"content-length[ \t]*:[ \t]*[0-9]+\r?\n", re.IGNORECASE)
_RAW_HEADER_SPAN = 64  # a header cut by a read boundary is searched again from this far back
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 8 * 1024
MAX_LENGTH_DIGITS = 12  # far above MAX_BODY_BYTES; keeps int() away from Python's digit limit
MAX_NESTING = 64  # LSP messages nest a dozen levels at most


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
        self._scanned = 0  # how far into the buffer the pending body was searched for a raw header

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
        self._scanned = 0

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
        later = [m.start() for m in _HEADER_START.finditer(buf, start.end(), end.start())]
        if later:
            # Two Content-Length headers before one blank line: the first message lost its blank line
            # or its body. The last header seen is the one whose message is still to come.
            self._discard(later[-1])
            return Frame(error="header block without its blank line; resynchronised on the next header")
        headers, error = _parse_headers(bytes(buf[: end.start()]))
        if error is not None:
            self._discard(end.end())
            return Frame(error=error)
        length = headers
        if length > self._max_body:
            self._discard(end.end())
            return Frame(error=f"Content-Length {length} exceeds the limit of {self._max_body} bytes")
        body_start = end.end()
        body_end = min(len(buf), body_start + length)
        # A header line inside the body means this body was cut short: JSON text can hold neither a raw
        # "Content-Length:" outside a string nor a raw line break inside one. Resynchronise on it now
        # rather than wait for bytes that belong to the next message (or never come).
        lo = max(body_start, self._scanned - _RAW_HEADER_SPAN)
        # Editors send bodies without raw line breaks, so a memchr for one nearly always ends the search.
        inner = _RAW_HEADER.search(buf, lo, body_end) if buf.find(b"\n", lo, body_end) >= 0 else None
        if inner is not None and inner.end() <= body_end:
            self._discard(inner.start())
            return Frame(error="message body cut short by the next message's header")
        if body_end < body_start + length:
            self._scanned = body_end
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
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            self._give_back_header(body)
            return Frame(error="message body is not valid UTF-8")
        try:
            message = json.loads(text)
        except json.JSONDecodeError as exc:
            self._give_back_header(body)
            return Frame(error=f"message body is not valid JSON: {exc.msg} at byte {exc.pos}")
        except ValueError as exc:  # an integer past Python's digit limit
            return Frame(error=f"message body is not usable JSON: {exc}")
        except RecursionError:
            return Frame(error=f"message nests deeper than {MAX_NESTING} levels")
        try:
            return Frame(message=_safe(message, scrub=_SURROGATE_ESCAPE.search(body) is not None))
        except _TooDeep:
            return Frame(error=f"message nests deeper than {MAX_NESTING} levels")

    def _give_back_header(self, body: bytes) -> None:
        """A Content-Length that was too long swallows the start of the next message's header: give those
        bytes back so the next message still arrives. A whole header line inside the body was found before
        the body was taken (``_RAW_HEADER``), so only one cut off by the body's end is left to find: it lies in
        the last few bytes, and a tail that could begin ``Content-Length:`` counts too."""
        lowered = body.lower()
        for at in range(max(1, len(body) - _RAW_HEADER_SPAN), len(body)):
            if lowered[at] != ord("c"):
                continue
            tail = lowered[at : at + len(_HEADER_NAME)]
            if _HEADER_START.match(lowered, at) or (len(tail) < len(_HEADER_NAME) and _HEADER_NAME.startswith(tail)):
                self._buffer[:0] = body[at:]
                return


_HEADER_NAME = b"content-length:"


class _TooDeep(Exception):
    pass


def _safe(message: Any, *, scrub: bool) -> Any:
    """``message`` checked for nesting, with lone surrogates replaced when ``scrub`` (see the module doc).

    Iterative, so that a deep message cannot exhaust the recursion it is being checked for."""
    if not isinstance(message, dict | list):
        return message
    stack: list[tuple[Any, int]] = [(message, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise _TooDeep
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if scrub and isinstance(value, str) and not (node is message and key == "id"):
                    node[key] = _without_lone_surrogates(value)
                elif isinstance(value, dict | list):
                    stack.append((value, depth + 1))
                if scrub and isinstance(key, str) and _has_surrogate(key):
                    node[_without_lone_surrogates(key)] = node.pop(key)
        else:
            for index, value in enumerate(node):
                if scrub and isinstance(value, str):
                    node[index] = _without_lone_surrogates(value)
                elif isinstance(value, dict | list):
                    stack.append((value, depth + 1))
    return message


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _without_lone_surrogates(text: str) -> str:
    """``text`` with each unpaired surrogate replaced by U+FFFD (a pair that arrived as two escapes is joined)."""
    if not _has_surrogate(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


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
            if len(text) > MAX_LENGTH_DIGITS:
                return 0, f"Content-Length of {len(text)} digits exceeds any message this server accepts"
            length = int(text)
    if length is None:
        return 0, "missing Content-Length header"
    return length, None


def encode_message(message: Any) -> bytes:
    """The framed bytes for ``message``: header with the body's length in bytes, then the UTF-8 body."""
    try:
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (an id echoed back as the client sent it) has no UTF-8 form; JSON's \u escape
        # carries it exactly.
        body = json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii")
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
