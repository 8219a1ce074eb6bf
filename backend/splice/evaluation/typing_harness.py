"""One typing evaluation from repositories to report: sample regions, mask, replay each through a server.

The hidden-line benchmark's machinery is reused as it is: the same sampler (block bodies and statements),
the same masked mirrors (every region cut out before any index sees the repository), the same ablation rows
and the same ``splice serve`` start-up (:class:`~splice.evaluation.stdio.StdioRunner`: the masked repository
as the workspace, its indexes awaited before the first keystroke). One server per repository and row; an
untimed request first, as in the hidden-line runs. :meth:`TypingEvaluation.report` is valid at any moment,
so an interrupted run keeps the tasks it finished.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from splice.config import from_environment
from splice.engines.factory import configured_engine
from splice.evaluation.ablations import DEFAULT_OPEN_FILES, ablation_named, editor_view
from splice.evaluation.bootstrap import RESAMPLES
from splice.evaluation.guard import RequestGuard
from splice.evaluation.isolation import build_mirrors
from splice.evaluation.repository import unavailable_reason
from splice.evaluation.sampling import Sample, Task
from splice.evaluation.session import SessionSetup
from splice.evaluation.stdio import StdioRunner
from splice.evaluation.typing import Replay, replay_repository, typing_sample
from splice.evaluation.typing_report import TypingReport

DEFAULT_ABLATIONS = ("retrieval",)
# The pace of a person typing: an answer slower than this after its keystroke arrives after the next one.
LATE_MS = 150.0


@dataclass(frozen=True, kw_only=True)
class TypingOptions:
    """How to replay. ``ablations`` are rows of the hidden-line benchmark; the default is the row with the
    repository indexed (everything but a tenant artifact)."""

    tasks: int = 40
    seed: int = 0
    ablations: tuple[str, ...] = DEFAULT_ABLATIONS
    open_files: int = DEFAULT_OPEN_FILES
    index_timeout: float = 600.0
    resamples: int = RESAMPLES
    tenant: str = "eval"
    late_ms: float = LATE_MS
    workdir: Path | None = None


class TypingEvaluation:
    """A typing run in progress."""

    def __init__(self, repos: Sequence[Path], options: TypingOptions, *,
                 on_progress: Callable[[int, int], None] | None = None, command: list[str] | None = None) -> None:
        self.repos = [Path(r) for r in repos]
        self.options = options
        self.on_progress = on_progress
        self.command = command
        self.ablations = [ablation_named(name) for name in options.ablations]
        self.replays: dict[str, dict[str, Replay]] = {a.name: {} for a in self.ablations}
        self.sample: Sample | None = None
        self.problems: list[str] = []

    @property
    def tasks(self) -> list[Task]:
        return self.sample.tasks if self.sample is not None else []

    def prepare(self) -> Sample:
        """Sample the regions."""
        self.sample = typing_sample(self.repos, self.options.tasks, self.options.seed)
        self.problems = list(self.sample.problems)
        return self.sample

    async def run(self) -> TypingReport:
        """Replay every region under every row; the finished report."""
        sample = self.sample or self.prepare()
        if not sample.tasks:
            return self.report()
        workdir = self.options.workdir or Path(tempfile.mkdtemp(prefix="splice-typing-"))
        runner = StdioRunner(command=self.command, index_timeout=self.options.index_timeout)
        total = len(sample.tasks) * len(self.ablations)
        try:
            mirrors = build_mirrors(sample.files, sample.tasks, workdir)
            for repo, mirror in mirrors.items():
                tasks = [t for t in sample.tasks if t.repo == repo]
                # The server checks every engine request against the regions hidden from this mirror.
                guard = RequestGuard.for_mirror(mirror, tasks)
                guard_file = mirror.root.parent / f"{mirror.root.name}-guard.json"
                guard.write(guard_file)
                setup = SessionSetup(guard=guard, guard_file=guard_file, tenant=self.options.tenant)
                for ablation in self.ablations:
                    if (reason := unavailable_reason(ablation, [repo], {})) is not None:
                        self.problems.append(f"{ablation.name}: unavailable ({reason})")
                        continue
                    session = await runner.open(mirror, ablation, setup)
                    try:
                        # Untimed: the first request loads the tokenizer, grammars and caches.
                        await session.warm_up(editor_view(tasks[0], ablation, mirror,
                                                          open_files=self.options.open_files),
                                              self.options.index_timeout)
                        await replay_repository(
                            session.server, mirror, ablation, tasks, open_files=self.options.open_files,
                            late_ms=self.options.late_ms, on_task=self._recorder(ablation.name, total),
                        )
                    finally:
                        await session.close()
        finally:
            if self.options.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
        return self.report()

    def _recorder(self, ablation: str, total: int) -> Callable[[Replay], None]:
        def record(replay: Replay) -> None:
            self.replays[ablation][replay.task_id] = replay
            if self.on_progress is not None:
                self.on_progress(sum(len(r) for r in self.replays.values()), total)
        return record

    def report(self, *, partial: bool = False) -> TypingReport:
        """The report of what has completed so far."""
        # The servers read their settings from SPLICE_* variables, as this does.
        served = from_environment()[0]
        settings = {"via": "stdio", "open_files": self.options.open_files, "late_ms": self.options.late_ms,
                    "trigger": "automatic after every keystroke", "engine": configured_engine(served),
                    "adapter": served.neural_adapter or None, "min_confidence": served.min_confidence}
        return TypingReport(tasks=self.tasks, ablations=[a.name for a in self.ablations], replays=self.replays,
                            problems=self.problems, settings=settings, partial=partial, seed=self.options.seed,
                            resamples=self.options.resamples)
