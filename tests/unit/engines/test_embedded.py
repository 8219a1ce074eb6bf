"""The embedded engine: nested caches, two-sided ranking, the copy mechanism for local names, multi-line
blocks, live documents, privacy, and its index parts."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import numpy as np
import pytest

from splice.context.prompt import FimPrompt
from splice.engines.base import Engine, GenerationRequest
from splice.engines.embedded import EmbeddedEngine, RankingWeights
from splice.engines.embedded.corpus import document_corpus
from splice.engines.embedded.cursor import cursor_from_text
from splice.engines.embedded.imports import unbound_names
from splice.engines.embedded.lexer import Vocabulary
from splice.engines.embedded.matching import (
    context_matches,
    left_agreement,
    left_agreements,
    right_agreement,
    right_agreements,
)
from splice.engines.embedded.ranking import Proposal, coefficients, known_tokens
from splice.engines.embedded.scope import scope_at
from splice.engines.embedded.suffix_index import ReversedSuffixIndex


def request_at(path: Path, text: str, marker: str = "<|>", *, multiline: bool = False,
               count: int = 4) -> GenerationRequest:
    prefix, suffix = text.split(marker)
    return GenerationRequest(
        prompt=FimPrompt(path=str(path), language="python", prefix=prefix, suffix=suffix),
        document_prefix=prefix, document_suffix=suffix, multiline=multiline, num_candidates=count,
    )


async def ready_engine(workspace: Path | None) -> EmbeddedEngine:
    engine = EmbeddedEngine(workspace=workspace)
    await engine.start()
    assert engine.wait_until_ready(30)
    return engine


async def first_line(engine: EmbeddedEngine, request: GenerationRequest) -> str:
    candidates = await engine.generate(request)
    return candidates[0].text.split("\n")[0] if candidates else ""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_engine_satisfies_both_protocols() -> None:
    engine = EmbeddedEngine(workspace=None)
    assert isinstance(engine, Engine)
    assert engine.name == "embedded"


async def test_repeated_pattern_in_file_is_completed(tmp_path: Path) -> None:
    engine = await ready_engine(None)
    text = (
        "def load(path):\n"
        "    with open(path, encoding='utf-8') as handle:\n"
        "        return handle.read()\n"
        "\n"
        "def load_lines(path):\n"
        "    with open(path, encoding='utf-8') as handle:\n"
        "        <|>\n"
    )
    assert await first_line(engine, request_at(tmp_path / "m.py", text)) == "return handle.read()"


async def test_partial_word_is_completed_not_repeated(tmp_path: Path) -> None:
    engine = await ready_engine(None)
    text = "x = compute_total(items)\nprint(x)\ny = compute_<|>\n"
    assert await first_line(engine, request_at(tmp_path / "m.py", text)) == "total(items)"


async def test_more_local_cache_wins_over_project(tmp_path: Path) -> None:
    write(tmp_path, "other/far.py", "def setup(app):\n    app.register(remote_handler)\n")
    current = tmp_path / "pkg" / "here.py"
    text = ("def setup(app):\n    app.register(local_handler)\n\n"
            "def setup(app):\n    app.register(<|>\n")
    write(tmp_path, "pkg/here.py", text.replace("<|>", ""))
    engine = await ready_engine(tmp_path)
    assert await first_line(engine, request_at(current, text)) == "local_handler)"


async def test_project_supplies_patterns_from_other_files(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "def area(shape):\n    width, height = shape.size\n    return width * height\n")
    engine = await ready_engine(tmp_path)
    text = "def perimeter(shape):\n    width, height = shape.size\n    <|>\n"
    assert await first_line(engine, request_at(tmp_path / "b.py", text)) == "return width * height"


async def test_suffix_decides_between_equally_likely_lines(tmp_path: Path) -> None:
    engine = await ready_engine(None)
    body = (
        "if ready:\n    start()\n    log('started')\n"
        "if ready:\n    stop()\n    log('stopped')\n"
    )
    stopped = await first_line(engine, request_at(tmp_path / "m.py", body + "if ready:\n    <|>\n    log('stopped')\n"))
    started = await first_line(engine, request_at(tmp_path / "m.py", body + "if ready:\n    <|>\n    log('started')\n"))
    assert (stopped, started) == ("stop()", "start()")


async def test_document_changed_overrides_disk_and_close_restores_it(tmp_path: Path) -> None:
    other = write(tmp_path, "other.py", "def go():\n    return from_disk()\n")
    engine = await ready_engine(tmp_path)
    request = request_at(tmp_path / "new.py", "def go():\n    <|>\n")
    assert await first_line(engine, request) == "return from_disk()"
    engine.document_changed(str(other), "def go():\n    return from_editor()\n")
    assert await first_line(engine, request) == "return from_editor()"
    engine.document_closed(str(other))
    assert await first_line(engine, request) == "return from_disk()"


async def test_a_file_written_after_indexing_replaces_its_index_copy_once_closed(tmp_path: Path) -> None:
    other = write(tmp_path, "other.py", "def go():\n    return from_disk()\n")
    engine = await ready_engine(tmp_path)
    request = request_at(tmp_path / "new.py", "def go():\n    <|>\n")
    assert await first_line(engine, request) == "return from_disk()"
    # Saved from the editor, then closed: the index's copy is older than the file.
    engine.document_changed(str(other), "def go():\n    return from_saved()\n")
    other.write_text("def go():\n    return from_saved()\n", encoding="utf-8")
    engine.document_closed(str(other))
    assert await first_line(engine, request) == "return from_saved()"
    # A file created and saved without ever being open here counts as well.
    created = write(tmp_path, "created.py", "def run():\n    return created_since()\n")
    engine.document_closed(str(created))
    run = request_at(tmp_path / "new.py", "def run():\n    <|>\n")
    assert await first_line(engine, run) == "return created_since()"


async def test_a_closed_file_unchanged_since_indexing_keeps_the_index_copy(tmp_path: Path) -> None:
    other = write(tmp_path, "other.py", "def go():\n    return from_disk()\n")
    old = time.time_ns() - 3_600_000_000_000
    os.utime(other, ns=(old, old))
    engine = await ready_engine(tmp_path)
    engine.document_changed(str(other), "def go():\n    return unsaved()\n")
    engine.document_closed(str(other))  # the edit was discarded: the file is as indexed
    assert engine._written == {}
    assert await first_line(engine, request_at(tmp_path / "new.py", "def go():\n    <|>\n")) == "return from_disk()"


async def test_secret_and_ignored_files_are_not_indexed(tmp_path: Path) -> None:
    write(tmp_path, ".env", "API_TOKEN = 'hunter2-secret'\n")
    write(tmp_path, ".gitignore", "private/\n")
    write(tmp_path, "private/keys.py", "API_TOKEN = 'ignored-secret'\n")
    write(tmp_path, "id_rsa", "API_TOKEN = 'key-secret'\n")
    engine = await ready_engine(tmp_path)
    engine.document_changed(str(tmp_path / ".env"), "API_TOKEN = 'opened-secret'\n")
    candidates = await engine.generate(request_at(tmp_path / "app.py", "API_TOKEN = <|>\n"))
    assert not any("secret" in c.text for c in candidates)
    assert await engine.generate(request_at(tmp_path / ".env", "API_TOKEN = 'a'\nAPI_TOKEN = <|>\n")) == []


async def test_empty_workspace_and_empty_document_give_nothing(tmp_path: Path) -> None:
    engine = await ready_engine(tmp_path)
    assert await engine.generate(request_at(tmp_path / "m.py", "<|>")) == []
    assert await engine.generate(request_at(tmp_path / "m.py", "\n\n<|>\n\n")) == []
    await engine.aclose()


async def test_start_returns_at_once_and_indexing_finishes(tmp_path: Path) -> None:
    for i in range(200):
        write(tmp_path, f"m{i}.py", f"def f{i}(x):\n    return x + {i}\n")
    engine = EmbeddedEngine(workspace=tmp_path)
    began = time.perf_counter()
    await engine.start()
    assert time.perf_counter() - began < 0.05
    assert engine.wait_until_ready(30)
    assert await first_line(engine, request_at(tmp_path / "new.py", "def f7(x):\n    <|>\n")) == \
        "return x + 7"


async def test_multiline_request_gets_the_block(tmp_path: Path) -> None:
    engine = await ready_engine(None)
    text = ("for item in items:\n    if item.ready:\n        item.run()\n\n"
            "done = True\n<|>\n")
    candidates = await engine.generate(request_at(tmp_path / "m.py", text.replace(
        "<|>", "for item in items:\n    <|>"), multiline=True))
    assert candidates[0].text == "if item.ready:\n        item.run()"


async def test_generate_does_not_block_the_event_loop(tmp_path: Path) -> None:
    engine = await ready_engine(None)
    text = "\n".join(f"value_{i} = compute({i})" for i in range(3000)) + "\nvalue_9 = <|>\n"
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await engine.generate(request_at(tmp_path / "m.py", text))
    task.cancel()
    assert ticks > 1


def test_lexer_round_trips_line_text() -> None:
    vocab = Vocabulary()
    line = "result = f(a, b=2)  # note   'x'  \"y\" **kw"
    assert vocab.join(vocab.line_tokens(line)) == line


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suffix_index_finds_the_longest_context(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, 6, size=400).astype(np.int32)
    context = rng.integers(1, 6, size=12).astype(np.int32)
    ranges = ReversedSuffixIndex(tokens).match_ranges(context, 12)
    positions, lengths = context_matches(tokens, context, 12)
    longest = int(lengths.max())
    assert ranges[-1].length == longest
    expected = sorted(positions[lengths == longest].tolist())
    found = sorted(ReversedSuffixIndex(tokens).positions(ranges[-1].lo, ranges[-1].hi).tolist())
    assert found == expected


async def test_next_parameter_is_copied_into_the_attribute_pattern(tmp_path: Path) -> None:
    engine = await ready_engine(None)
    head = "class Option:\n    def __init__(self, name, flag_value, hidden=False):\n        self.name = name\n"
    assert await first_line(engine, request_at(tmp_path / "m.py", head + "        <|>\n")) == \
        "self.flag_value = flag_value"
    head += "        self.flag_value = flag_value\n"
    assert await first_line(engine, request_at(tmp_path / "m.py", head + "        <|>\n")) == "self.hidden = hidden"


async def test_attribute_pattern_from_another_class_uses_this_signature(tmp_path: Path) -> None:
    engine = await ready_engine(None)
    text = ("class A:\n    def __init__(self, path, mode):\n        self.path = path\n        self.mode = mode\n\n"
            "class B:\n    def __init__(self, url, timeout):\n        <|>\n")
    assert await first_line(engine, request_at(tmp_path / "m.py", text)) == "self.url = url"


def test_scope_lists_unused_parameters_and_names_read_below_without_a_definition() -> None:
    head = [
        "import os",
        "class Reader:",
        "    def __init__(",
        "        self, path: str, mode: str = 'r', *, encoding=None,",
        "    ) -> None:",
        "        self.path = path",
    ]
    tail = ["        handle = open(path, opened_mode)", "        self.handle = handle", "", "def other():"]
    scope = scope_at(head, 8, tail)
    assert scope.unused_parameters == ("mode", "encoding")
    assert scope.used_parameters == frozenset({"path"})
    assert scope.needed == ("opened_mode",)  # ``open`` is called, ``handle`` is bound below
    assert scope_at(["x = 1"], 0, []).unused_parameters == ()


async def test_nearby_line_after_a_different_indentation_change_is_proposed(tmp_path: Path) -> None:
    engine = await ready_engine(None)
    text = (
        "def refresh(self, columns):\n"
        "    if columns is None:\n"
        "        <|>\n"
        "        return\n"
        "    self.columns = columns\n"
        "    self._configure_columns()\n"
    )
    candidates = await engine.generate(request_at(tmp_path / "m.py", text))
    assert "self._configure_columns()" in [c.text for c in candidates]


def test_docstring_prose_is_not_part_of_the_token_stream() -> None:
    vocab = Vocabulary()
    text = 'def f():\n    """Summary.\n\n    Long prose here.\n    """\n    return 1\n'
    joined = [vocab.join(line[1:]) for line in vocab.line_stream(text.split("\n"))]
    assert joined == ["def f():", '"""Summary.', "return 1"]


