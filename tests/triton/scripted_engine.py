"""A deterministic engine the Triton model can load in place of the embedded one.

Fault-injection tests need generation whose text and timing they control exactly; the model loads this
file through its ``engine`` parameter (``/path/scripted_engine.py:ScriptedEngine``). A tenant directory
(the engine's ``workspace``) may script it: ``middle.txt`` replaces the proposed middle, ``delay_s.txt``
makes generation take that long, and a cancelled generation leaves ``cancelled.txt`` behind so a test can
see that the client's cancellation reached the engine.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from splice.engines.base import Candidate, GenerationRequest, RemoteEngine

MIDDLE = "total = first + second\n    return total\n"


class ScriptedEngine(RemoteEngine):
    """Proposes :data:`MIDDLE`, or what the workspace scripts."""

    name = "scripted"

    def __init__(self, workspace: Path | None = None) -> None:
        self._workspace = workspace
        self._middle = self._read("middle.txt") or MIDDLE
        self._delay_s = float(self._read("delay_s.txt") or 0)

    def _read(self, name: str) -> str | None:
        path = self._workspace / name if self._workspace else None
        return path.read_text() if path and path.exists() else None

    async def start(self) -> None:
        return None

    def wait_until_ready(self, timeout: float) -> bool:
        return True

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        try:
            await asyncio.sleep(self._delay_s)
        except asyncio.CancelledError:
            if self._workspace:
                (self._workspace / "cancelled.txt").write_text("cancelled")
            raise
        return [Candidate(text=self._middle, score=-1.0, origin=self.name)]

    async def aclose(self) -> None:
        return None
