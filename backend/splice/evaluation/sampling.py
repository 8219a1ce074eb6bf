"""Which hidden spans the benchmark asks for: reproducible task sampling over real repositories.

Sampling is stratified so that a repository's dominant language does not drown the others: the task count
is split evenly across the languages present (what one language cannot fill goes to the others), and within
a language the files are visited in a seeded random order, one task per file per round, so tasks spread over
as many files as there are before any file gives a second one. Inside a file one eligible span is drawn at
random. Everything random comes from one ``random.Random(seed)``, and files and candidates are enumerated in
sorted order first, so the same repositories and seed always give the same tasks.

What counts as a token, a comment or prose comes from tree-sitter, so the rules hold in every language with
a grammar: a token is a leaf of the syntax tree, a string literal counting as one token and comments as
none; lines inside a multi-line string or comment (docstrings, block comments) are prose and never hidden.
Three kinds of task:

- ``line``: one line with at least five tokens, hidden from the end of its indentation to its last
  non-blank character; the cursor sits after the indentation, as when a person starts typing the line;
- ``block``: the body of a tree-sitter block (a function's, a loop's) of two to twelve lines, starting on a
  line of its own; the cursor sits after the indentation of its first line;
- ``span``: from a random token boundary inside an eligible line to the end of that line: the cursor is
  mid-line, as when a person pauses while typing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from splice.languages import has_grammar, language_for_path, parser
from splice.workspace import WalkLimits, workspace_files

KINDS = ("line", "block", "span")
MIN_TOKENS = 5
MIN_BLOCK_LINES = 2
MAX_BLOCK_LINES = 12

# Node types whose text is one token however it is built inside (a string's quotes, escapes and pieces).
_ATOMIC_MARKERS = ("string", "char_literal", "rune_literal", "heredoc")
# Block node types, per grammar: the bodies ``block`` tasks hide.
_BLOCK_TYPES = frozenset({"block", "statement_block", "compound_statement", "constructor_body"})
_BRACES = frozenset({"{", "}"})


@dataclass(frozen=True, kw_only=True)
class Task:
    """One hidden span: ``text[start:end]`` of file ``path`` in ``repo`` is what a suggestion should
    reproduce. ``text`` is the file's original contents (shared between the tasks of one file)."""

    id: str
    repo: Path
    path: str  # relative to ``repo``, ``/``-separated
    language: str
    kind: str
    start: int  # code-point offsets into ``text``
    end: int
    line: int  # 0-based line of ``start``
    text: str = field(repr=False, compare=False)

    @property
    def prefix(self) -> str:
        """The document before the cursor."""
        return self.text[: self.start]

    @property
    def middle(self) -> str:
        """The hidden span: the expected suggestion."""
        return self.text[self.start : self.end]

    @property
    def suffix(self) -> str:
        """The document after the hidden span."""
        return self.text[self.end :]

    @property
    def live_text(self) -> str:
        """The document as the editor holds it while the span is hidden."""
        return self.prefix + self.suffix


@dataclass(kw_only=True)
class Sample:
    """Sampled tasks, every readable file of each repository (the evaluation's view of the code), and
    messages about anything that fell short (an empty repository, too few candidates)."""

    tasks: list[Task]
    files: dict[Path, dict[str, str]]  # repository -> relative path -> text
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidates:
    """What one file offers: per kind, the (start, end) spans that may be hidden."""

    line: list[tuple[int, int]]
    block: list[tuple[int, int]]
    span: list[tuple[int, int]]