async def test_multiline_request_in_an_empty_body_gets_the_whole_body(tmp_path: Path) -> None:
    engine = await ready_engine(None)
    source = ("def save(path, data):\n    text = json.dumps(data)\n    path.write_text(text)\n"
              "    return len(text)\n\n")
    candidates = await engine.generate(request_at(
        tmp_path / "m.py", source + "def save(path, data):\n    <|>\n\nprint(1)\n", multiline=True))
    assert candidates[0].text == "text = json.dumps(data)\n    path.write_text(text)\n    return len(text)"


def test_batched_agreements_equal_the_single_ones() -> None:
    rng = np.random.default_rng(3)
    tokens = rng.integers(1, 4, size=300).astype(np.int32)
    context = rng.integers(1, 4, size=10).astype(np.int32)
    positions = np.arange(0, 300, 7, dtype=np.int64)
    assert left_agreements(tokens, positions, context, 8).tolist() == \
        [left_agreement(tokens, int(p), context, 8) for p in positions]
    assert right_agreements(tokens, positions, context, 8).tolist() == \
        [right_agreement(tokens, int(p), context, 8) for p in positions]


def test_every_ranking_feature_has_a_coefficient() -> None:
    vocab = Vocabulary()
    cursor = cursor_from_text(vocab, "x = 1\n", "\n")
    proposal = Proposal("y = 2", vocab.line_tokens("y = 2"), 1.0, 0.0, 0, 1)
    assert len(proposal.features(vocab, cursor, known_tokens(vocab, cursor))) == len(coefficients(RankingWeights()))


