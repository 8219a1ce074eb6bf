"""Retrieval as the server and the commands use it: the right index opened, kept fresh, searched.

Two kinds of index back a :class:`Retrieval`: a tenant's published artifact (read-only, chosen by the
``tenant`` setting, never another tenant's) or the workspace's own index, which lives in a cache directory
(``SPLICE_INDEX_DIR``, else ``~/.cache/splice/index``), is built in the background and is updated file by
file when the editor changes or saves a document. Semantic search joins lexical search when the distilled
static model is installed; without it retrieval is lexical only.
"""

from __future__ import annotations

import threading
from pathlib import Path

from splice.context.prompt import Snippet
from splice.errors import RetrievalError
from splice.logging import get_logger
from splice.retrieval.index import RepositoryIndex, text_digest
from splice.retrieval.indexing import (
    IndexReport,
    Progress,
    Source,
    embed_chunks,
    index_sources,
    indexable_language,
    prepare_file,
)
from splice.retrieval.query import RetrievalQuery
from splice.retrieval.retriever import Retriever
from splice.retrieval.semantic import VectorTable
from splice.workspace import path_excluded, workspace_cache_dir

_log = get_logger()


def default_index_path(root: Path) -> Path:
    """Where the index of workspace ``root`` is kept."""
    return workspace_cache_dir(root) / "index.sqlite"


def optional_encoder(semantic: bool | None) -> object | None:
    """The static encoder when ``semantic`` is True (required) or None (if installed); else None."""
    if semantic is False:
        return None
    from splice.retrieval.static_model import load_static_model, static_model_path  # noqa: PLC0415 - optional

    if semantic is None and not (static_model_path() / "model.safetensors").is_file():
        return None
    try:
        return load_static_model(build=bool(semantic))
    except RetrievalError:
        if semantic:
            raise
        return None


class Retrieval:
    """An open index with its searcher; workspace indexes also accept updates."""

    def __init__(self, index: RepositoryIndex, *, root: Path | None = None, semantic: bool | None = None,
                 tenant: str | None = None) -> None:
        self.index = index
        self.root = root
        self.tenant = tenant
        self.encoder = optional_encoder(semantic)
        vectors = None
        if self.encoder is not None:
            ids, matrix = index.vectors()
            vectors = VectorTable(ids, matrix)
        self.retriever = Retriever(index, encoder=self.encoder, vectors=vectors)  # type: ignore[arg-type]
        self._update_lock = threading.Lock()

    @classmethod
    def for_tenant(cls, artifacts: Path, tenant: str) -> Retrieval:
        """The tenant's published artifact; raises ``ArtifactError`` when it is missing or damaged."""
        from splice.retrieval.artifact import open_artifact  # noqa: PLC0415 - only tenants need it

        artifact = open_artifact(artifacts, tenant)
        semantic = bool(artifact.manifest.get("embedding"))
        return cls(artifact.index, semantic=semantic or False, tenant=tenant)

    @classmethod
    def for_workspace(cls, root: Path, index_path: Path | None = None) -> Retrieval:
        """The workspace's index (created empty if new; call :meth:`rebuild` to fill it)."""
        return cls(RepositoryIndex(index_path or default_index_path(root)), root=root)

    def rebuild(self, progress: Progress | None = None, cancelled: object = None) -> IndexReport:
        """Bring a workspace index up to date with the files on disk."""
        if self.root is None:
            raise RetrievalError("a tenant's artifact is rebuilt with `splice customize`, not in place")
        report = index_sources(self.index, [Source(self.root.name, self.root)], encoder=self.encoder,  # type: ignore[arg-type]
                               prefix_paths=False, progress=progress,
                               cancelled=cancelled if callable(cancelled) else (lambda: False))
        if self.encoder is not None:
            ids, matrix = self.index.vectors()
            self.retriever.vectors = VectorTable(ids, matrix)
        return report

    def update_file(self, path: Path, text: str) -> bool:
        """Re-index one workspace file from ``text``; whether anything changed."""
        if self.root is None or self.index.readonly:
            return False
        try:
            rel = path.resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            return False
        language = indexable_language(rel)
        if language is None or path_excluded(self.root, path):
            return False
        redacted, chunks, _ = prepare_file(rel, text, language)
        digest = text_digest(redacted)
        with self._update_lock:
            if self.index.digests_of([rel]).get(rel) == digest:
                return False
            old = [chunk_id for chunk_id, _ in self.index.file_chunks(rel)]
            vectors = embed_chunks(self.encoder, chunks)  # type: ignore[arg-type]
            import numpy as np  # noqa: PLC0415 - loaded by then

            matrix = None if vectors is None else np.asarray(vectors, dtype=np.float32)
            self.index.replace_files([(rel, self.root.name, language, digest, chunks, matrix)], defer_merges=True)
            if self.retriever.vectors is not None and matrix is not None:
                new = [chunk_id for chunk_id, _ in self.index.file_chunks(rel)]
                self.retriever.vectors.replace(old, new, matrix)
        return True

    def merge(self) -> None:
        """The index merging a save deferred, in short steps: a search waits for one step at most."""
        if self.root is None or self.index.readonly:
            return
        while self.index.merge_step():
            pass

    def snippets(self, query: RetrievalQuery, deadline_s: float) -> list[Snippet]:
        return self.retriever.snippets(query, deadline_s=deadline_s)

    def close(self) -> None:
        self.index.close()
