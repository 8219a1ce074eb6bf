"""The six configurations compared on identical tasks, each as the editor state it simulates.

Each row adds exactly one source of context to the row before it:

=============  ========================================================================================
prefix_only    the document ends at the cursor: the pipeline gets ``suffix=""``, no other documents, and
               the engine is told of nothing but that prefix (no workspace index)
infile         the whole document minus the hidden span (prefix and suffix); still no workspace index
open_files     plus the files nearest the target, open in the editor: given to the engine as open
               documents and to the open-documents snippet source
project_index  plus the engine's own index of the masked repository (the workspace)
retrieval      plus repository retrieval: snippets from an index of the masked repository
customized     plus the tenant artifact, built from the organization's *other* code (the sibling
               repositories the evaluated one declares), never from the evaluated repository
=============  ========================================================================================

"Nearest" is distance in the directory tree (files in the target's own directory first, then its parent's
subtree, and so on), ties broken by path, same language only: what a person working on a module tends to
have open. The engine's workspace is None for the first three rows on purpose: the embedded engine learns
from every file under its workspace, so giving it the repository there would smuggle the later rows'
context into the earlier ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from splice.context.snippets import SourceDocument
from splice.evaluation.isolation import Mirror
from splice.evaluation.sampling import Task
from splice.languages import language_for_path

DEFAULT_OPEN_FILES = 4


@dataclass(frozen=True, kw_only=True)
class Ablation:
    """Which sources of context one row uses."""

    name: str
    suffix: bool
    open_files: bool
    workspace: bool
    retrieval: bool
    customized: bool


ABLATIONS: tuple[Ablation, ...] = (
    Ablation(name="prefix_only", suffix=False, open_files=False, workspace=False, retrieval=False, customized=False),
    Ablation(name="infile", suffix=True, open_files=False, workspace=False, retrieval=False, customized=False),
    Ablation(name="open_files", suffix=True, open_files=True, workspace=False, retrieval=False, customized=False),
    Ablation(name="project_index", suffix=True, open_files=True, workspace=True, retrieval=False, customized=False),
    Ablation(name="retrieval", suffix=True, open_files=True, workspace=True, retrieval=True, customized=False),
    Ablation(name="customized", suffix=True, open_files=True, workspace=True, retrieval=True, customized=True),
)
ABLATION_NAMES: tuple[str, ...] = tuple(a.name for a in ABLATIONS)


def ablation_named(name: str) -> Ablation:
    """The ablation called ``name``; ValueError for an unknown one."""
    for ablation in ABLATIONS:
        if ablation.name == name:
            return ablation
    raise ValueError(f"unknown ablation {name!r}; expected one of {', '.join(ABLATION_NAMES)}")


@dataclass(frozen=True, kw_only=True)
class EditorView:
    """What the editor holds for one task under one ablation: the target document's text and the cursor's
    place in it, and the other open documents."""

    task: Task
    document: str
    prefix: str
    suffix: str
    others: tuple[SourceDocument, ...] = ()


def nearest_files(target: str, candidates: Iterable[str], count: int) -> list[str]:
    """Up to ``count`` of ``candidates`` nearest to ``target`` in the directory tree, in the target's
    language, nearest first; the target itself is never among them."""
    language = language_for_path(target)
    here = PurePosixPath(target).parent.parts

    def distance(path: str) -> tuple[int, str]:
        there = PurePosixPath(path).parent.parts
        shared = 0
        for a, b in zip(here, there, strict=False):
            if a != b:
                break
            shared += 1
        return (len(here) - shared) + (len(there) - shared), path

    others = [p for p in candidates if p != target and language_for_path(p) == language]
    return sorted(others, key=distance)[:count]


def editor_view(
    task: Task,
    ablation: Ablation,
    mirror: Mirror | None,
    *,
    open_files: int = DEFAULT_OPEN_FILES,
) -> EditorView:
    """The editor state ``ablation`` simulates for ``task``; open files are read from the masked mirror."""
    suffix = task.suffix if ablation.suffix else ""
    others: tuple[SourceDocument, ...] = ()
    if ablation.open_files and mirror is not None and open_files > 0:
        chosen = nearest_files(task.path, mirror.texts, open_files)
        others = tuple(
            SourceDocument(key=os.path.join(mirror.root, rel), path=rel, version=1, text=mirror.texts[rel])
            for rel in chosen
        )
    return EditorView(task=task, document=task.prefix + suffix, prefix=task.prefix, suffix=suffix, others=others)
