"""The leakage guard at the engine's door: every request of an evaluation is checked before it is answered.

The harness checks what it hands the pipeline (:func:`splice.evaluation.isolation.check_isolation`), but a
server also retrieves for itself: its snippet sources and its index could hold a hidden line the harness
never saw. :class:`GuardedEngine` wraps the engine of an evaluation run, in process and inside
``splice serve`` alike (``evaluationGuard`` names the run's guard file), and refuses any
:class:`GenerationRequest` whose snippets carry a hidden line of the file they are attributed to that the
masked copy of that file does not hold elsewhere. A refusal raises :class:`LeakageError`, which stops the
run: a figure computed with the answer in view is worse than none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from splice.engines.base import Candidate, Engine, GenerationRequest
from splice.evaluation.isolation import LeakageError, Mirror, hidden_lines
from splice.evaluation.sampling import Task

LEAKAGE_MARK = "leakage guard:"  # starts every refusal, so a runner reading errors can stop the run


@dataclass(frozen=True)
class RequestGuard:
    """Per masked file (relative to ``root``), the hidden lines its masked copy no longer holds."""

    root: str
    revealing: dict[str, frozenset[str]]

    @classmethod
    def for_mirror(cls, mirror: Mirror, tasks: Iterable[Task]) -> RequestGuard:
        """The guard of ``tasks`` hidden from ``mirror``."""
        hidden: dict[str, set[str]] = {}
        for task in tasks:
            hidden.setdefault(task.path, set()).update(hidden_lines(task))
        revealing = {}
        for path, lines in hidden.items():
            masked = {line.strip() for line in mirror.texts.get(path, "").split("\n")}
            revealing[os.path.normpath(path)] = frozenset(lines - masked)
        return cls(str(mirror.root), revealing)

    def write(self, path: Path) -> None:
        """Save for a server process (``evaluationGuard``)."""
        data = {"root": self.root, "revealing": {k: sorted(v) for k, v in self.revealing.items()}}
        path.write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> RequestGuard:
        """What :meth:`write` saved; ValueError when it is not a guard file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(str(data["root"]), {str(k): frozenset(v) for k, v in data["revealing"].items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path} is not an evaluation guard file: {exc}") from exc

    def _relative(self, path: str) -> str:
        if os.path.isabs(path):
            path = os.path.relpath(path, self.root)
        return os.path.normpath(path)

    def check(self, request: GenerationRequest) -> None:
        """Raise :class:`LeakageError` when a snippet of ``request`` reveals a hidden line of its own file."""
        for snippet in request.prompt.snippets:
            revealing = self.revealing.get(self._relative(snippet.path))
            if not revealing:
                continue
            shown = {line.strip() for line in snippet.text.split("\n")}
            if revealing & shown:
                raise LeakageError(f"{LEAKAGE_MARK} a {snippet.source} snippet of {snippet.path} holds a hidden line")


class GuardedEngine:
    """An :class:`Engine` that checks every request with a :class:`RequestGuard` first."""

    def __init__(self, engine: Engine, guard: RequestGuard) -> None:
        self.engine = engine
        self.guard = guard
        self.name = engine.name

    @classmethod
    def from_file(cls, engine: Engine, path: Path) -> GuardedEngine:
        """``engine`` guarded by the guard file at ``path``."""
        return cls(engine, RequestGuard.read(path))

    async def start(self) -> None:
        """Start the guarded engine."""
        await self.engine.start()

    def wait_until_ready(self, timeout: float) -> bool:
        """Whether the guarded engine is ready."""
        return self.engine.wait_until_ready(timeout)

    def document_changed(self, path: str, text: str) -> None:
        """Pass the document on."""
        self.engine.document_changed(path, text)

    def document_closed(self, path: str) -> None:
        """Pass the close on."""
        self.engine.document_closed(path)

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        """The engine's candidates, once the guard has passed ``request``."""
        self.guard.check(request)
        return await self.engine.generate(request)

    def answered_by(self) -> tuple[str, str]:
        """The guarded engine's answer."""
        return self.engine.answered_by()

    async def aclose(self) -> None:
        """Close the guarded engine."""
        await self.engine.aclose()
