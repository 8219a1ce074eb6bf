"""The contract between the harness and whatever answers its requests: in process, or a real server.

A :class:`Runner` opens one :class:`Session` per repository and ablation (an engine with its index, or a
``splice serve`` process), and the session answers one :class:`EditorView` at a time with an
:class:`Outcome`. The harness never knows which runner it drives, so both measure identical tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from splice.evaluation.ablations import Ablation, EditorView
from splice.evaluation.isolation import Mirror


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """One task's answer under one ablation: the first suggestion ("" for none) and the time it took."""

    task_id: str
    prediction: str
    latency_ms: float
    sources: tuple[str, ...] = ()
    error: str | None = None


class Session(Protocol):
    """Answers tasks of one repository under one ablation."""

    async def complete(self, view: EditorView) -> Outcome:
        """The suggestion for ``view``'s cursor."""
        ...

    async def close(self) -> None:
        """Release the engine or stop the server."""
        ...


class Runner(Protocol):
    """Opens sessions; ``name`` says how requests travel (``inprocess`` or ``stdio``). ``takes_snippets``
    says whether the harness must find repository snippets for it, or whether it retrieves for itself."""

    name: str
    takes_snippets: bool

    async def open(self, mirror: Mirror, ablation: Ablation) -> Session:
        """A ready session for the masked repository ``mirror`` under ``ablation``."""
        ...
