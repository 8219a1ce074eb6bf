"""Indexing runs: repositories in, an up-to-date :class:`RepositoryIndex` (and engine corpus) out.

One code path serves ``splice index`` (one workspace), ``splice customize`` (an organization's
repositories) and the server's background indexing. Files come from :func:`splice.workspace.workspace_files`,
which already refuses ignored, secret-bearing, binary, generated, vendored, minified and oversized files;
here they are selected by the customization knobs, redacted, chunked, embedded and written in batches, one
transaction per batch. Unchanged files (same digest) are skipped, so a run interrupted by a crash or a
cancellation keeps the batches it committed and the next run starts where it stopped. Every file that is
not indexed is in the report under its reason, whether the walk could not read it or a knob left it out.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from splice.errors import SourceError
from splice.languages import language_for_path
from splice.logging import get_logger
from splice.retrieval.chunking import Chunk, chunk_file
from splice.retrieval.index import RepositoryIndex, text_digest
from splice.retrieval.selection import History, Knobs, Selector, read_history
from splice.secrets import redact
from splice.workspace import WalkLimits, workspace_files

if TYPE_CHECKING:
    from splice.retrieval.static_model import StaticEncoder

_log = get_logger()

# Prose and configuration worth retrieving besides code in a known language.
TEXT_EXTENSIONS = frozenset({".md", ".rst", ".toml", ".yaml", ".yml", ".cfg", ".ini"})
MAX_FILE_BYTES = 512 * 1024
MAX_FILES = 200_000
_BATCH_FILES = 128
NOT_INDEXED_LANGUAGE = "not a language retrieval indexes"

Progress = Callable[[str, int, int], None]  # (message, done, total)


@dataclass(frozen=True)
class Source:
    """A repository to index; ``name`` prefixes its paths when several are indexed together."""

    name: str
    path: Path


@dataclass(kw_only=True)
class IndexReport:
    """What a run did."""

    files: int = 0  # selected and indexable
    indexed: int = 0  # (re)indexed because new or changed
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    lines: int = 0
    redactions: int = 0
    truncated: bool = False
    interrupted: bool = False  # cancelled: the committed batches are kept, the rest of the run is not done
    seconds: float = 0.0
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    sources: list[dict[str, object]] = field(default_factory=list)


def indexable_language(path: str) -> str | None:
    """The language to index ``path`` as, or None for files retrieval has no use for."""
    language = language_for_path(path)
    if language != "plaintext":
        return language
    return "text" if os.path.splitext(path)[1].lower() in TEXT_EXTENSIONS else None


def check_source(path: Path) -> Path:
    """``path`` resolved, or :class:`SourceError` saying why it cannot be indexed."""
    if not path.exists():
        raise SourceError(f"repository path {path} does not exist")
    if not path.is_dir():
        raise SourceError(f"repository path {path} is not a directory")
    if not os.access(path, os.R_OK | os.X_OK):
        raise SourceError(f"repository path {path} is not readable")
    return path.resolve()


def prepare_file(path: str, text: str, language: str) -> tuple[str, list[Chunk], int]:
    """Redacted text, its chunks and the number of secrets redacted: what the index stores of a file."""
    redaction = redact(text)
    return redaction.text, chunk_file(path, language, redaction.text), redaction.count


def embed_chunks(encoder: StaticEncoder | None, chunks: Sequence[Chunk]) -> list[object] | None:
    """Vectors of ``chunks`` (symbol and text together), or None without an encoder."""
    if encoder is None or not chunks:
        return None
    return list(encoder.encode([f"{c.symbol}\n{c.text}" if c.symbol else c.text for c in chunks]))


def index_sources(
    index: RepositoryIndex,
    sources: Sequence[Source],
    *,
    knobs: Knobs | None = None,
    encoder: StaticEncoder | None = None,
    engine_dir: Path | None = None,
    prefix_paths: bool = True,
    progress: Progress | None = None,
    max_files: int = MAX_FILES,
    cancelled: Callable[[], bool] = lambda: False,
) -> IndexReport:
    """Bring ``index`` up to date with ``sources``; returns what changed and what was left out, and why."""
    started = time.perf_counter()
    report = IndexReport()
    wanted_model = encoder.name if encoder is not None else ""
    stored = index.digests()
    # Vectors from another model (or none): every file is embedded again. The files stored stay known for
    # removal, so a file deleted meanwhile still leaves the index.
    unchanged = stored if (index.meta("embedding") or "") == wanted_model else {}
    pending = _select(sources, knobs, prefix_paths, max_files, report, progress, cancelled)
    if pending is None:
        report.seconds = time.perf_counter() - started
        return report
    report.files = len(pending)
    if not _write(index, pending, unchanged, encoder, engine_dir, report, progress, cancelled):
        report.seconds = time.perf_counter() - started
        return report
    index.set_meta("embedding", wanted_model)
    if not report.truncated:
        seen = {path for path, _, _, _ in pending}
        gone = [path for path in stored if path not in seen]
        if gone:
            index.remove_files(gone)
        report.removed = len(gone)
    report.seconds = time.perf_counter() - started
    _log.info("indexing.done", files=report.files, indexed=report.indexed, unchanged=report.unchanged,
              removed=report.removed, seconds=round(report.seconds, 2))
    return report


def _select(sources: Sequence[Source], knobs: Knobs | None, prefix_paths: bool, max_files: int,
            report: IndexReport, progress: Progress | None,
            cancelled: Callable[[], bool]) -> list[tuple[str, str, str, str]] | None:
    """The files to index as ``(path, repo, language, text)``, every other one recorded in
    ``report.skipped`` with its reason; None when cancelled."""
    limits = WalkLimits(max_file_bytes=MAX_FILE_BYTES, max_files=max_files)
    pending: list[tuple[str, str, str, str]] = []
    skipped: dict[str, list[str]] = {}
    report.skipped = skipped
    wants_log = knobs is not None and (knobs.since_days is not None or knobs.max_bugfix_commits is not None)
    for source in sources:
        root = check_source(source.path)
        history = read_history(root, with_log=wants_log)
        if wants_log and history.commit is None:
            raise SourceError(f"{source.path} is not a git repository with commits; "
                              "--since-days and --max-bugfix-commits need its history")
        report.sources.append({"name": source.name, "path": str(root), "commit": history.commit,
                               "dirty": history.dirty})
        selector = Selector(knobs or Knobs(deprecated=()), history)
        if progress is not None:
            progress(f"scanning {source.name}", 0, 0)
        count = 0
        name = f"{source.name}/" if prefix_paths else ""

        def unread(rel: str, reason: str, name: str = name) -> None:
            skipped.setdefault(reason, []).append(name + rel)

        for item in workspace_files(root, limits, skipped=unread):
            if cancelled():
                report.interrupted = True
                return None
            count += 1
            language = indexable_language(item.path)
            path = name + item.path
            reason = NOT_INDEXED_LANGUAGE if language is None else selector.reason_to_skip(item.path, item.text)
            if reason is not None or language is None:
                skipped.setdefault(reason or NOT_INDEXED_LANGUAGE, []).append(path)
                continue
            report.redactions += item.redactions  # the walk redacted it; prepare_file finds nothing more
            pending.append((path, source.name, language, item.text))
        if count >= max_files:
            report.truncated = True
            _log.warning("indexing.file_limit", source=str(root), max_files=max_files)
    return pending


def _write(index: RepositoryIndex, pending: Sequence[tuple[str, str, str, str]], unchanged: dict[str, str],
           encoder: StaticEncoder | None, engine_dir: Path | None, report: IndexReport,
           progress: Progress | None, cancelled: Callable[[], bool]) -> bool:
    """Chunk, embed and store every file whose redacted text is not ``unchanged``, in batches (each a
    transaction); whether it ran to the end rather than being cancelled."""
    total = len(pending)
    batch: list[tuple[str, str, str, str, list[Chunk], object]] = []

    def flush() -> None:
        if batch:
            index.replace_files((p, r, lang, d, chunks, vectors) for p, r, lang, d, chunks, vectors in batch)  # type: ignore[misc]
            batch.clear()

    for done, (path, repo, language, text) in enumerate(pending, start=1):
        if cancelled():
            flush()
            report.interrupted = True
            return False
        redacted, chunks, redactions = prepare_file(path, text, language)
        report.redactions += redactions
        report.lines += redacted.count("\n") + 1
        digest = text_digest(redacted)
        if engine_dir is not None and language != "text":
            target = engine_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(redacted, encoding="utf-8")
        if unchanged.get(path) == digest:
            report.unchanged += 1
        else:
            import numpy as np  # noqa: PLC0415 - numpy is loaded by then; kept local to the vector path

            vectors = embed_chunks(encoder, chunks)
            batch.append((path, repo, language, digest, chunks,
                          None if vectors is None else np.asarray(vectors, dtype=np.float32)))
            report.indexed += 1
            report.chunks += len(chunks)
            if len(batch) >= _BATCH_FILES:
                flush()
        if progress is not None and (done % 200 == 0 or done == total):
            progress(f"indexed {done}/{total} files", done, total)
    flush()
    return True


def skipped_summary(report: IndexReport) -> Counter[str]:
    """Skipped files counted by reason."""
    return Counter({reason: len(paths) for reason, paths in report.skipped.items()})


def history_of(path: Path) -> History:
    """The commit and dirtiness of one repository (for manifests)."""
    return read_history(path, with_log=False)
