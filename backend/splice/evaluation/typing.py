"""Replaying the writing of held-out code, keystroke by keystroke, through a real ``splice serve``.

A task's hidden span (a block's body or one statement, sampled as the hidden-line benchmark samples them,
from the same masked repositories, behind the same leakage guard) is typed back into the document as an
editor would send it: one incremental ``didChange`` per character, and after each one (the person types
slower than the editor's debounce) an automatic ``textDocument/inlineCompletion`` at the new cursor. The
simulated developer looks at each suggestion shown and takes it when it writes exactly what they were about
to type: the whole of it (applied with the item's ``range``, as the editor applies it), or else the longest
word-by-word prefix of it that does (a partial accept, as with the editor's accept-next-word), and reports
the accept with ``splice/didAcceptCompletion``; a suggestion typed past is reported with
``splice/didRejectCompletion``. After an accept the editor asks again at once. What the server keeps
answering while the person types through a suggestion (its typeahead) is the same suggestion, not a new one.

What each replay records is in :class:`Replay`; :mod:`splice.evaluation.typing_report` aggregates them.
The client's document is its own model of the text, updated from the edits it sends, so the final text is
what an editor would hold: a suggestion applied with a wrong range shows up as a region that differs from
the real file ("broken after accept" counts the tree-sitter errors it adds).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from splice.evaluation.ablations import DEFAULT_OPEN_FILES, Ablation, editor_view
from splice.evaluation.isolation import Mirror, check_isolation
from splice.evaluation.sampling import Sample, Task, sample_tasks
from splice.evaluation.stdio import ServerProcess, utf16_position
from splice.postprocess.syntax import error_spans, parse

AUTOMATIC = 2  # InlineCompletionTriggerKind.Automatic: the editor asks because the person typed
# A word for accept-next-word: leading blanks, then a run of word characters or a run of punctuation;
# blanks at the very end of a suggestion are a word of their own.
_WORD = re.compile(r"\s*(?:\w+|[^\w\s]+)|\s+$")

ProgressCallback = Callable[[int, int], None]


@dataclass(kw_only=True)
class Shown:
    """One suggestion on screen, from the request that first showed it until it is taken or typed past."""

    text: str
    completion_id: str
    remaining: str  # what is left of it on screen after the characters typed or accepted since
    accepted: int = 0  # characters of the region it wrote
    whole: bool = False  # taken to its end (at once, or word by word)
    confidence: float | None = None  # the server's estimate that it is kept (``data.confidence``)
    features: dict[str, float] = field(default_factory=dict)  # what that estimate was made from
    engine: str = ""  # the engine that proposed it (``data.engine``)
    fallback: str = ""  # why the configured engine did not, when another stood in (``data.fallback``)

    @property
    def taken(self) -> str:
        """``whole``, ``partly`` or ``not``: what the developer took of it."""
        return "whole" if self.whole else "partly" if self.accepted else "not"


class Answer(NamedTuple):
    """The first item of an answer: its text, the span of the document it replaces, its id, what the
    server said about its confidence, and which engine proposed it."""

    text: str
    start: int
    end: int
    completion_id: str
    confidence: float | None
    features: dict[str, float]
    engine: str = ""
    fallback: str = ""


@dataclass(kw_only=True)
class Replay:
    """One task typed under one configuration: counts, the latency of every request, and what was shown."""

    task_id: str
    language: str
    repo: str
    region_chars: int
    keystrokes: int = 0  # characters typed plus accepts (a Tab or an accept-word is a keystroke too)
    requests: int = 0  # opportunities: automatic requests sent
    accepts: int = 0  # whole suggestions taken
    partial_accepts: int = 0  # word-wise prefixes taken
    saved_chars: int = 0  # region characters written by accepted suggestions
    late: int = 0  # answers slower than the typing pace
    failed: int = 0  # requests answered with an error or not at all
    latencies_ms: list[float] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    region_errors_added: int = 0  # tree-sitter errors in the typed region that the real file lacks
    final_matches: bool = True  # the document after the replay is the real file

    @property
    def wrong(self) -> int:
        """Suggestions shown that the developer took nothing of."""
        return sum(1 for item in self.shown if item.accepted == 0)


def accepted_length(insert: str, replaced: str, rest: str) -> tuple[int, int]:
    """What the developer takes of a suggestion: ``(region characters written, characters inserted)``.

    ``insert`` replaces ``replaced`` (the document's text after the cursor that the item's range covers);
    ``rest`` is what the developer is still to type. The whole suggestion is taken when applying it leaves
    the document as if they had typed part of ``rest`` (any code it overwrites, it writes again); otherwise
    the longest word-wise prefix of ``insert`` that ``rest`` begins with, inserted without the range.
    ``(0, 0)`` when nothing of it is what they meant.
    """
    written = len(insert) - len(replaced)
    if 0 < written <= len(rest) and insert == rest[:written] + replaced:
        return written, len(insert)
    best = 0
    for match in _WORD.finditer(insert):
        if not rest.startswith(insert[: match.end()]):
            break
        best = match.end()
    return best, best


def offset_of(text: str, line: int, character: int) -> int:
    """The code-point offset of the LSP position (line, UTF-16 units) in ``text``; clamped to the line."""
    start = 0
    for _ in range(line):
        found = text.find("\n", start)
        if found < 0:
            return len(text)
        start = found + 1
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    units = 0
    offset = start
    while offset < end and units < character:
        units += 2 if ord(text[offset]) > 0xFFFF else 1
        offset += 1
    return offset


def typing_sample(repos: Sequence[Path], n: int, seed: int) -> Sample:
    """``n`` regions to type: half block bodies, half single statements, at most one region per file.

    Both halves come from the hidden-line sampler with the same seed, so they are the same for the same
    repositories. One region per file, because the server indexes an open document's text as it is typed:
    a second region of the same file would be in the index from the first one's replay, where the file is
    open in full.
    """
    blocks = sample_tasks(repos, n - n // 2, seed, kind="block")
    # Twice as many statements as needed, so that those in a file already chosen can be left out and each
    # language still gets its share (taken round-robin over languages, in the sampler's order).
    lines = sample_tasks(repos, 2 * (n // 2), seed, kind="line") if n // 2 else Sample(tasks=[], files={})
    taken: set[tuple[Path, str]] = set()
    bodies = [task for task in blocks.tasks if _first_in_file(task, taken)]
    by_language: dict[str, list[Task]] = {}
    for task in lines.tasks:
        by_language.setdefault(task.language, []).append(task)
    statements: list[Task] = []
    queues = [by_language[language] for language in sorted(by_language)]
    while len(statements) < n // 2 and any(queues):
        for queue in queues:
            while queue and len(statements) < n // 2:
                if _first_in_file(task := queue.pop(0), taken):
                    statements.append(task)
                    break
    problems = [p for p in [*blocks.problems, *lines.problems] if "only" not in p]
    if len(bodies) + len(statements) < n:
        problems.append(f"only {len(bodies)} bodies and {len(statements)} statements in files of their own; "
                        f"typing {len(bodies) + len(statements)} regions instead of {n}")
    return Sample(tasks=[*bodies, *statements], files=blocks.files, problems=list(dict.fromkeys(problems)))


def _first_in_file(task: Task, taken: set[tuple[Path, str]]) -> bool:
    """Whether ``task`` is the first region of its file (and note the file as taken)."""
    key = (task.repo, task.path)
    if key in taken:
        return False
    taken.add(key)
    return True


class TypingClient:
    """One task's document in one server: the text as the editor holds it and the edits that change it."""

    def __init__(self, server: ServerProcess, uri: str, text: str, cursor: int, *, late_ms: float) -> None:
        self.server = server
        self.uri = uri
        self.text = text
        self.cursor = cursor
        self.version = 1
        self.late_ms = late_ms

    async def edit(self, start: int, end: int, new: str) -> None:
        """Replace ``text[start:end]`` with ``new`` and send it as one incremental change."""
        (start_line, start_char), (end_line, end_char) = (utf16_position(self.text[:start]),
                                                          utf16_position(self.text[:end]))
        self.version += 1
        await self.server.notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": self.version},
            "contentChanges": [{"range": {"start": {"line": start_line, "character": start_char},
                                          "end": {"line": end_line, "character": end_char}}, "text": new}],
        })
        self.text = self.text[:start] + new + self.text[end:]
        self.cursor = start + len(new)

    async def ask(self, replay: Replay) -> Answer | None:
        """The first suggestion at the cursor, or None."""
        line, character = utf16_position(self.text[: self.cursor])
        replay.requests += 1
        started = time.perf_counter()
        try:
            result = await self.server.request("textDocument/inlineCompletion", {
                "textDocument": {"uri": self.uri}, "position": {"line": line, "character": character},
                "context": {"triggerKind": AUTOMATIC},
            }, timeout=60)
        except (RuntimeError, TimeoutError):
            replay.failed += 1
            return None
        elapsed = (time.perf_counter() - started) * 1000
        replay.latencies_ms.append(elapsed)
        replay.late += elapsed > self.late_ms
        items = result.get("items", []) if isinstance(result, dict) else []
        if not items or not isinstance(items[0], dict) or not items[0].get("insertText"):
            return None
        item: dict[str, Any] = items[0]
        span = item.get("range") or {}
        start, end = self.cursor, self.cursor
        if isinstance(span, dict) and "start" in span and "end" in span:
            start = offset_of(self.text, span["start"]["line"], span["start"]["character"])
            end = offset_of(self.text, span["end"]["line"], span["end"]["character"])
        data = item.get("data") if isinstance(item.get("data"), dict) else {}
        assert isinstance(data, dict)
        raw = data.get("confidence")
        found = data.get("confidenceFeatures")
        features = ({str(k): float(v) for k, v in found.items() if isinstance(v, int | float)}
                    if isinstance(found, dict) else {})
        return Answer(str(item["insertText"]), start, end, str(data.get("completionId", "")),
                      float(raw) if isinstance(raw, int | float) else None, features,
                      str(data.get("engine", "")), str(data.get("fallback", "")))

    async def feedback(self, method: str, completion_id: str, **extra: Any) -> None:
        """A show, accept or reject notification for a suggestion the server named."""
        if completion_id:
            await self.server.notify(method, {"completionId": completion_id, **extra})


