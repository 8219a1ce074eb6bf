"""Repository retrieval and organization customization: index, chunks, lexical and semantic search, fusion,
per-tenant artifacts.

Modules, one job each: ``secrets`` (redaction), ``chunking`` (tree-sitter chunks), ``lexical`` (identifier
terms, FTS5 queries), ``index`` (the SQLite index), ``encoder`` and ``static_model`` (embeddings),
``semantic`` (vector search), ``fusion`` (reciprocal rank fusion), ``retriever`` (snippets for a cursor),
``selection`` (data-selection knobs), ``indexing`` (indexing runs), ``artifact`` (versioned per-tenant
store), ``customization`` (building and publishing an artifact), ``live`` (what the server holds open) and
``source`` (retrieval as a snippet source). The check before publishing runs the evaluation and so lives
above both, in :mod:`splice.evaluation.guardrail`.

Imports here are lazy so ``import splice.retrieval`` stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from splice.retrieval.live import Retrieval


def index_repository(root: Path, *, index_path: Path | None = None) -> Retrieval:
    """An up-to-date index of ``root`` (kept under ``index_path``, else beside the cached workspace indexes)."""
    from splice.retrieval.live import Retrieval  # noqa: PLC0415 - see module docstring

    path = index_path or Path(root).parent / f".{Path(root).name}.index.sqlite"
    retrieval = Retrieval.for_workspace(Path(root), path)
    retrieval.rebuild()
    return retrieval


__all__ = ["index_repository"]
