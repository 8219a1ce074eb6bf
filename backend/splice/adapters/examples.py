"""Fill-in-the-middle training examples from a tenant's files, in the model family's own prompt format.

Each example hides a middle (a line from its indentation, a line's tail from a token boundary, or a block's body)
and renders the text around it with the same template the serving prompts use
(:mod:`splice.context.templates`), so the adapter learns exactly the format it is asked in. Middles are the
hidden-line evaluation's own task spans (:func:`splice.evaluation.sampling.file_candidates`), so the adapter
practises what it is measured on; only a language without a grammar gets spans cut by characters. Files come
in through :func:`splice.workspace.workspace_files`, so the selection rules and secret redaction are the ones
every other reader obeys. The choice of middles depends on the seed alone.
"""

from __future__ import annotations

import random
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from splice.context.templates import FimTemplate
from splice.evaluation.sampling import file_candidates
from splice.languages import has_grammar, language_for_path
from splice.workspace import WalkLimits, WorkspaceFile, workspace_files

KINDS = ("line", "span", "block")


@dataclass(frozen=True, kw_only=True)
class FimExample:
    """A rendered prompt and the middle the model should produce after it; ``path`` is metadata."""

    path: str
    kind: str
    prompt: str
    middle: str


def _middle_bounds(lines: list[str], kind: str, rng: random.Random) -> tuple[int, int, int, int] | None:
    """(first line, start column, last line, end column) of a middle of ``kind``, or None if none fits."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if not filled:
        return None
    row = rng.choice(filled)
    line = lines[row]
    indent = len(line) - len(line.lstrip())
    if kind == "line":
        return row, rng.randint(indent, max(indent, len(line) - 1)), row, len(line)
    if kind == "span":
        if len(line) - indent < 4:
            return None
        start = rng.randint(indent, len(line) - 2)
        return row, start, row, rng.randint(start + 1, len(line))
    last = min(len(lines) - 1, row + rng.randint(1, 5))
    return row, indent, last, len(lines[last])


def _character_span(lines: list[str], offsets: list[int], kind: str, rng: random.Random) -> tuple[int, int] | None:
    bounds = _middle_bounds(lines, kind, rng)
    if bounds is None:
        return None
    first, start_col, last, end_col = bounds
    return offsets[first] + start_col, offsets[last] + end_col


def file_examples(file: WorkspaceFile, template: FimTemplate, rng: random.Random, *, count: int,
                  window_chars: int = 1500, mode: str = "psm") -> list[FimExample]:
    """Up to ``count`` examples from one file, kinds in turn; prefix and suffix windows of bounded size."""
    lines = file.text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    language = language_for_path(file.path)
    candidates = file_candidates(file.text, language) if has_grammar(language) else None
    examples: list[FimExample] = []
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        if candidates is None:
            bounds = _character_span(lines, offsets, kind, rng)
        else:  # a file with no middle of this kind the evaluation would hide gives none to train on
            pool = getattr(candidates, kind)
            bounds = rng.choice(pool) if pool else None
        if bounds is None:
            continue
        start, end = bounds
        middle = file.text[start:end]
        if not middle.strip():
            continue
        prefix = file.text[max(0, start - window_chars):start]
        suffix = file.text[end:end + window_chars // 3]
        prompt = template.render(path=file.path, language=language, prefix=prefix, suffix=suffix, mode=mode)
        examples.append(FimExample(path=file.path, kind=kind, prompt=prompt, middle=middle))
    return examples


def window_chars(max_tokens: int) -> int:
    """The prefix window, in characters, that leaves a ``max_tokens`` example room for its suffix window
    (a third of it) and middle at about three characters a token. Training cuts an over-long example
    from the left, so a prefix window too large for the budget would cut away the prefix sentinel and the
    prefix itself, and the adapter would learn to answer from the suffix alone."""
    return max(64, max_tokens * 2)


def fim_examples(files: Iterable[WorkspaceFile], template: FimTemplate, *, seed: int, per_file: int = 6,
                 spm_share: float = 0.0, window: int = 1500) -> list[FimExample]:
    """Examples from every file, shuffled by ``seed``: the same files and seed give the same list;
    ``window`` bounds the prefix in characters (:func:`window_chars`).

    ``spm_share`` of the files get suffix-prefix-middle prompts where the family has that format, so the
    adapter serves either ``fimMode``; the rest get prefix-suffix-middle."""
    rng = random.Random(seed)
    examples: list[FimExample] = []
    for file in files:
        mode = "spm" if template.supports_spm and rng.random() < spm_share else "psm"
        examples.extend(file_examples(file, template, rng, count=per_file, mode=mode, window_chars=window))
    rng.shuffle(examples)
    return examples


def public_files(limit: int, seed: int) -> list[WorkspaceFile]:
    """Up to ``limit`` modules of Python's standard library, chosen by ``seed``: public code mixed into the
    training data so the adapter does not forget general code while it learns the tenant's."""
    if limit <= 0:
        return []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = list(workspace_files(stdlib, WalkLimits(max_files=2000, max_file_bytes=60_000,
                                                    extensions=frozenset({".py"}))))
    files = [f for f in files if "/" not in f.path]  # top-level modules: no test suites or vendored code
    random.Random(seed).shuffle(files)
    return [WorkspaceFile(path=f"stdlib/{f.path}", text=f.text, redactions=f.redactions) for f in files[:limit]]
