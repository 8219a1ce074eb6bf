"""The embedded engine: fill-in-the-middle suggestions from the code already in the workspace.

No server, GPU or model weights: candidates are copied from places whose surroundings agree with the
cursor's, found in nested caches (the current document, other open documents and prompt snippets, the
current directory, the project), adapted to the enclosing function's names where a line only echoes a
parameter, joined by import lines built for the names the document uses without binding, and ranked by
agreement on both sides of the cursor and fit with the document. Construction is free; ``start`` indexes the
workspace on a daemon thread so the server can answer ``initialize`` at once, and until the index is ready the
document-level caches still answer. Given a :class:`ProjectCache`, the index is read back from disk when the
workspace is unchanged (and updated from the changed files otherwise) instead of being built from scratch:
that is what lets a command on a large workspace answer within a second. Open documents are kept as live text
and lexed lazily, a large one on a background thread (:mod:`splice.derived`), so neither ``document_changed``
nor another document's completion waits for it; one past ``CONTEXT_SOURCE_MAX_CHARS`` is no context source.
``generate`` runs its CPU work in a worker thread so the event loop stays responsive.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from splice.derived import CONTEXT_SOURCE_MAX_CHARS, DerivedCache
from splice.documents import lf_line_ends
from splice.engines.base import Candidate, GenerationRequest
from splice.engines.embedded.weights import RankingWeights
from splice.logging import get_logger
from splice.workspace import WalkLimits, is_secret_name, path_excluded, shared_text, workspace_cache_dir

if TYPE_CHECKING:
    from splice.engines.embedded.corpus import TokenCorpus
    from splice.engines.embedded.cursor import Cursor
    from splice.engines.embedded.lexer import Vocabulary
    from splice.engines.embedded.occurrences import Occurrence
    from splice.engines.embedded.project import ProjectIndex
    from splice.engines.embedded.ranking import RankingInput

_log = get_logger()

Progress = Callable[[str, int, int], None]  # (message, done, total)


@dataclass(frozen=True)
class ProjectCache:
    """Where one workspace's project index is stored, and who hears about building it: ``progress`` gets
    ``(message, done, total)`` while files are read, ``notice`` one line per build, update or problem."""

    directory: Path
    progress: Progress | None = None
    notice: Callable[[str], None] | None = None

    @classmethod
    def for_workspace(cls, root: Path, *, progress: Progress | None = None,
                      notice: Callable[[str], None] | None = None) -> ProjectCache:
        return cls(workspace_cache_dir(root) / "engine", progress, notice)

    def tell(self, message: str) -> None:
        _log.info("embedded.project_cache", message=message)
        if self.notice is not None:
            self.notice(message)


# File times come from a coarser clock than ``time.time_ns``: a file written just after the index began
# reading may carry an earlier time, so anything this close to it counts as written since.
_MTIME_SLACK_NS = 50_000_000
# Closed files kept in place of their stale index copies; beyond this the oldest's index copy serves again.
_MAX_WRITTEN_FILES = 64


def _normalised(path: str) -> str:
    return os.path.normpath(os.path.abspath(path)) if path else path


def _lexed(vocab: Vocabulary, path: str, text: str) -> TokenCorpus:
    """An open document's corpus, for other documents' completions."""
    from splice.engines.embedded.corpus import document_corpus  # noqa: PLC0415

    # Another document's secrets must not become this one's suggestions: it is learnt redacted.
    return document_corpus(vocab, [(shared_text(path, text), 0)])


@dataclass(frozen=True, eq=False)
class _Knowledge:
    """The vocabulary, the project index and the open documents lexed in that vocabulary: what one
    completion reads, replaced whole when the project index arrives. A stored index brings its own
    vocabulary, so token ids from before and after it must never meet in one request."""

    vocab: Vocabulary
    project: ProjectIndex | None
    open_corpora: DerivedCache[TokenCorpus]

    @classmethod
    def of(cls, vocab: Vocabulary, project: ProjectIndex | None) -> _Knowledge:
        return cls(vocab, project, DerivedCache(partial(_lexed, vocab), max_chars=CONTEXT_SOURCE_MAX_CHARS,
                                                name="splice-open-lexer"))


class EmbeddedEngine:
    """Statistical FIM engine over nested caches of the workspace's own code."""

    name = "embedded"

    def __init__(
        self,
        *,
        workspace: Path | None = None,
        walk_limits: WalkLimits | None = None,
        weights: RankingWeights | None = None,
        max_context: int = 48,
        occurrence_limit: int = 64,
        min_context: int = 1,
        max_open_documents: int = 8,
        max_line_positions: int = 64,
        cache: ProjectCache | None = None,
    ) -> None:
        self._workspace = workspace
        self._cache = cache
        self._walk_limits = walk_limits or WalkLimits()
        self._weights = weights or RankingWeights()
        self._max_context = max_context
        self._occurrence_limit = occurrence_limit
        self._min_context = min_context
        self._max_open_documents = max_open_documents
        self._max_line_positions = max_line_positions
        # Lines of the live document this many tokens either side of the cursor are all proposed; wider
        # windows were measured to add latency, not matches.
        self._nearby_tokens = 500
        # numpy and the index modules load on first use, not at import: the server must answer
        # ``initialize`` within a few hundred milliseconds of starting.
        self._knowledge: _Knowledge | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Live text of open documents, most recently changed last; lexed on first use.
        self._open: OrderedDict[str, str] = OrderedDict()
        # Closed files written after the project index read them (saved, created), most recent last: they
        # stand in for the index's stale copies while the open documents leave room.
        self._written: OrderedDict[str, str] = OrderedDict()
        # When the project index began reading the workspace (``time.time_ns``); None before.
        self._indexed_ns: int | None = None
        self._excluded: dict[str, bool] = {}

    def _known(self) -> _Knowledge:
        """What completions read now (before the project index: a vocabulary of their own, no project)."""
        known = self._knowledge
        if known is None:
            from splice.engines.embedded.lexer import Vocabulary  # noqa: PLC0415 - numpy-backed modules load on first use

            with self._lock:
                if self._knowledge is None:
                    self._knowledge = _Knowledge.of(Vocabulary(), None)
                known = self._knowledge
        return known

    # Lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin indexing the workspace in the background and return at once."""
        if self._thread is not None:
            return
        if self._workspace is None:
            self._ready.set()
            return
        self._thread = threading.Thread(target=self._index, name="splice-embedded-index", daemon=True)
        self._thread.start()

    def _index(self) -> None:
        assert self._workspace is not None
        from splice.engines.embedded.project import build_project  # noqa: PLC0415
        from splice.engines.embedded.project_cache import cached_project  # noqa: PLC0415

        # Files written from here on may be read after the index did: closing or saving one reads it again.
        self._indexed_ns = time.time_ns()
        try:
            if self._cache is not None:
                project, vocab = cached_project(self._workspace, self._cache, self._walk_limits,
                                                self._max_line_positions)
                self._knowledge = _Knowledge.of(vocab, project)
            else:
                known = self._known()
                vocab = known.vocab
                project = build_project(self._workspace, vocab, self._walk_limits, self._max_line_positions)
                self._knowledge = dataclasses.replace(known, project=project)
            # The event the evaluation's stdio runner (and the tests) wait for before the first request.
            _log.info("embedded.project_indexed", root=str(self._workspace), files=len(project.paths),
                      tokens=project.corpus.size, vocabulary=len(vocab), stored=self._cache is not None)
            # The index and the vocabulary's caches are millions of long-lived entries the cycle collector
            # would otherwise walk on every full collection, a 50-100 ms pause landing in some request.
            # Nothing in them forms cycles, so they are moved out of its sight for good.
            gc.freeze()
        except Exception:  # the index is an optimisation: log and keep serving from open documents
            _log.exception("embedded.index_failed", root=str(self._workspace))
        finally:
            self._ready.set()

    def wait_until_ready(self, timeout: float) -> bool:
        """Block until the workspace index is built or ``timeout`` seconds pass; whether it is ready."""
        return self._ready.wait(timeout)

    def answered_by(self) -> tuple[str, str]:
        """Always this engine: it stands in for no other."""
        return self.name, ""

    async def aclose(self) -> None:
        """Forget open documents; the daemon indexing thread, if still running, dies with the process."""
        known = self._known()
        with self._lock:
            for path in [*self._open, *self._written]:
                known.open_corpora.forget(path)
            self._open.clear()
            self._written.clear()

    # Documents ----------------------------------------------------------------------------------------

    def _is_private(self, path: str) -> bool:
        """Whether ``path`` must not feed suggestions: a secret, or excluded by the workspace rules."""
        cached = self._excluded.get(path)
        if cached is None:
            if is_secret_name(os.path.basename(path)):
                cached = True
            elif self._workspace is not None:
                cached = path_excluded(self._workspace, Path(path))
            else:
                cached = False
            self._excluded[path] = cached
        return cached

    def document_changed(self, path: str, text: str) -> None:
        """``path`` now holds ``text``: it overrides the disk copy in every cache."""
        path = _normalised(path)
        with self._lock:
            self._written.pop(path, None)
            self._open[path] = text
            self._open.move_to_end(path)

    def document_closed(self, path: str) -> None:
        """``path`` is closed, or was saved without being open: what is on disk counts again. The project
        index holds the file as it was when the index was built; a file written since (saved, then closed,
        or created) is read now and kept in place of that copy, so completions elsewhere see its new names."""
        path = _normalised(path)
        current = self._written_since_indexed(path)
        dropped: list[str] = [path]
        with self._lock:
            self._open.pop(path, None)
            self._written.pop(path, None)
            if current is not None:
                self._written[path] = current
                while len(self._written) > _MAX_WRITTEN_FILES:
                    dropped.append(self._written.popitem(last=False)[0])
        known = self._known()
        for gone in dropped:
            known.open_corpora.forget(gone)

    def _written_since_indexed(self, path: str) -> str | None:
        """The text of ``path`` on disk if it changed after the project index read the workspace, else None
        (the index's copy is current, or there is no index yet: it will read the disk itself)."""
        started = self._indexed_ns
        if started is None:
            return None
        try:
            info = os.stat(path)
            if info.st_mtime_ns < started - _MTIME_SLACK_NS or info.st_size > CONTEXT_SOURCE_MAX_CHARS:
                return None
            with open(path, encoding="utf-8", errors="replace", newline="") as handle:
                return lf_line_ends(handle.read())
        except OSError:
            return None  # deleted or unreadable: the index's copy stays until the next build

    def _open_documents(self, current: str, known: _Knowledge) -> tuple[list[TokenCorpus], frozenset[str]]:
        """Lexed corpora of the most recently changed open documents other than ``current``, and the paths
        of all open documents (whose disk copies the project level must skip)."""
        with self._lock:
            items = list(self._open.items())
            written = list(self._written.items())
        # Another document too large to be a context source keeps its disk copy in the project level.
        paths = {path for path, text in items if len(text) <= CONTEXT_SOURCE_MAX_CHARS or path == current}
        corpora: list[TokenCorpus] = []
        # Open documents first, then written files; a written file replaces its stale index copy only where
        # it gets a corpus (stale beats absent).
        sources = [(path, text, False) for path, text in reversed(items)]
        sources += [(path, text, True) for path, text in reversed(written)]
        for path, text, written_only in sources:
            if len(corpora) >= self._max_open_documents:
                break
            if path == current or self._is_private(path):
                continue
            corpus = known.open_corpora.get(path, text)
            if corpus is not None:
                corpora.append(corpus)
                if written_only:
                    paths.add(path)
        return corpora, frozenset(paths)

    # Generation ---------------------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        """Candidates for the cursor in ``request``, best first; [] when nothing fits."""
        return await asyncio.to_thread(self.complete, request)

    def complete(self, request: GenerationRequest) -> list[Candidate]:
        """The synchronous body of :meth:`generate`, for callers already off the event loop."""
        from splice.engines.embedded.ranking import ranked_candidates  # noqa: PLC0415

        found = self.ranking_input(request)
        if found is None:
            return []
        ranked = ranked_candidates(found.vocab, found.cursor, found.proposals, multiline=request.multiline,
                                   count=request.num_candidates, weights=self._weights)
        # ``origin`` names the engine across the protocol; the cache level a proposal came from stays inside.
        return [dataclasses.replace(candidate, origin=self.name) for candidate in ranked]

    def ranking_input(self, request: GenerationRequest) -> RankingInput | None:
        """What :meth:`complete` ranks for ``request``: the cursor and every pooled proposal, before any
        ranking; None for a secret file. Fitting the ranking weights scores these under many weights
        without looking the occurrences up again."""
        from splice.engines.embedded.cursor import cursor_from_text  # noqa: PLC0415
        from splice.engines.embedded.ranking import RankingInput, add_import_line, pooled_proposals  # noqa: PLC0415

        current = _normalised(request.document_path or request.prompt.path)
        if current and is_secret_name(os.path.basename(current)):
            return None
        known = self._known()
        vocab = known.vocab
        cursor = cursor_from_text(vocab, request.document_prefix, request.document_suffix)
        occurrences = self._occurrences(cursor, current, request, known)
        proposals = pooled_proposals(vocab, cursor, occurrences, weights=self._weights)
        for text in self._import_lines(cursor, current, known):
            add_import_line(vocab, proposals, text)
        return RankingInput(vocab, cursor, list(proposals.values()))

    def _import_lines(self, cursor: Cursor, current: str, known: _Knowledge) -> list[str]:
        """Import lines for the names the document reads without binding (see ``imports``)."""
        from splice.engines.embedded.imports import project_import_lines  # noqa: PLC0415

        project = known.project
        if project is None or not project.paths:
            return []
        with self._lock:
            open_paths = list(self._open)
        excluded = frozenset(number for number in (project.file_number(p) for p in (*open_paths, current))
                             if number is not None)
        return project_import_lines(known.vocab, cursor, project, excluded)

    def _occurrences(self, cursor: Cursor, current: str, request: GenerationRequest,
                     known: _Knowledge) -> list[Occurrence]:
        from splice.engines.embedded.corpus import document_corpus  # noqa: PLC0415
        from splice.engines.embedded.occurrences import (  # noqa: PLC0415
            Level,
            by_context_scan,
            by_following_line_scan,
            by_following_line_table,
            by_nearby_lines,
            by_suffix_index,
        )

        limit, max_context = self._occurrence_limit, self._max_context
        # The live document is the text before the cursor, a separator, then the text after it.
        at_cursor = int(cursor.document.file_starts[-1])
        found = by_context_scan(cursor.document, cursor, Level.DOCUMENT, max_context=max_context,
                                limit=limit, min_length=self._min_context, near=at_cursor)
        found += by_following_line_scan(cursor.document, cursor, Level.DOCUMENT, max_context=max_context,
                                        limit=limit)
        found += by_nearby_lines(cursor.document, cursor, Level.DOCUMENT, near=at_cursor,
                                 window=self._nearby_tokens, max_context=max_context)
        open_corpora, open_paths = self._open_documents(current, known)
        # Open-file snippets repeat documents already among the open corpora; counting them twice would
        # make their lines look twice as common. Snippets from elsewhere (repository retrieval) are new.
        snippets = [(s.text, 0) for s in request.prompt.snippets
                    if s.source != "open_files" and not is_secret_name(Path(s.path).name)]
        if snippets:
            open_corpora.append(document_corpus(known.vocab, snippets))
        for corpus in open_corpora:
            found += by_context_scan(corpus, cursor, Level.OPEN, max_context=max_context,
                                     limit=limit // 2, min_length=self._min_context)
            found += by_following_line_scan(corpus, cursor, Level.OPEN, max_context=max_context,
                                            limit=limit // 2)
        project = known.project
        if project is not None and project.paths:
            excluded = frozenset(
                number for number in (project.file_number(p) for p in open_paths | {current})
                if number is not None
            )
            directory = project.directory_ids.get(os.path.dirname(current))
            found += by_suffix_index(project, cursor, excluded_files=excluded, directory=directory,
                                     max_context=max_context, limit=limit, min_length=self._min_context)
            found += by_following_line_table(project, cursor, excluded_files=excluded, directory=directory,
                                             max_context=max_context, limit=limit)
        return found
