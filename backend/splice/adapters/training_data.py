"""Which text an adapter learns from: the tenant's selected files minus what its checks must not have seen.

Three rules keep the measurements honest, and the manifest records each so they can be audited:

- **Selection** is ``splice customize``'s (:mod:`splice.retrieval.selection`: globs, recency, bug-fix
  history, deprecated paths), read through the same redacting walk (:func:`splice.workspace.workspace_files`).
- **Held-out files** for the guardrail are chosen by a hash of each file's path inside its repository, so
  the split is the same on every machine and every run, needs no stored list to reproduce, and a file stays
  on its side when others are added. They are never trained on.
- **The evaluation's hidden lines**: when a repository is also evaluated with ``splice eval``, the spans its
  tasks hide (every kind, sampled exactly as ``splice eval --tasks N --seed S`` samples them) are cut out of
  the training files, and any line equal to a hidden line is dropped wherever it occurs, public code
  included. That is stricter than the evaluation's own masking, which leaves copies elsewhere in place as
  fair context: an adapter can memorise a line from anywhere, a prompt only shows what retrieval finds.

This module does not import torch: the guardrail and the publishing command read the same rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splice.errors import SourceError
from splice.retrieval.indexing import check_source
from splice.retrieval.selection import Knobs, Selector, read_history
from splice.workspace import WorkspaceFile, workspace_files

DEFAULT_HOLDOUT_SHARE = 0.15


def held_out(path: str, share: float) -> bool:
    """Whether the file at ``path`` (inside its repository, ``/``-separated) is held out for the guardrail:
    the first 32 bits of its path's SHA-256, as a fraction, fall below ``share``."""
    if share <= 0:
        return False
    digest = hashlib.sha256(path.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


@dataclass(frozen=True, kw_only=True)
class EvaluationMask:
    """The evaluation whose hidden lines training must not see: ``tasks`` per kind and ``seed``, as given to
    ``splice eval`` over the same repositories. ``tasks`` 0 masks nothing."""

    tasks: int = 0
    seed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"tasks": self.tasks, "seed": self.seed}


@dataclass(kw_only=True)
class TrainingData:
    """The files to train on (``name/path`` per repository), the held-out files per repository, and what
    the evaluation mask removed."""

    files: list[WorkspaceFile]
    held_out: dict[str, list[str]]  # repository path -> held-out paths inside it
    repositories: list[str]
    knobs: Knobs
    holdout_share: float
    mask: EvaluationMask
    hidden_lines: frozenset[str] = field(default_factory=frozenset)
    masked_spans: int = 0
    dropped_lines: int = 0

    def manifest(self) -> dict[str, Any]:
        """What a manifest records of the data: enough to reproduce the split and the mask."""
        return {
            "repositories": self.repositories, "selection": self.knobs.as_dict(),
            "held_out": {"share": self.holdout_share, "rule": "sha256(path)[:4] / 2**32 < share",
                         "files": self.held_out},
            "evaluation_mask": {**self.mask.as_dict(), "masked_spans": self.masked_spans,
                                "dropped_lines": self.dropped_lines},
        }


Spans = dict[tuple[Path, str], list[tuple[int, int]]]


def evaluation_spans(repos: Sequence[Path], mask: EvaluationMask) -> tuple[Spans, frozenset[str]]:
    """The spans ``splice eval`` hides in ``repos`` with ``mask``'s task count and seed, for every kind and
    for the typing replay's regions, by (repository, path); and the stripped non-blank lines of every one."""
    from splice.evaluation.sampling import KINDS, sample_tasks  # noqa: PLC0415 - tree-sitter, only when asked
    from splice.evaluation.typing import typing_sample  # noqa: PLC0415 - as above

    spans: Spans = {}
    lines: set[str] = set()
    if mask.tasks <= 0:
        return spans, frozenset()
    samples = [sample_tasks(list(repos), mask.tasks, mask.seed, kind=kind) for kind in KINDS]
    # The typing regions are mostly among the hidden-line tasks (the same sampler and seed); each span once.
    for task in [t for sample in samples for t in sample.tasks] + typing_sample(repos, mask.tasks, mask.seed).tasks:
        own = spans.setdefault((task.repo, task.path), [])
        if (task.start, task.end) not in own:
            own.append((task.start, task.end))
        lines.update(s for line in task.middle.split("\n") if (s := line.strip()))
    return spans, frozenset(lines)


def without_hidden_lines(text: str, hidden: frozenset[str]) -> tuple[str, int]:
    """``text`` without the lines whose stripped form is a hidden line; and how many were dropped."""
    if not hidden:
        return text, 0
    kept = [line for line in text.split("\n") if line.strip() not in hidden]
    return "\n".join(kept), text.count("\n") + 1 - len(kept)


def _masked(file: WorkspaceFile, spans: Iterable[tuple[int, int]], hidden: frozenset[str]) -> tuple[WorkspaceFile, int]:
    from splice.evaluation.isolation import masked_text  # noqa: PLC0415 - with the sampling import above

    text, dropped = without_hidden_lines(masked_text(file.text, spans), hidden)
    return WorkspaceFile(path=file.path, text=text, redactions=file.redactions), dropped


def training_data(repos: Sequence[Path], knobs: Knobs, *, holdout_share: float = DEFAULT_HOLDOUT_SHARE,
                  mask: EvaluationMask | None = None) -> TrainingData:
    """The files of ``repos`` that ``knobs`` select, minus held-out files, with the evaluation's hidden
    lines removed. Raises :class:`SourceError` for a missing repository, or when a history knob is asked of
    a directory without git history."""
    mask = mask or EvaluationMask()
    roots = [check_source(Path(repo)) for repo in repos]
    spans, hidden = evaluation_spans(roots, mask)
    wants_log = knobs.since_days is not None or knobs.max_bugfix_commits is not None
    data = TrainingData(files=[], held_out={}, repositories=[str(r) for r in roots], knobs=knobs,
                        holdout_share=holdout_share, mask=mask, hidden_lines=hidden)
    for root in roots:
        history = read_history(root, with_log=wants_log)
        if wants_log and history.commit is None:
            raise SourceError(f"{root} is not a git repository with commits; "
                              "--since-days and --max-bugfix-commits need its history")
        selector = Selector(knobs, history)
        kept = data.held_out.setdefault(str(root), [])
        for file in workspace_files(root):
            if selector.reason_to_skip(file.path, file.text) is not None:
                continue
            if held_out(file.path, holdout_share):
                kept.append(file.path)
                continue
            own = spans.get((root, file.path), [])
            data.masked_spans += len(own)
            masked, dropped = _masked(file, own, hidden)
            data.dropped_lines += dropped
            data.files.append(masked)
    return data


def masked_public(files: Sequence[WorkspaceFile], data: TrainingData) -> list[WorkspaceFile]:
    """Public files with the evaluation's hidden lines dropped as well, counted in ``data``."""
    out: list[WorkspaceFile] = []
    for file in files:
        masked, dropped = _masked(file, (), data.hidden_lines)
        data.dropped_lines += dropped
        out.append(masked)
    return out
