"""One evaluation from repositories to report: sample, mask, run every ablation on every task, score.

Work goes repository by repository and, inside one, task by task through every ablation, so that an
interrupted run has paired results for every task it finished; :meth:`Evaluation.report` builds a report
from whatever is complete at any moment. Sessions (an engine with its index, or a server process) are
opened once per repository and ablation and closed when the repository is done. Every request passes the
leakage guard first.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from splice.config import Settings
from splice.engines.factory import configured_engine
from splice.evaluation.ablations import (
    ABLATION_NAMES,
    DEFAULT_OPEN_FILES,
    Ablation,
    EditorView,
    ablation_named,
    editor_view,
)
from splice.evaluation.bootstrap import RESAMPLES
from splice.evaluation.guard import RequestGuard
from splice.evaluation.isolation import Mirror, build_mirrors, check_isolation
from splice.evaluation.report import Report
from splice.evaluation.repository import build_artifact, unavailable_reason
from splice.evaluation.sampling import Sample, Task, sample_tasks
from splice.evaluation.session import Outcome, Runner, Session, SessionSetup
from splice.retrieval.selection import Knobs

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class EvalOptions:
    """How to evaluate. ``ablations`` are names from :data:`ABLATION_NAMES`, run in that table's order."""

    tasks: int = 200
    seed: int = 0
    kind: str = "line"
    ablations: tuple[str, ...] = ABLATION_NAMES
    via: str = "inprocess"  # or "stdio": through a real `splice serve`
    open_files: int = DEFAULT_OPEN_FILES
    index_timeout: float = 600.0
    resamples: int = RESAMPLES
    tenant: str = "eval"
    workdir: Path | None = None  # where masked mirrors go; a temporary directory (removed after) if None
    # Evaluated repository (resolved path) -> the organization's other repositories, from which the
    # customized row's tenant artifact is built.
    siblings: dict[Path, tuple[Path, ...]] = dataclasses.field(default_factory=dict)
    artifact_knobs: Knobs | None = None  # the selection the artifact is built with (the guardrail's run)


def make_runner(options: EvalOptions, settings: Settings) -> Runner:
    """The runner ``options.via`` names."""
    if options.via == "stdio":
        from splice.evaluation.stdio import StdioRunner  # noqa: PLC0415 - only this runner needs subprocesses

        return StdioRunner(index_timeout=options.index_timeout)
    if options.via == "inprocess":
        from splice.evaluation.inprocess import InProcessRunner  # noqa: PLC0415 - loads the engine and tokenizer

        return InProcessRunner(settings, index_timeout=options.index_timeout)
    raise ValueError(f"unknown runner {options.via!r}; expected 'inprocess' or 'stdio'")