def sample_tasks(
    repos: Sequence[Path],
    n: int,
    seed: int,
    *,
    kind: str = "line",
    limits: WalkLimits | None = None,
    eligible: Callable[[Path, str], bool] | None = None,
) -> Sample:
    """Up to ``n`` tasks of ``kind`` from ``repos``, the same ones for the same inputs and ``seed``.

    ``eligible(repository, path)`` limits which files tasks come from (an adapter's held-out files); every
    readable file still stays in the sample's ``files``, since the rest of the repository is context.

    Fewer than ``n`` come back when the repositories do not hold that many candidates; ``problems`` then
    says so, as it does for a repository that is empty or has no language with a grammar.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}; expected one of {', '.join(KINDS)}")
    rng = random.Random(seed)
    files: dict[Path, dict[str, str]] = {}
    problems: list[str] = []
    by_language: dict[str, list[tuple[Path, str]]] = {}
    for repo in repos:
        root = Path(repo).resolve()
        texts = {f.path: f.text for f in workspace_files(root, limits)}
        files[root] = texts
        supported = [path for path in texts if has_grammar(language_for_path(path))
                     and (eligible is None or eligible(root, path))]
        if not texts:
            problems.append(f"{repo}: no readable files (empty, missing, or everything is ignored)")
        elif not supported:
            problems.append(f"{repo}: no files in a supported language ({len(texts)} files, none with a grammar)")
        for path in sorted(supported):
            by_language.setdefault(language_for_path(path), []).append((root, path))

    languages = sorted(by_language)
    tasks: list[Task] = []
    pools: dict[tuple[Path, str], list[tuple[int, int]]] = {}
    remaining = n
    # Rounds: split what is still wanted evenly over the languages that still have candidates; a language
    # that runs dry leaves its share to the others in the next round.
    while remaining > 0 and languages:
        quotas = _even_split(remaining, languages, rng)
        exhausted: list[str] = []
        for language in languages:
            drawn = _draw(language, quotas[language], by_language[language], files, pools, kind, rng)
            tasks.extend(drawn)
            remaining -= len(drawn)
            if len(drawn) < quotas[language]:
                exhausted.append(language)
        languages = [lang for lang in languages if lang not in exhausted]
    if remaining > 0 and by_language:
        problems.append(f"only {len(tasks)} candidate {kind} spans in the given repositories; "
                        f"evaluating {len(tasks)} tasks instead of {n}")
    return Sample(tasks=tasks, files=files, problems=problems)


def _even_split(total: int, languages: list[str], rng: random.Random) -> dict[str, int]:
    base, extra = divmod(total, len(languages))
    lucky = set(rng.sample(languages, extra))
    return {lang: base + (lang in lucky) for lang in languages}


def _draw(
    language: str,
    quota: int,
    members: list[tuple[Path, str]],
    files: dict[Path, dict[str, str]],
    pools: dict[tuple[Path, str], list[tuple[int, int]]],
    kind: str,
    rng: random.Random,
) -> list[Task]:
    """Up to ``quota`` tasks from one language: files in a random order, one task per file per round."""
    drawn: list[Task] = []
    order = list(members)
    rng.shuffle(order)
    while len(drawn) < quota and order:
        still: list[tuple[Path, str]] = []
        for key in order:
            if len(drawn) >= quota:
                still.append(key)
                continue
            root, path = key
            text = files[root][path]
            pool = pools.get(key)
            if pool is None:
                pool = list(getattr(file_candidates(text, language), kind))
                pools[key] = pool
            if not pool:
                continue
            start, end = pool.pop(rng.randrange(len(pool)))
            # Once a span is taken, spans that overlap it are not offered again.
            pool[:] = [(s, e) for s, e in pool if e <= start or s >= end]
            line = text.count("\n", 0, start)
            drawn.append(Task(
                id=f"{root.name}/{path}:{line + 1}:{kind}" + (f"@{start}" if kind == "span" else ""),
                repo=root, path=path, language=language, kind=kind, start=start, end=end, line=line, text=text,
            ))
            if pool:
                still.append(key)
        order = still
    return drawn


def file_candidates(text: str, language: str) -> _Candidates:
    """Every span of ``text`` that a task of each kind may hide, in document order."""
    tree_parser = parser(language)
    if tree_parser is None:
        return _Candidates([], [], [])
    data = text.encode("utf-8")
    tree = tree_parser.parse(data)
    byte_lines = data.split(b"\n")
    lines = text.split("\n")
    line_starts = [0]
    for line in lines[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)

    def offset(row: int, byte_column: int) -> int:
        return line_starts[row] + len(byte_lines[row][:byte_column].decode("utf-8", errors="ignore"))

    token_columns, prose_rows, blocks = _walk(tree.root_node, offset)

    line_spans: list[tuple[int, int]] = []
    span_spans: list[tuple[int, int]] = []
    for row in sorted(token_columns):
        columns = sorted(token_columns[row])
        if row in prose_rows or len(columns) < MIN_TOKENS:
            continue
        line = lines[row]
        content = line.strip()
        if not content:
            continue
        start = line_starts[row] + (len(line) - len(line.lstrip()))
        end = line_starts[row] + len(line.rstrip())
        line_spans.append((start, end))
        # Mid-line starts: every token boundary after the first token and before the last one, so both the
        # typed part of the line and the hidden part hold code.
        span_spans.extend((offset(row, column), end) for column in columns[1:-1])
    block_spans: list[tuple[int, int]] = []
    for start, end, first_row in sorted(blocks):
        rows = text.count("\n", start, end) + 1
        if not MIN_BLOCK_LINES <= rows <= MAX_BLOCK_LINES:
            continue
        if text[line_starts[first_row] : start].strip():
            continue  # the body must start on a line of its own, after its indentation
        tokens = sum(len(token_columns.get(r, ())) for r in range(first_row, first_row + rows))
        if tokens >= MIN_TOKENS:
            block_spans.append((start, end))
    return _Candidates(line_spans, block_spans, span_spans)


def _walk(root: tree_sitter.Node, offset: Callable[[int, int], int]
          ) -> tuple[dict[int, list[int]], set[int], list[tuple[int, int, int]]]:
    """One pass over the tree: where code tokens start on each row, the rows held by comments and multi-line
    literals (prose, never hidden), and the bodies of blocks as (start offset, end offset, first row)."""
    token_columns: dict[int, list[int]] = {}  # row -> byte columns where code tokens start
    prose_rows: set[int] = set()
    blocks: list[tuple[int, int, int]] = []  # (body start, body end, tokens) as offsets
    stack = [root]
    while stack:
        node = stack.pop()
        node_type = node.type
        start_row, end_row = node.start_point[0], node.end_point[0]
        if "comment" in node_type:
            if end_row > start_row:
                prose_rows.update(range(start_row, end_row + 1))
            continue
        if any(marker in node_type for marker in _ATOMIC_MARKERS) or node.child_count == 0:
            if end_row > start_row:
                prose_rows.update(range(start_row, end_row + 1))
            elif node.end_byte > node.start_byte:
                token_columns.setdefault(start_row, []).append(node.start_point[1])
            continue
        if node_type in _BLOCK_TYPES:
            body = _block_body(node)
            if body is not None:
                (first_row, first_col), (last_row, last_col) = body
                blocks.append((offset(first_row, first_col), offset(last_row, last_col), first_row))
        stack.extend(reversed(node.children))
    return token_columns, prose_rows, blocks


def _block_body(node: tree_sitter.Node) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The (row, byte column) bounds of a block's statements, without its braces; None when empty."""
    children = [c for c in node.children if c.type not in _BRACES]
    # A leading docstring or comment is prose: the body to reproduce starts at the first statement.
    while children and ("comment" in children[0].type or _is_docstring(children[0])):
        children.pop(0)
    if not children:
        return None
    first, last = children[0], children[-1]
    return (first.start_point[0], first.start_point[1]), (last.end_point[0], last.end_point[1])


def _is_docstring(node: tree_sitter.Node) -> bool:
    return node.type == "expression_statement" and node.named_child_count == 1 and any(
        marker in node.named_children[0].type for marker in _ATOMIC_MARKERS
    )
