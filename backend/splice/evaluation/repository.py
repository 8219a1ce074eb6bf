"""Repository context for the ``retrieval`` and ``customized`` rows, from :mod:`splice.retrieval`.

The harness asks two things of retrieval: snippets for a cursor from an index of the masked repository,
and a tenant artifact built from the masked repository. Both go through :class:`RepositoryContext`, so the
harness depends on nothing but this module; when :mod:`splice.retrieval` does not offer what is needed,
:func:`unavailable_reason` says why and the two rows are reported as unavailable instead of being faked.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any, Protocol

from splice.context.prompt import Snippet
from splice.evaluation.ablations import Ablation, EditorView
from splice.evaluation.isolation import Mirror

# What the harness calls in splice.retrieval; all of it must be there for the rows to run.
_REQUIRED = ("index_repository", "search_snippets", "build_artifact")


class RepositoryContext(Protocol):
    """Snippets from the repository for one masked mirror; ``tenant`` is set for the customized row."""

    tenant: str

    def snippets(self, view: EditorView, limit: int) -> Sequence[Snippet]:
        """Repository snippets for the cursor in ``view``, best first."""
        ...

    def close(self) -> None:
        """Release the index."""
        ...


def _retrieval() -> Any | None:
    if importlib.util.find_spec("splice.retrieval") is None:
        return None
    try:
        return importlib.import_module("splice.retrieval")
    except ImportError:
        return None


def unavailable_reason(ablation: Ablation) -> str | None:
    """Why ``ablation`` cannot run here, or None when it can."""
    if not (ablation.retrieval or ablation.customized):
        return None
    module = _retrieval()
    if module is None:
        return "repository retrieval (splice.retrieval) is not available in this installation"
    missing = [name for name in _REQUIRED if not hasattr(module, name)]
    if missing:
        return f"splice.retrieval does not offer {', '.join(missing)} yet"
    return None


class _RetrievalContext:
    """Adapter over :mod:`splice.retrieval`'s public functions."""

    def __init__(self, module: Any, handle: Any, tenant: str) -> None:
        self._module = module
        self._handle = handle
        self.tenant = tenant

    def snippets(self, view: EditorView, limit: int) -> Sequence[Snippet]:
        found: Sequence[Snippet] = self._module.search_snippets(
            self._handle, prefix=view.prefix, suffix=view.suffix, path=view.task.path, limit=limit,
        )
        return found

    def close(self) -> None:
        close = getattr(self._handle, "close", None)
        if callable(close):
            close()


def open_context(mirror: Mirror, ablation: Ablation, *, tenant: str, artifacts_root: Any) -> RepositoryContext:
    """The repository context ``ablation`` uses for ``mirror``: an index, or a freshly built artifact."""
    module = _retrieval()
    assert module is not None, unavailable_reason(ablation)
    if ablation.customized:
        handle = module.build_artifact(mirror.root, tenant=tenant, artifacts_root=artifacts_root)
        return _RetrievalContext(module, handle, tenant)
    handle = module.index_repository(mirror.root)
    return _RetrievalContext(module, handle, "")