async def test_import_line_is_built_for_names_used_below(tmp_path: Path) -> None:
    write(tmp_path, "pkg/a.py", "from pkg.errors import FormatError, SchemaError\n\nraise SchemaError()\n")
    write(tmp_path, "pkg/b.py", "from collections.abc import Callable, Mapping\n")
    engine = await ready_engine(tmp_path)
    text = ("import os\n<|>\n\n\ndef check(value: Mapping) -> None:\n"
            "    if not os.sep:\n        raise FormatError(value)\n")
    assert await first_line(engine, request_at(tmp_path / "pkg" / "c.py", text)) == \
        "from pkg.errors import FormatError"
    text = "import os\n<|>\nfrom pkg.errors import FormatError\n\nCHECKS: Mapping[str, Callable] = {}\n"
    assert await first_line(engine, request_at(tmp_path / "pkg" / "c.py", text)) == \
        "from collections.abc import Callable, Mapping"


async def test_parenthesised_import_list_gets_its_opening_line(tmp_path: Path) -> None:
    write(tmp_path, "pkg/a.py", "from pkg.typing import EventDict, Processor\n")
    engine = await ready_engine(tmp_path)
    text = "import sys\n\n<|>\n    EventDict,\n    Processor,\n)\n"
    assert await first_line(engine, request_at(tmp_path / "pkg" / "c.py", text)) == "from pkg.typing import ("