async def replay_task(server: ServerProcess, mirror: Mirror, view_document: str, task: Task, *,
                      late_ms: float) -> Replay:
    """Type ``task``'s region into the open document ``view_document`` (the file minus the region)."""
    region = task.middle
    replay = Replay(task_id=task.id, language=task.language, repo=task.repo.name, region_chars=len(region))
    uri = mirror.path_of(task).as_uri()
    client = TypingClient(server, uri, view_document, task.start, late_ms=late_ms)
    typed = 0
    current: Shown | None = None
    while True:
        answer = await client.ask(replay)
        current = await _on_screen(client, replay, current, answer)
        if current is not None and answer is not None:
            gained = await _maybe_accept(client, replay, current, answer, region[typed:])
            if gained:
                typed += gained
                if typed >= len(region):
                    break
                continue  # the editor asks again after an accept
        if typed >= len(region):
            break
        char = region[typed]
        await client.edit(client.cursor, client.cursor, char)
        replay.keystrokes += 1
        typed += 1
        if current is not None and current.remaining.startswith(char):
            current.remaining = current.remaining[1:]
    _judge(replay, task, client.text, view_document)
    return replay


async def _on_screen(client: TypingClient, replay: Replay, current: Shown | None,
                     answer: Answer | None) -> Shown | None:
    """The suggestion on screen after an answer: the same one (typed through, or offered again after a
    keystroke it did not foresee), a new one, or none."""
    text = answer.text if answer is not None else None
    if current is not None and text == current.remaining:
        return current  # the server's typeahead, or the same text again: what is already on screen
    if current is not None and not current.accepted:
        reason = "typedPast" if text is None else "replaced"
        await client.feedback("splice/didRejectCompletion", current.completion_id, reason=reason)
    if answer is None or text is None:
        return None
    shown = Shown(text=text, completion_id=answer.completion_id, remaining=text, confidence=answer.confidence,
                  features=answer.features, engine=answer.engine, fallback=answer.fallback)
    replay.shown.append(shown)
    await client.feedback("splice/didShowCompletion", shown.completion_id)
    return shown


