"""Keeping the answer out of the question: the masked copy of each repository, and the leakage guard.

Everything that learns from a repository (the embedded engine's project index, the retrieval index, a
tenant artifact) is built from a *masked mirror*: a copy of the repository's readable files in which every
sampled task's hidden span has been cut out. One mirror serves every task and every configuration, so the
indexes are built once per repository and still never hold a hidden span in its original place. The rest of
the repository stays as it is: code that repeats the hidden line elsewhere is fair context, exactly as it
would be for a person typing.

:func:`check_isolation` is asserted before every request: the document the pipeline sees is the file
minus exactly the hidden span, no other open document is the target file, the mirror's copy of the target
is masked, and no snippet attributed to the target file holds a hidden line that the masked copy lacks. A failure raises
:class:`LeakageError`; the run stops rather than report a number that was computed with the answer in view.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from splice.context.prompt import Snippet
from splice.context.snippets import SourceDocument
from splice.evaluation.sampling import Task


class LeakageError(AssertionError):
    """The pipeline could see a hidden span: the measurement would be meaningless."""


def masked_text(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with every ``(start, end)`` span cut out; overlapping spans are merged first."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    position = 0
    for start, end in merged:
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


@dataclass(frozen=True)
class Mirror:
    """A masked copy of one repository at ``root``: ``texts`` maps relative paths to what was written,
    ``spans`` the masked files to the spans cut out of them."""

    source: Path
    root: Path
    texts: dict[str, str]
    spans: dict[str, list[tuple[int, int]]]

    def path_of(self, task: Task) -> Path:
        """The absolute path of the task's file inside the mirror."""
        return self.root / task.path

    @property
    def artifacts_root(self) -> Path:
        """Where tenant artifacts built from this mirror are published."""
        return self.root.parent / f"{self.root.name}-artifacts"

    @property
    def index_dir(self) -> Path:
        """Where a server started on this mirror keeps its workspace index (not the person's cache)."""
        return self.root.parent / f"{self.root.name}-index"


def build_mirror(source: Path, files: dict[str, str], tasks: Sequence[Task], dest: Path) -> Mirror:
    """Write ``files`` under ``dest`` with the spans of ``tasks`` (those of ``source``) cut out.

    The mirror has a ``.git`` directory so that tools which look for the repository root (and the walker's
    ignore rules) treat it as the repository; the original ignore files are copied with the code.
    """
    spans: dict[str, list[tuple[int, int]]] = {}
    for task in tasks:
        if task.repo == source:
            spans.setdefault(task.path, []).append((task.start, task.end))
    if dest.exists():
        shutil.rmtree(dest)
    (dest / ".git").mkdir(parents=True)
    texts: dict[str, str] = {}
    for rel, text in files.items():
        written = masked_text(text, spans[rel]) if rel in spans else text
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(written, encoding="utf-8")
        texts[rel] = written
    for ignore in (".gitignore", ".spliceignore"):
        if (source / ignore).is_file():
            shutil.copy(source / ignore, dest / ignore)
    return Mirror(source=source, root=dest, texts=texts, spans=spans)


def build_mirrors(
    files: dict[Path, dict[str, str]], tasks: Sequence[Task], workdir: Path | None = None
) -> dict[Path, Mirror]:
    """One mirror per repository that holds tasks, under ``workdir`` (a new temporary directory if None)."""
    base = workdir or Path(tempfile.mkdtemp(prefix="splice-eval-"))
    repos = sorted({task.repo for task in tasks})
    mirrors: dict[Path, Mirror] = {}
    for number, repo in enumerate(repos):
        mirrors[repo] = build_mirror(repo, files[repo], tasks, base / f"{number:02d}-{repo.name}")
    return mirrors


def check_isolation(
    task: Task,
    mirror: Mirror | None,
    *,
    document: str,
    others: Sequence[SourceDocument] = (),
    snippets: Sequence[Snippet] = (),
) -> None:
    """Raise :class:`LeakageError` if anything the pipeline is given for ``task`` holds its hidden span.

    ``document`` is the text the editor holds for the target file (the prefix alone, or prefix and suffix).
    """
    live = task.live_text
    if not (document == live or (live.startswith(document) and document == task.prefix)):
        raise LeakageError(f"{task.id}: the document given to the pipeline is not the file minus the hidden span")
    target = os.path.normpath(task.path)
    for other in others:
        if os.path.normpath(other.path) == target or other.path.endswith(os.sep + target):
            raise LeakageError(f"{task.id}: the target file is also given as another open document")
    if mirror is None:
        if snippets:
            raise LeakageError(f"{task.id}: snippets were given without a masked repository to take them from")
        return
    masked = mirror.texts.get(task.path)
    if masked is None:
        raise LeakageError(f"{task.id}: the masked repository has no copy of the target file")
    on_disk = mirror.path_of(task).read_text(encoding="utf-8")
    spans = mirror.spans.get(task.path, [])
    if (task.start, task.end) not in spans or on_disk != masked or masked != masked_text(task.text, spans):
        raise LeakageError(f"{task.id}: the masked repository's copy of the target still holds the hidden span")
    own = [snippet for snippet in snippets if os.path.normpath(snippet.path) == target]
    if own:
        # Snippets may be reshaped (redacted, re-indented), so they are compared line by line: a snippet of
        # the target file leaks when it holds a hidden line that its masked copy holds nowhere else.
        revealing = hidden_lines(task) - {line.strip() for line in masked.split("\n")}
        for snippet in own:
            if revealing & {line.strip() for line in snippet.text.split("\n")}:
                raise LeakageError(f"{task.id}: a snippet from the target file holds the hidden line")


def hidden_lines(task: Task) -> set[str]:
    """The original lines the task's span touches, stripped, without blank ones."""
    start = task.text.rfind("\n", 0, task.start) + 1
    end = task.text.find("\n", task.end)
    touched = task.text[start : end if end >= 0 else len(task.text)]
    return {line.strip() for line in touched.split("\n")} - {""}
