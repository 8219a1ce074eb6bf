"""Building a tenant's customization artifact: select, index, record, and publish atomically.

The build happens in the tenant's ``staging/`` directory, seeded from the current version when its knobs
and embedding model match (so a re-run only re-indexes what changed) and kept across crashes (so an
interrupted run resumes). The selection (every file left out, with the reason) is written beside the index,
the manifest records sources with their commit SHAs, the knobs, sizes and the guardrail's offline metrics,
and :func:`splice.retrieval.artifact.publish` makes it current in one rename. Nothing is published when the
selection is empty, when the run was interrupted, or when the guardrail refuses or has no evidence either
way: the previous version stays current.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splice.retrieval.artifact import (
    ENGINE_DIR,
    INDEX_FILE,
    SELECTION_FILE,
    build_lock,
    current_version,
    publish,
    staging_directory,
)
from splice.retrieval.index import RepositoryIndex
from splice.retrieval.indexing import IndexReport, Progress, Source, index_sources
from splice.retrieval.selection import Knobs

Guardrail = Callable[[Path, Sequence[Source], IndexReport], Awaitable[dict[str, Any]]]


@dataclass(kw_only=True)
class Customization:
    """The outcome of one ``customize`` run."""

    tenant: str
    report: IndexReport
    published: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    refused: str | None = None


def _seed_staging(root: Path, tenant: str, staging: Path, fingerprint: dict[str, Any]) -> None:
    """Start ``staging`` from the current version when it was built the same way; otherwise start clean."""
    marker = staging / "build.json"
    if staging.is_dir():
        try:
            if json.loads(marker.read_text()) == fingerprint:
                return  # an interrupted build of the same configuration: resume it
        except (OSError, ValueError):
            pass
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        current = current_version(root, tenant)
        previous = json.loads((current / "manifest.json").read_text())
        if previous.get("build") == fingerprint:
            shutil.copy2(current / INDEX_FILE, staging / INDEX_FILE)
            if (current / ENGINE_DIR).is_dir():
                shutil.copytree(current / ENGINE_DIR, staging / ENGINE_DIR)
    except Exception:  # no usable previous version: a full build
        for child in staging.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    marker.write_text(json.dumps(fingerprint))


async def customize(
    root: Path,
    tenant: str,
    sources: Sequence[Source],
    *,
    knobs: Knobs,
    semantic: bool = False,
    task_id: int | None = None,
    guardrail: Guardrail | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Customization:
    """Build, check and publish ``tenant``'s artifact under ``root`` from ``sources``."""
    from splice.retrieval.live import optional_encoder  # noqa: PLC0415 - loads the model only when asked

    encoder = optional_encoder(True) if semantic else None
    model = getattr(encoder, "name", "") if encoder is not None else ""
    fingerprint = {"knobs": knobs.as_dict(), "embedding": model,
                   "sources": sorted(str(s.path.resolve()) for s in sources)}
    with build_lock(root, tenant):
        staging = staging_directory(root, tenant)
        _seed_staging(root, tenant, staging, fingerprint)
        index = RepositoryIndex(staging / INDEX_FILE)
        try:
            report = index_sources(index, sources, knobs=knobs, encoder=encoder,  # type: ignore[arg-type]
                                   engine_dir=staging / ENGINE_DIR, progress=progress, cancelled=cancelled)
            if not report.interrupted:
                _prune_engine_dir(staging / ENGINE_DIR, index)
                index.finalize()
        finally:
            index.close()
        if report.interrupted:
            return Customization(tenant=tenant, report=report, refused="interrupted")
        selection = {"selected": report.files, "skipped": report.skipped}
        (staging / SELECTION_FILE).write_text(json.dumps(selection, indent=2, sort_keys=True) + "\n")
        outcome = Customization(tenant=tenant, report=report)
        if report.files == 0:
            # An empty artifact would replace a good one and teach the engine nothing.
            outcome.refused = "no file was selected" + (f" (--include {', '.join(knobs.include)} matched nothing)"
                                                        if knobs.include else "")
            return outcome
        if guardrail is not None:
            outcome.metrics = await guardrail(staging, sources, report)
            if outcome.metrics.get("refused"):
                outcome.refused = str(outcome.metrics["refused"])
                return outcome
        manifest = {
            "sources": report.sources, "knobs": knobs.as_dict(), "build": fingerprint,
            "embedding": {"model": model} if model else None,
            "sizes": {"files": report.files, "lines": report.lines, "chunks": _chunks(staging / INDEX_FILE),
                      "redactions": report.redactions, "skipped": {k: len(v) for k, v in report.skipped.items()}},
            "metrics": outcome.metrics,
        }
        outcome.published = publish(root, tenant, staging, manifest, task_id=task_id)
    return outcome


def _chunks(path: Path) -> int:
    index = RepositoryIndex(path, readonly=True)
    try:
        return index.chunk_count()
    finally:
        index.close()


def _prune_engine_dir(engine_dir: Path, index: RepositoryIndex) -> None:
    """Drop engine-corpus files whose source is no longer indexed (deleted or now excluded)."""
    if not engine_dir.is_dir():
        return
    kept = set(index.digests())
    for path in sorted(engine_dir.rglob("*"), reverse=True):
        rel = path.relative_to(engine_dir).as_posix()
        if path.is_file() and rel not in kept:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