async def _maybe_accept(client: TypingClient, replay: Replay, current: Shown,
                        answer: Answer, rest: str) -> int:
    """Take what the developer would of the suggestion on screen; the region characters it wrote."""
    insert, start, end, completion_id = answer.text, answer.start, answer.end, answer.completion_id
    if start != client.cursor:
        return 0  # a range that starts elsewhere rewrites what the developer already typed: not taken
    written, inserted = accepted_length(insert, client.text[start:end], rest)
    if not written:
        return 0
    whole = inserted == len(insert)
    if whole:
        await client.edit(start, end, insert)
        await client.feedback("splice/didAcceptCompletion", completion_id)
        replay.accepts += 1
    else:
        await client.edit(client.cursor, client.cursor, insert[:inserted])
        await client.feedback("splice/didAcceptCompletion", completion_id, acceptedLength=inserted)
        replay.partial_accepts += 1
    current.accepted += written
    current.remaining = insert[inserted:]
    current.whole = not current.remaining
    replay.saved_chars += written
    replay.keystrokes += 1
    return written


def _judge(replay: Replay, task: Task, final: str, view_document: str) -> None:
    """Compare the typed document with the real file: the same text, and no syntax error added in the
    region."""
    original = view_document[: task.start] + task.middle + view_document[task.start :]
    replay.final_matches = final == original
    tail = len(view_document) - task.start
    before = _region_errors(task.language, original, task.start, len(original) - tail)
    after = _region_errors(task.language, final, task.start, max(task.start, len(final) - tail))
    replay.region_errors_added = max(0, after - before)


