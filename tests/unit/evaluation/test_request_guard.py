"""The guard at the engine's door refuses a request whose snippets reveal a hidden line of their own file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from splice.context.prompt import FimPrompt, Snippet
from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.evaluation.guard import LEAKAGE_MARK, GuardedEngine, RequestGuard
from splice.evaluation.isolation import LeakageError, build_mirrors
from splice.evaluation.sampling import sample_tasks


class Answers(RemoteEngine):
    name = "answers"

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        return [Candidate(text="x")]


def request_with(snippet: Snippet) -> GenerationRequest:
    prompt = FimPrompt(path="a.py", language="python", prefix="", suffix="", snippets=(snippet,), text="",
                       stop=(), prompt_tokens=1, sources=("prefix",))
    return GenerationRequest(prompt=prompt, document_prefix="", document_suffix="", multiline=False)


@pytest.fixture
def guard(tmp_path: Path) -> tuple[RequestGuard, str, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    body = "".join(f"def step_{i}(value):\n    result = transform_{i}(value, factor={i})\n    return result\n\n"
                   for i in range(12))
    (repo / "a.py").write_text(body)
    sample = sample_tasks([repo], 3, 0)
    mirror = build_mirrors(sample.files, sample.tasks, tmp_path / "work")[repo]
    task = sample.tasks[0]
    return RequestGuard.for_mirror(mirror, sample.tasks), task.path, task.middle.strip()


def test_a_snippet_of_the_file_holding_its_hidden_line_is_refused(guard: tuple[RequestGuard, str, str]) -> None:
    rules, path, hidden = guard
    engine = GuardedEngine(Answers(), rules)
    leak = Snippet(path=path, text=f"{hidden}\n", start_line=0, end_line=1, score=1.0, source="retrieval")
    with pytest.raises(LeakageError, match=LEAKAGE_MARK):
        asyncio.run(engine.generate(request_with(leak)))
    fair = Snippet(path="other.py", text=f"{hidden}\n", start_line=0, end_line=1, score=1.0, source="retrieval")
    assert asyncio.run(engine.generate(request_with(fair)))[0].text == "x"


def test_the_guard_survives_the_trip_to_a_server_process(guard: tuple[RequestGuard, str, str],
                                                         tmp_path: Path) -> None:
    rules, path, hidden = guard
    rules.write(tmp_path / "guard.json")
    engine = GuardedEngine.from_file(Answers(), tmp_path / "guard.json")
    absolute = Snippet(path=str(Path(rules.root) / path), text=f"{hidden}\n", start_line=0, end_line=1,
                       score=1.0, source="open_files")
    with pytest.raises(LeakageError):
        asyncio.run(engine.generate(request_with(absolute)))
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(ValueError, match="not an evaluation guard file"):
        RequestGuard.read(tmp_path / "bad.json")
