"""Values derived from an open document's text (a lexed corpus, snippet windows), built off the request path.

Another document's completion must never wait for this document's derived data: lexing a 2 MB file takes
seconds. A :class:`DerivedCache` builds small texts inline (cheaper than a thread hand-off) and larger ones
on one background thread, serving the previous value until the new one is ready; texts above
``max_chars`` (for open documents :data:`CONTEXT_SOURCE_MAX_CHARS`) get no value at all. Building starts
when a value is first asked for, not on every change: a document being typed in is no context source for
itself, and lexing it on each keystroke would keep a core busy for nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from splice.logging import get_logger

log = get_logger()

T = TypeVar("T")

INLINE_CHARS = 32 * 1024  # built on the caller's thread: at most a few milliseconds
# An open document larger than this is no context source for other documents: its derived data would cost
# tens of times its size in memory and seconds of CPU, for windows that rarely beat the nearer code.
# (Its copy on disk, if the workspace walk indexed one, still serves.)
CONTEXT_SOURCE_MAX_CHARS = 256 * 1024


class DerivedCache(Generic[T]):
    """Per-key values built from texts by ``build``; :meth:`get` never blocks on a large text."""

    def __init__(self, build: Callable[[str, str], T], *, max_chars: int, inline_chars: int = INLINE_CHARS,
                 name: str = "derived") -> None:
        self._build = build
        self.max_chars = max_chars
        self.inline_chars = inline_chars
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, T]] = {}  # key -> (the text it was built from, value)
        self._wanted: dict[str, str] = {}  # key -> the newest text asked for
        self._pool: ThreadPoolExecutor | None = None
        self._name = name

    def get(self, key: str, text: str) -> T | None:
        """The value for ``text``, or the one for an earlier text of ``key`` while the new one builds in the
        background; None when there is none yet or ``text`` is too large to be a context source."""
        if len(text) > self.max_chars:
            self.forget(key)
            return None
        with self._lock:
            held = self._values.get(key)
            if held is not None and held[0] is text:
                return held[1]
            if len(text) > self.inline_chars:
                if self._wanted.get(key) is not text:
                    self._wanted[key] = text
                    self._executor().submit(self._build_later, key, text)
                return held[1] if held is not None else None
        value = self._build(key, text)
        with self._lock:
            self._values[key] = (text, value)
        return value

    def forget(self, key: str) -> None:
        """Drop ``key``'s value (a closed document)."""
        with self._lock:
            self._values.pop(key, None)
            self._wanted.pop(key, None)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        return self._pool

    def _build_later(self, key: str, text: str) -> None:
        with self._lock:
            if self._wanted.get(key) is not text:
                return  # a newer text (or a close) came in while this one waited
        try:
            value = self._build(key, text)
        except Exception:  # a failure costs this document as a context source, never the worker
            log.exception("derived.build_failed", cache=self._name, key=key)
            return
        with self._lock:
            if self._wanted.get(key) is text:
                self._values[key] = (text, value)
                del self._wanted[key]