def _region_errors(language: str, text: str, start: int, end: int) -> int:
    tree = parse(language, text)
    if tree is None:
        return 0
    low = len(text[:start].encode("utf-8"))
    high = low + len(text[start:end].encode("utf-8"))
    return sum(1 for a, b in error_spans(tree.root_node) if a <= high and b >= low)


async def replay_repository(
    server: ServerProcess,
    mirror: Mirror,
    ablation: Ablation,
    tasks: Sequence[Task],
    *,
    open_files: int = DEFAULT_OPEN_FILES,
    late_ms: float,
    on_task: Callable[[Replay], None],
) -> None:
    """Type every task of one masked repository through one server, each behind the leakage guard."""
    for task in tasks:
        view = editor_view(task, ablation, mirror, open_files=open_files)
        check_isolation(task, mirror, document=view.document, others=view.others)
        opened = [Path(doc.key).as_uri() for doc in view.others]
        for doc, uri in zip(view.others, opened, strict=True):
            await _open(server, uri, task.language, doc.text)
        target = mirror.path_of(task).as_uri()
        await _open(server, target, task.language, view.document)
        try:
            replay = await replay_task(server, mirror, view.document, task, late_ms=late_ms)
        finally:
            for uri in [target, *opened]:
                await server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        on_task(replay)


async def _open(server: ServerProcess, uri: str, language: str, text: str) -> None:
    await server.notify("textDocument/didOpen", {
        "textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text},
    })