class Evaluation:
    """A run in progress; :meth:`report` is valid at any time, holding what has completed."""

    def __init__(
        self,
        repos: Sequence[Path],
        options: EvalOptions,
        *,
        settings: Settings | None = None,
        runner: Runner | None = None,
        sample: Sample | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.repos = [Path(r) for r in repos]
        self.options = options
        self.settings = settings or Settings()
        self.runner = runner
        self.sample = sample
        self.on_progress = on_progress
        self.ablations: list[Ablation] = [ablation_named(name) for name in ABLATION_NAMES
                                          if name in options.ablations]
        self.outcomes: dict[str, dict[str, Outcome]] = {a.name: {} for a in self.ablations}
        self.unavailable: dict[str, str] = {}
        self.problems: list[str] = []
        self._prepared = False

    @property
    def tasks(self) -> list[Task]:
        return self.sample.tasks if self.sample is not None else []

    def prepare(self) -> Sample:
        """Sample the tasks (unless given) and note which ablations cannot run."""
        if self.sample is None:
            self.sample = sample_tasks(self.repos, self.options.tasks, self.options.seed, kind=self.options.kind)
        self.problems = list(self.sample.problems)
        self.unavailable.clear()
        self._prepared = True
        repos = sorted({task.repo for task in self.sample.tasks})
        for ablation in self.ablations:
            reason = unavailable_reason(ablation, repos, self.options.siblings)
            if reason is not None:
                self.unavailable[ablation.name] = reason
        return self.sample

    async def run(self) -> Report:
        """Run every available ablation on every task; the finished report."""
        sample = self.sample if self._prepared and self.sample is not None else self.prepare()
        if not sample.tasks:
            return self.report()
        runner = self.runner or make_runner(self.options, self.settings)
        workdir = self.options.workdir or Path(tempfile.mkdtemp(prefix="splice-eval-"))
        try:
            mirrors = build_mirrors(sample.files, sample.tasks, workdir)
            total = len(sample.tasks) * len([a for a in self.ablations if a.name not in self.unavailable])
            done = 0
            for repo, mirror in mirrors.items():
                tasks = [t for t in sample.tasks if t.repo == repo]
                done = await self._run_repository(runner, mirror, tasks, done, total)
        finally:
            if self.options.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
        return self.report()

    async def _run_repository(self, runner: Runner, mirror: Mirror, tasks: list[Task], done: int, total: int) -> int:
        guard = RequestGuard.for_mirror(mirror, tasks)
        guard_file = mirror.root.parent / f"{mirror.root.name}-guard.json"
        guard.write(guard_file)
        setup = SessionSetup(guard=guard, guard_file=guard_file, tenant=self.options.tenant)
        sessions: dict[str, Session] = {}
        sight = Sight(mirror, self.options.siblings.get(mirror.source.resolve(), ()))
        try:
            for ablation in self.ablations:
                if ablation.name in self.unavailable:
                    continue
                if ablation.customized and not self.options.siblings.get(mirror.source.resolve()):
                    continue  # this repository declares no other code of its organization
                if ablation.customized and setup.artifacts_root is None:
                    setup = dataclasses.replace(setup, artifacts_root=self._sibling_artifact(mirror))
                sessions[ablation.name] = session = await runner.open(mirror, ablation, setup)
                # One request before timing: the first loads the tokenizer, grammars and caches, a cost an
                # editor pays once per session rather than per keystroke.
                await session.warm_up(editor_view(tasks[0], ablation, mirror, open_files=self.options.open_files),
                                      self.options.index_timeout)
            for task in tasks:
                for ablation in self.ablations:
                    if ablation.name not in sessions:
                        continue
                    view = editor_view(task, ablation, mirror, open_files=self.options.open_files)
                    check_isolation(task, mirror, document=view.document, others=view.others)
                    outcome = await sessions[ablation.name].complete(view)
                    in_view = sight.sees(task, ablation, view)
                    self.outcomes[ablation.name][task.id] = dataclasses.replace(outcome, in_view=in_view)
                    done += 1
                    if self.on_progress is not None:
                        self.on_progress(done, total)
        finally:
            for session in sessions.values():
                await session.close()
        return done

    def _sibling_artifact(self, mirror: Mirror) -> Path:
        """Build the tenant artifact from the repositories ``mirror``'s source declares as its siblings."""
        siblings = self.options.siblings.get(mirror.source.resolve(), ())
        root = mirror.artifacts_root
        build_artifact(list(siblings), tenant=self.options.tenant, artifacts_root=root,
                       knobs=self.options.artifact_knobs or Knobs())
        return root

    def report(self, *, partial: bool = False) -> Report:
        """The report of what has completed so far."""
        settings = {
            "engine": configured_engine(self.settings), "via": self.options.via,
            "kind": self.options.kind, "open_files": self.options.open_files,
            "context_tokens": self.settings.context_tokens, "max_snippets": self.settings.max_snippets,
        }
        return Report(
            tasks=self.tasks, ablations=[a.name for a in self.ablations], outcomes=self.outcomes,
            unavailable=self.unavailable, problems=self.problems, settings=settings, partial=partial,
            seed=self.options.seed, resamples=self.options.resamples,
        )


async def evaluate(
    repos: Sequence[Path],
    options: EvalOptions | None = None,
    *,
    settings: Settings | None = None,
    on_progress: ProgressCallback | None = None,
) -> Report:
    """Evaluate ``repos`` with ``options`` (defaults: 200 line tasks, seed 0, every ablation, in process)."""
    return await Evaluation(repos, options or EvalOptions(), settings=settings, on_progress=on_progress).run()


async def run_ablation(
    name: str,
    tasks: Sequence[Task],
    files: dict[Path, dict[str, str]],
    *,
    options: EvalOptions | None = None,
    settings: Settings | None = None,
) -> Report:
    """One ablation on given ``tasks`` (from :func:`sample_tasks`, with its ``files``)."""
    base = options or EvalOptions()
    chosen = dataclasses.replace(base, ablations=(name,))
    sample = Sample(tasks=list(tasks), files=files)
    return await Evaluation([], chosen, settings=settings, sample=sample).run()


class Sight:
    """What each row lets the engine see, as sets of stripped lines: for the copy ceiling."""

    def __init__(self, mirror: Mirror, siblings: Sequence[Path]) -> None:
        self._mirror = mirror
        self._siblings = siblings
        self._repository: set[str] | None = None
        self._organization: set[str] | None = None

    def _lines_of_repository(self) -> set[str]:
        if self._repository is None:
            self._repository = {line.strip() for text in self._mirror.texts.values() for line in text.split("\n")}
        return self._repository

    def _lines_of_siblings(self) -> set[str]:
        if self._organization is None:
            from splice.workspace import workspace_files  # noqa: PLC0415 - only the customized row reads siblings

            self._organization = {line.strip() for root in self._siblings
                                  for file in workspace_files(root) for line in file.text.split("\n")}
        return self._organization

    def sees(self, task: Task, ablation: Ablation, view: EditorView) -> bool:
        """Whether the hidden text is somewhere the engine could copy it from: every non-blank line of it
        as a whole line, or, for a span starting mid-line, the span's text anywhere in a line."""
        wanted = {line.strip() for line in task.middle.split("\n")} - {""}
        if not wanted:
            return False
        visible = {line.strip() for line in view.document.split("\n")}
        for other in view.others:
            visible.update(line.strip() for line in other.text.split("\n"))
        sources = [visible]
        if ablation.workspace:
            sources.append(self._lines_of_repository())
        if ablation.customized:
            sources.append(self._lines_of_siblings())
        if task.kind == "span" and len(wanted) == 1:
            (fragment,) = wanted
            return any(fragment in line for lines in sources for line in lines)
        return wanted <= set().union(*sources)
