"""Running tasks through the server's pipeline in this process.

Each session is a :class:`splice.local.LocalPipeline`, the assembly ``splice complete`` uses and the same
builder the server uses: the engine from settings (with the masked repository as its workspace only when
the ablation includes it), the snippet sources the ablation includes (open documents; the masked
repository's index; the tenant artifact built from the sibling repositories), and the leakage guard on
every engine request. Per task the simulated editor opens the documents (the target's live text overrides
its disk copy), asks, and closes them again, so one task's files never linger into the next. The time
measured is the whole ``complete`` call, retrieval included.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from splice.config import Settings
from splice.context.tokens import TokenCounter
from splice.engines.factory import create_engine
from splice.errors import EngineError
from splice.evaluation.ablations import Ablation, EditorView
from splice.evaluation.guard import GuardedEngine
from splice.evaluation.isolation import Mirror
from splice.evaluation.sampling import Task
from splice.evaluation.session import EVALUATION_RETRIEVAL_DEADLINE_MS, Outcome, SessionSetup
from splice.local import LocalPipeline, open_local
from splice.open_documents import OpenDocument
from splice.pipeline import CompletionInput


class InProcessSession:
    """One local pipeline for one masked repository and ablation."""

    def __init__(self, mirror: Mirror, local: LocalPipeline, *, workspace: bool) -> None:
        self.mirror = mirror
        self.workspace = workspace
        self.local = local

    def _display_path(self, task: Task) -> str:
        """The path the server would put in the request: relative to the workspace root when there is one,
        absolute otherwise (``splice.server.params.display_path``), so both runners ask the same thing."""
        return task.path if self.workspace else str(self.mirror.path_of(task))

    async def complete(self, view: EditorView) -> Outcome:
        """The pipeline's first suggestion for ``view``."""
        task = view.task
        target = str(self.mirror.path_of(task))
        documents = self.local.documents
        for doc in view.others:
            documents.update(OpenDocument(key=doc.key, path=doc.key, shown=doc.path, version=1, text=doc.text))
        documents.update(OpenDocument(key=target, path=target, shown=self._display_path(task), version=1,
                                      text=view.document))
        request = CompletionInput(
            path=self._display_path(task), language=task.language, prefix=view.prefix, suffix=view.suffix,
            invoked=True, repo=self.mirror.source.name, document_path=target, key=target,
        )
        started = time.perf_counter()
        try:
            result = await self.local.pipeline.complete(request)
        except EngineError as exc:
            return Outcome(task_id=task.id, prediction="", latency_ms=(time.perf_counter() - started) * 1000,
                           error=exc.message)
        finally:
            documents.close_all()
        elapsed = (time.perf_counter() - started) * 1000
        prediction = result.proposals[0].text if result.proposals else ""
        return Outcome(task_id=task.id, prediction=prediction, latency_ms=elapsed, sources=result.sources,
                       error=result.skipped, candidates=result.candidates,
                       fallback=result.fallback)

    async def warm_up(self, view: EditorView, timeout: float) -> None:
        """One untimed request (the first loads the tokenizer and grammars); :func:`open_local` already
        waited for the engine, its model included, so ``timeout`` has nothing left to bound."""
        await self.complete(view)

    async def close(self) -> None:
        """Release the engine and the indexes."""
        await self.local.aclose()


class InProcessRunner:
    """Opens in-process sessions from one set of settings."""

    name = "inprocess"

    def __init__(self, settings: Settings, *, index_timeout: float = 600.0) -> None:
        self.settings = dataclasses.replace(
            settings, retrieval_deadline_ms=max(settings.retrieval_deadline_ms, EVALUATION_RETRIEVAL_DEADLINE_MS))
        self.index_timeout = index_timeout
        self._counter: TokenCounter | None = None

    async def open(self, mirror: Mirror, ablation: Ablation, setup: SessionSetup) -> InProcessSession:
        """A guarded engine (indexing ``mirror`` when the ablation includes the repository), the sources the
        ablation includes, and the pipeline over them."""
        from splice.retrieval import index_repository  # noqa: PLC0415 - only the repository rows need it
        from splice.retrieval.live import Retrieval  # noqa: PLC0415 - as above

        settings = self.settings
        if ablation.customized:
            assert setup.artifacts_root is not None, "the customized row needs the siblings' artifact"
            settings = dataclasses.replace(settings, tenant=setup.tenant, artifacts_dir=str(setup.artifacts_root))
        workspace = mirror.root if ablation.workspace else None
        engine = GuardedEngine(create_engine(settings, workspace), setup.guard)
        repository = index_repository(mirror.root, index_path=_index_path(mirror)) if ablation.retrieval else None
        artifact = (Retrieval.for_tenant(Path(settings.artifacts_dir), setup.tenant)
                    if ablation.customized else None)
        if self._counter is None:
            self._counter = TokenCounter.load()
        local = await open_local(settings, workspace, index_timeout=self.index_timeout, repository=repository,
                                 artifact=artifact, counter=self._counter, engine=engine)
        return InProcessSession(mirror, local, workspace=ablation.workspace)


def _index_path(mirror: Mirror) -> Path:
    return mirror.index_dir / "inprocess.sqlite"
