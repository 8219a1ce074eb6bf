"""The contract between the harness and whatever answers its requests: in process, or a real server.

A :class:`Runner` opens one :class:`Session` per repository and ablation (an engine with its index, or a
``splice serve`` process), and the session answers one :class:`EditorView` at a time with an
:class:`Outcome`. The harness never knows which runner it drives, so both measure identical tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from splice.evaluation.ablations import Ablation, EditorView
from splice.evaluation.guard import RequestGuard
from splice.evaluation.isolation import Mirror

# Retrieval waits this long in an evaluation (the server's default is 40 ms), so that figures do not
# depend on how loaded the machine is; the latency reported still includes the search.
EVALUATION_RETRIEVAL_DEADLINE_MS = 1000


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """One task's answer under one ablation: the first suggestion ("" for none) and the time it took."""

    task_id: str
    prediction: str
    latency_ms: float
    sources: tuple[str, ...] = ()
    error: str | None = None
    # Every candidate the engine proposed, before post-processing (where the runner can see them): the
    # candidate oracle asks whether the right line was among them.
    candidates: tuple[str, ...] = ()
    # Whether the hidden text occurs verbatim in what this row lets the engine see (the copy ceiling).
    in_view: bool | None = None
    # Why the configured engine did not answer, when its fallback stood in ("" when it answered itself).
    fallback: str = ""


@dataclass(frozen=True, kw_only=True)
class SessionSetup:
    """What a session needs beyond the mirror: the run's leakage guard (also as a file, for a server
    process) and, for the customized row, where the tenant artifact built from the sibling repositories
    was published."""

    guard: RequestGuard
    guard_file: Path
    tenant: str = ""
    artifacts_root: Path | None = None


class Session(Protocol):
    """Answers tasks of one repository under one ablation."""

    async def complete(self, view: EditorView) -> Outcome:
        """The suggestion for ``view``'s cursor."""
        ...

    async def warm_up(self, view: EditorView, timeout: float) -> None:
        """An untimed request first (it loads what the first request loads), and the configured engine
        ready to answer before any timed one, so that no figure measures its fallback by mistake."""
        ...

    async def close(self) -> None:
        """Release the engine or stop the server."""
        ...


class Runner(Protocol):
    """Opens sessions; ``name`` says how requests travel (``inprocess`` or ``stdio``). Either way the
    session's pipeline finds its own snippets, with the sources the ablation includes."""

    name: str

    async def open(self, mirror: Mirror, ablation: Ablation, setup: SessionSetup) -> Session:
        """A ready session for the masked repository ``mirror`` under ``ablation``."""
        ...
