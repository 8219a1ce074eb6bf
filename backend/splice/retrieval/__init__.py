"""Repository retrieval and organization customization: index, chunks, lexical and semantic search, fusion,
per-tenant artifacts.

Modules, one job each: ``secrets`` (redaction), ``chunking`` (tree-sitter chunks), ``lexical`` (identifier
terms, FTS5 queries), ``index`` (the SQLite index), ``encoder`` and ``static_model`` (embeddings),
``semantic`` (vector search), ``fusion`` (reciprocal rank fusion), ``retriever`` (snippets for a cursor),
``selection`` (data-selection knobs), ``indexing`` (indexing runs), ``artifact`` (versioned per-tenant
store), ``customization`` (building and publishing an artifact), ``guardrail`` (the check before
publishing) and ``live`` (what the server holds open).

The three functions below are the small API the evaluation harness uses; the rest of Splice imports the
modules directly. Imports here are lazy so ``import splice.retrieval`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from splice.context.prompt import Snippet
    from splice.retrieval.live import Retrieval

SEARCH_DEADLINE_S = 1.0


def index_repository(root: Path, *, index_path: Path | None = None) -> Retrieval:
    """An up-to-date index of ``root`` (kept under ``index_path``, else beside the cached workspace indexes)."""
    from splice.retrieval.live import Retrieval  # noqa: PLC0415 - see module docstring

    path = index_path or Path(root).parent / f".{Path(root).name}.index.sqlite"
    retrieval = Retrieval.for_workspace(Path(root), path)
    retrieval.rebuild()
    return retrieval


def build_artifact(root: Path, *, tenant: str, artifacts_root: Path, **options: Any) -> Retrieval:
    """Build and publish ``tenant``'s artifact from repository ``root`` (no guardrail) and open it."""
    import asyncio  # noqa: PLC0415
    import concurrent.futures  # noqa: PLC0415

    from splice.retrieval.customization import customize  # noqa: PLC0415
    from splice.retrieval.guardrail import evaluation_knobs  # noqa: PLC0415
    from splice.retrieval.indexing import Source  # noqa: PLC0415
    from splice.retrieval.live import Retrieval  # noqa: PLC0415
    from splice.retrieval.selection import Knobs  # noqa: PLC0415

    knobs = options.pop("knobs", None) or evaluation_knobs.get() or Knobs()
    job = customize(Path(artifacts_root), tenant, [Source(Path(root).name, Path(root))], knobs=knobs, **options)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(job)
    else:  # called from inside an event loop: build on a thread with its own loop
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, job).result()
    return Retrieval.for_tenant(Path(artifacts_root), tenant)


def search_snippets(retrieval: Retrieval, *, prefix: str, suffix: str, path: str, limit: int) -> Sequence[Snippet]:
    """Snippets for a cursor at the end of ``prefix`` in document ``path``, in prompt order."""
    from splice.retrieval.retriever import RetrievalQuery  # noqa: PLC0415

    line = prefix.count("\n")
    query = RetrievalQuery(path=path, prefix=prefix, suffix=suffix, window_start=max(0, line - 200),
                           window_end=line + 50, limit=limit)
    return retrieval.snippets(query, SEARCH_DEADLINE_S)


__all__ = ["build_artifact", "index_repository", "search_snippets"]