def test_unbound_names_skip_bound_names_builtins_attributes_and_prose() -> None:
    vocab = Vocabulary()
    text = ('"""Render the report with Jinja."""\nimport os\nfrom x import Bound\n\n'
            "def render(path):\n    total = len(path)\n    for item in Items(path):\n"
            "        Writer.write(os.sep, item.value, total)\n")
    assert unbound_names(vocab, document_corpus(vocab, [(text, 0)])) == ["Items", "Writer"]


UNOPENED = {
    "deploy/aws.py": 'aws_secret_access_key = "q1w2e3r4t5y6u7i8o9p0ASDFGHJKLZXCVBNM1234"\n',
    "deploy/db.py": 'password = "Tr0ub4dor&3x"\n',
    "scripts/backup.sh": "mysqldump -u root -pS3cretDump app > app.sql\n",
    "scripts/ci.sh": "curl -u admin:Adm1nCurlPw https://ci.internal/job\n",
}
PLANTED = ("q1w2e3r4t5y6u7i8o9p0", "Tr0ub4dor", "S3cretDump", "Adm1nCurlPw")


@pytest.mark.parametrize(("path", "prefix"), [
    ("deploy/aws2.py", 'aws_secret_access_key = "<|>\n'),
    ("deploy/db2.py", 'password = "<|>\n'),
    ("scripts/backup2.sh", "mysqldump -u root -p<|>\n"),
    ("scripts/ci2.sh", "curl -u admin:<|>\n"),
])
async def test_secrets_of_unopened_files_are_never_suggested(tmp_path: Path, path: str, prefix: str) -> None:
    for rel, text in UNOPENED.items():
        write(tmp_path, rel, text)
    engine = await ready_engine(tmp_path)
    candidates = await engine.generate(request_at(tmp_path / path, prefix))
    assert not any(secret in c.text for c in candidates for secret in PLANTED)


async def test_an_open_document_is_learnt_redacted(tmp_path: Path) -> None:
    engine = await ready_engine(tmp_path)
    engine.document_changed(str(tmp_path / "settings.py"), 'password = "Tr0ub4dor&3x"\n')
    candidates = await engine.generate(request_at(tmp_path / "app.py", 'password = "<|>\n'))
    assert not any("Tr0ub4dor" in c.text for c in candidates)


async def test_links_to_secret_files_are_not_indexed(tmp_path: Path) -> None:
    write(tmp_path, ".env", "API_TOKEN = 'linked-dotenv-s3cret'\n")
    os.symlink(".env", tmp_path / "settings_local.py")
    engine = await ready_engine(tmp_path)
    candidates = await engine.generate(request_at(tmp_path / "app.py", "API_TOKEN = <|>\n"))
    assert not any("s3cret" in c.text for c in candidates)
