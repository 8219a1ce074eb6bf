"""Running tasks through :class:`~splice.pipeline.CompletionPipeline` in this process.

Each session builds what ``splice serve`` would build for the simulated editor: the engine from settings
(the embedded engine, or Triton with the embedded one as fallback), with the masked repository as its
workspace only when the ablation includes the repository, and one prompt builder. Per task it tells the
engine about the open documents exactly as the server's text synchronisation does (the target's live text
overrides its disk copy, then the neighbours), asks the pipeline, and forgets the documents again so one
task's files never linger into the next. The time measured is the whole ``complete`` call.
"""

from __future__ import annotations

import dataclasses
import time

from splice.config import Settings
from splice.context.builder import PromptBuilder
from splice.context.tokens import TokenCounter
from splice.engines.base import Engine
from splice.engines.embedded import EmbeddedEngine
from splice.engines.factory import create_engine, embedded_of
from splice.errors import EngineError
from splice.evaluation.ablations import Ablation, EditorView
from splice.evaluation.isolation import Mirror
from splice.evaluation.sampling import Task
from splice.evaluation.session import Outcome
from splice.pipeline import CompletionInput, CompletionPipeline


class InProcessSession:
    """One engine and pipeline for one masked repository and ablation."""

    def __init__(self, mirror: Mirror, engine: Engine, pipeline: CompletionPipeline, *, workspace: bool) -> None:
        self.mirror = mirror
        self.workspace = workspace
        self.engine = engine
        self.pipeline = pipeline
        self._embedded: EmbeddedEngine | None = embedded_of(engine)

    def _display_path(self, task: Task) -> str:
        """The path the server would put in the request: relative to the workspace root when there is one,
        absolute otherwise (``splice.server.params.display_path``), so both runners ask the same thing."""
        return task.path if self.workspace else str(self.mirror.path_of(task))

    async def complete(self, view: EditorView) -> Outcome:
        """The pipeline's first suggestion for ``view``."""
        task = view.task
        target = str(self.mirror.path_of(task))
        opened = [target, *(doc.key for doc in view.others)]
        if self._embedded is not None:
            self._embedded.document_changed(target, view.document)
            for doc in view.others:
                self._embedded.document_changed(doc.key, doc.text)
        request = CompletionInput(
            path=self._display_path(task), language=task.language, prefix=view.prefix, suffix=view.suffix, invoked=True,
            others=view.others, extra_snippets=view.snippets, repo=self.mirror.source.name, document_path=target,
        )
        started = time.perf_counter()
        try:
            result = await self.pipeline.complete(request)
        except EngineError as exc:
            return Outcome(task_id=task.id, prediction="", latency_ms=(time.perf_counter() - started) * 1000,
                           error=exc.message)
        finally:
            if self._embedded is not None:
                for path in opened:
                    self._embedded.document_closed(path)
        elapsed = (time.perf_counter() - started) * 1000
        prediction = result.proposals[0].text if result.proposals else ""
        return Outcome(task_id=task.id, prediction=prediction, latency_ms=elapsed, sources=result.sources,
                       error=result.skipped)

    async def close(self) -> None:
        """Release the engine."""
        await self.engine.aclose()


class InProcessRunner:
    """Opens in-process sessions from one set of settings."""

    name = "inprocess"
    takes_snippets = True

    def __init__(self, settings: Settings, *, index_timeout: float = 600.0, tenant: str = "") -> None:
        self.settings = settings
        self.index_timeout = index_timeout
        self.tenant = tenant
        self._counter: TokenCounter | None = None

    async def open(self, mirror: Mirror, ablation: Ablation) -> InProcessSession:
        """An engine (indexing ``mirror`` when the ablation includes the repository) and a pipeline."""
        settings = self.settings
        if ablation.customized and self.tenant:
            settings = dataclasses.replace(settings, tenant=self.tenant, artifacts_dir=str(mirror.artifacts_root))
        engine = create_engine(settings, mirror.root if ablation.workspace else None)
        embedded = embedded_of(engine)
        if embedded is not None:
            await embedded.start()
            if not embedded.wait_until_ready(self.index_timeout):
                raise TimeoutError(f"the engine's index of {mirror.source} was not ready after "
                                   f"{self.index_timeout:.0f} s")
        if self._counter is None:
            self._counter = TokenCounter.load()
        pipeline = CompletionPipeline(settings, PromptBuilder(settings, self._counter), engine)
        return InProcessSession(mirror, engine, pipeline, workspace=ablation.workspace)
