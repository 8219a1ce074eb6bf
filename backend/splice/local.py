"""The server's pipeline outside the server: for ``splice complete``, replay and the in-process evaluation.

:class:`LocalPipeline` assembles what ``splice serve`` assembles for an editor (the engine from settings
with its workspace index, the open documents told to the engine and the open-documents source, the
repository and tenant sources) through the same :func:`splice.pipeline.build_pipeline`, so a suggestion
printed on the command line or scored by the evaluation is the one an editor would have shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from splice.config import Settings
from splice.context.sources import OpenDocumentSource, SnippetSource
from splice.context.tokens import TokenCounter
from splice.engines.base import Engine
from splice.engines.factory import create_engine
from splice.open_documents import CountedDocuments, EngineDocuments, ForgetOnClose, OpenDocuments
from splice.pipeline import CompletionPipeline, build_pipeline

if TYPE_CHECKING:
    from splice.retrieval.live import Retrieval


@dataclass
class LocalPipeline:
    """An engine, its open documents and the pipeline over them; :meth:`aclose` releases all of it."""

    settings: Settings
    engine: Engine
    documents: OpenDocuments
    pipeline: CompletionPipeline
    indexes: tuple[Retrieval, ...] = ()

    async def aclose(self) -> None:
        """Close the documents, the engine and the indexes."""
        self.documents.close_all()
        await self.engine.aclose()
        for index in self.indexes:
            index.close()


async def open_local(settings: Settings, workspace: Path | None, *, index_timeout: float,
                     repository: Retrieval | None = None, artifact: Retrieval | None = None,
                     counter: TokenCounter | None = None, engine: Engine | None = None) -> LocalPipeline:
    """The pipeline for ``workspace`` under ``settings``: the engine started and its index ready (or
    ``index_timeout`` passed, which raises ``TimeoutError``), with ``repository`` (the workspace's index)
    and ``artifact`` (a tenant's) as snippet sources when given; both are closed with the pipeline."""
    from splice.retrieval.source import RepositorySource  # noqa: PLC0415 - only with an index

    engine = engine if engine is not None else create_engine(settings, workspace)
    await engine.start()
    if not engine.wait_until_ready(index_timeout):
        await engine.aclose()
        raise TimeoutError(f"the engine's index of {workspace} was not ready after {index_timeout:.0f} s")
    open_files = OpenDocumentSource(settings.snippet_window_lines)
    counter = counter or TokenCounter.load()
    sources: list[SnippetSource] = []
    for index, name in ((repository, "retrieval"), (artifact, "customized")):
        if index is not None:
            sources.append(RepositorySource(_constant(index), lambda: settings, name=name,
                                            counter=lambda: counter))
    sources.append(open_files)
    pipeline = build_pipeline(settings, engine, counter, sources=sources)
    documents = OpenDocuments((EngineDocuments(lambda: engine), open_files, CountedDocuments(lambda: counter),
                               ForgetOnClose(lambda: pipeline.typeahead)))
    indexes = tuple(index for index in (repository, artifact) if index is not None)
    return LocalPipeline(settings, engine, documents, pipeline, indexes)


def _constant(index: Retrieval) -> Callable[[], Retrieval | None]:
    return lambda: index
