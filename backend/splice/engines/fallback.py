"""Primary-with-fallback engine: serve from Triton when it answers, from the embedded engine when not.

It owns the availability story the editor sees. Each request tries the primary within the primary's own
deadline; on any :class:`EngineError` the same request goes to the fallback. Transitions are reported
through ``on_status(status, detail)`` (the server turns them into a ``splice/status`` notification):

- ``ready``: the primary answered;
- ``degraded``: the primary failed and the fallback is answering (``detail`` says why);
- ``offline``: both failed.

Recovery needs no user action: while degraded, a background task probes the primary (through its circuit
breaker's half-open state when it has one) every ``probe_interval_s`` and reports ``ready`` when it is back;
a request that reaches the primary through a half-open breaker recovers it as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from splice.engines.base import Candidate, Engine, GenerationRequest
from splice.errors import EngineError
from splice.logging import get_logger

log = get_logger()

StatusCallback = Callable[[str, str | None], None]

READY = "ready"
DEGRADED = "degraded"
OFFLINE = "offline"


@runtime_checkable
class Probeable(Protocol):
    """A primary that can say, cheaply and without generating, whether it is serving again."""

    async def probe(self) -> bool:
        """True when the engine can serve requests."""
        ...


@runtime_checkable
class Starting(Protocol):
    """A primary with a start-up phase (a model loading) during which it cannot serve yet."""

    def starting(self) -> str | None:
        """Why the engine cannot serve yet, or None once its start-up is over (however it ended)."""
        ...


class FallbackEngine:
    """An :class:`Engine` that prefers ``primary`` and falls back to ``fallback``."""

    name = "fallback"

    def __init__(
        self,
        primary: Engine,
        fallback: Engine,
        on_status: StatusCallback,
        *,
        probe_interval_s: float = 2.0,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self._on_status = on_status
        self._probe_interval_s = probe_interval_s
        self._status: str | None = None
        self._probe_task: asyncio.Task[None] | None = None
        # Which engine answered the latest request, and why the primary did not (""), for logs and
        # ``splice complete --explain``; each candidate also carries them as ``origin`` and ``fallback``.
        self.last_origin = primary.name
        self.last_fallback = ""

    @property
    def status(self) -> str | None:
        return self._status

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        """The primary's candidates, or the fallback's when the primary fails."""
        try:
            candidates = await self.primary.generate(request)
        except EngineError as primary_error:
            message = primary_error.message
            reason = message if message.startswith(f"{self.primary.name}:") else f"{self.primary.name}: {message}"
            try:
                candidates = await self.fallback.generate(request)
            except EngineError as fallback_error:
                self.last_origin, self.last_fallback = self.fallback.name, reason
                self._report(OFFLINE, f"{reason}; {self.fallback.name}: {fallback_error.message}")
                raise
            self._report(DEGRADED, reason)
            self.last_origin, self.last_fallback = self.fallback.name, reason
            return [dataclasses.replace(c, origin=self.fallback.name, fallback=reason) for c in candidates]
        self._report(READY, None)
        self.last_origin, self.last_fallback = self.primary.name, ""
        return [dataclasses.replace(c, origin=self.primary.name) for c in candidates]

    def _report(self, status: str, detail: str | None) -> None:
        if status != READY:
            self._start_probing()
        if status == self._status:
            return
        self._status = status
        log.info("engine_status", status=status, detail=detail)
        try:
            self._on_status(status, detail)
        except Exception:  # a failing listener must not fail the completion that triggered it
            log.exception("engine_status_callback_failed", status=status)

    def _start_probing(self) -> None:
        if not isinstance(self.primary, Probeable):
            return
        if self._probe_task is None or self._probe_task.done():
            self._probe_task = asyncio.get_running_loop().create_task(self._probe_until_ready())

    async def _probe_until_ready(self) -> None:
        assert isinstance(self.primary, Probeable)
        while self._status != READY:
            await asyncio.sleep(self._probe_interval_s)
            try:
                back = await self.primary.probe()
            except Exception:  # a probe that breaks is a failed probe, never a crash of the loop
                log.exception("engine_probe_failed")
                back = False
            if back and self._status != READY:
                self._report(READY, None)

    async def start(self) -> None:
        """Start both engines: the fallback's index must be ready before the primary first fails.

        A primary that is still starting is reported ``degraded`` at once rather than at the first request,
        so the editor (and an evaluation, which must not measure the fallback by mistake) knows to wait; the
        probe then reports ``ready`` when it is in."""
        await self.primary.start()
        await self.fallback.start()
        if isinstance(self.primary, Starting) and (why := self.primary.starting()) is not None:
            self._report(DEGRADED, f"{self.primary.name}: {why}")

    def wait_until_ready(self, timeout: float) -> bool:
        """Ready when the fallback is: the primary's availability is decided per request."""
        return self.primary.wait_until_ready(timeout) and self.fallback.wait_until_ready(timeout)

    def document_changed(self, path: str, text: str) -> None:
        """Both engines learn the document: the fallback may answer the next request."""
        self.primary.document_changed(path, text)
        self.fallback.document_changed(path, text)

    def document_closed(self, path: str) -> None:
        """Both engines forget the document's live text."""
        self.primary.document_closed(path)
        self.fallback.document_closed(path)

    def answered_by(self) -> tuple[str, str]:
        """The engine behind the latest answer, and why the primary did not give it."""
        return self.last_origin, self.last_fallback

    async def aclose(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
            self._probe_task = None
        await self.primary.aclose()
        await self.fallback.aclose()
