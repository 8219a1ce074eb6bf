"""The completion pipeline with a fake engine: trigger rules, confidence filter, line endings, ranking."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable

from splice.config import Settings
from splice.context.builder import PromptBuilder
from splice.context.prompt import Snippet
from splice.context.sources import SnippetQuery
from splice.context.tokens import TokenCounter
from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.pipeline import CompletionInput, CompletionPipeline

COUNTER = TokenCounter.load()


class ListEngine(RemoteEngine):
    name = "list"

    def __init__(self, candidates: list[Candidate]) -> None:
        self.candidates = candidates
        self.requests: list[GenerationRequest] = []

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        self.requests.append(request)
        return self.candidates

    async def aclose(self) -> None:
        return None


def pipeline(candidates: list[Candidate], **settings: object) -> tuple[CompletionPipeline, ListEngine]:
    # A fake candidate carries no evidence for the confidence model; the threshold has its own tests.
    config = dataclasses.replace(Settings(), **{"min_confidence": 0.0, **settings})  # type: ignore[arg-type]
    engine = ListEngine(candidates)
    return CompletionPipeline(config, PromptBuilder(config, COUNTER), engine), engine


def ask(prefix: str, suffix: str = "\n", invoked: bool = False, eol: str = "\n") -> CompletionInput:
    return CompletionInput(path="m.py", language="python", prefix=prefix, suffix=suffix, invoked=invoked, eol=eol)


async def test_automatic_trigger_inside_a_word_or_before_code_is_skipped() -> None:
    p, engine = pipeline([Candidate(text="x")])
    assert (await p.complete(ask("value = comp", "ute()\n"))).skipped == "cursor inside a word"
    assert (await p.complete(ask("value = ", "compute()\n"))).skipped == "code after the cursor on its line"
    assert not engine.requests
    # Asked for explicitly, or with only closers after the cursor, it goes ahead.
    assert (await p.complete(ask("value = ", "compute()\n", invoked=True))).skipped is None
    assert (await p.complete(ask("print(", ")\n"))).skipped is None


async def test_low_confidence_candidates_are_dropped_when_the_filter_is_on() -> None:
    candidates = [Candidate(text="unlikely()", mean_logprob=-3.2), Candidate(text="likely()", mean_logprob=-0.4)]
    p, engine = pipeline(candidates, min_mean_logprob=-1.5)
    result = await p.complete(ask("x = "))
    assert [pr.text for pr in result.proposals] == ["likely()"]
    assert any("low confidence" in d for d in result.dropped)
    assert engine.requests[-1].want_logprobs
    off, engine_off = pipeline(candidates)
    assert [pr.text for pr in (await off.complete(ask("x = "))).proposals] == ["unlikely()"]
    assert not engine_off.requests[-1].want_logprobs


async def test_crlf_documents_get_crlf_suggestions_and_engines_see_lf() -> None:
    p, engine = pipeline([Candidate(text="for item in items:\n        print(item)")])
    result = await p.complete(ask("def show(items):\r\n    ", "\r\n", eol="\r\n"))
    assert result.multiline
    assert result.proposals[0].text == "for item in items:\r\n        print(item)"
    assert "\r" not in engine.requests[-1].document_prefix


async def test_duplicates_collapse_and_invoked_requests_get_alternatives() -> None:
    p, _ = pipeline([Candidate(text="a + b"), Candidate(text="a + b"), Candidate(text="a - b"),
                     Candidate(text="a * b"), Candidate(text="a / b")])
    invoked = await p.complete(ask("total = ", invoked=True))
    assert [pr.text for pr in invoked.proposals] == ["a + b", "a - b", "a * b"]
    assert set(invoked.timings_ms) == {"context", "engine", "postprocess", "total"}
    fresh, _ = pipeline([Candidate(text="a + b"), Candidate(text="a - b")])
    typed = await fresh.complete(ask("total = "))
    assert [pr.text for pr in typed.proposals] == ["a + b"]


async def test_typing_through_a_suggestion_serves_the_rest_without_the_engine() -> None:
    p, engine = pipeline([Candidate(text="compute(first, second)")])
    first = await p.complete(ask("    total = ", "\n\nreturn total\n"))
    assert first.proposals[0].text == "compute(first, second)" and len(engine.requests) == 1
    typed = await p.complete(ask("    total = comp", "\n\nreturn total\n"))
    assert typed.typed_ahead and typed.proposals[0].text == "ute(first, second)"
    assert len(engine.requests) == 1
    # Typing something else, or a change below the cursor, asks the engine again.
    await p.complete(ask("    total = x", "\n\nreturn total\n"))
    await p.complete(ask("    total = comp", "\n\nreturn total * 2\n"))
    assert len(engine.requests) == 3
    # Asking explicitly always reaches the engine.
    await p.complete(ask("    total = comp", "\n\nreturn total\n", invoked=True))
    assert len(engine.requests) == 4
    # Typing all of it leaves nothing to serve.
    done = await p.complete(ask("    total = compute(first, second)", "\n\nreturn total\n"))
    assert not done.typed_ahead


class CountingSource:
    """A snippet source that counts its searches and answers with one snippet naming the cursor."""

    name = "counting"

    def __init__(self) -> None:
        self.queries: list[SnippetQuery] = []

    def search(self, query: SnippetQuery) -> Awaitable[tuple[Snippet, ...]]:
        self.queries.append(query)

        async def found() -> tuple[Snippet, ...]:
            return (Snippet(path="lib.py", text=f"# searched at {query.offset}\n", start_line=0, end_line=1,
                            score=1.0, source=self.name),)

        return found()


def prepared_pipeline() -> tuple[CompletionPipeline, ListEngine, CountingSource]:
    config = dataclasses.replace(Settings(), min_confidence=0.0)
    source = CountingSource()
    engine = ListEngine([Candidate(text="total")])
    return CompletionPipeline(config, PromptBuilder(config, COUNTER), engine, sources=[source]), engine, source


async def test_a_prepared_cursor_is_answered_from_the_prompt_made_ahead() -> None:
    p, engine, source = prepared_pipeline()
    request = ask("def add(a, b):\n    return ")
    p.prepare(request)
    await asyncio.sleep(0.01)  # the pause before the editor asks
    assert len(source.queries) == 1  # searched before the request arrived
    result = await p.complete(dataclasses.replace(request))
    assert len(source.queries) == 1  # the request searched nothing itself
    assert [pr.text for pr in result.proposals] == ["total"]
    prompt = engine.requests[-1].prompt
    assert "# searched at 26" in prompt.text and "counting" in result.sources
    # The same prompt as a request that was never prepared.
    fresh, fresh_engine, _ = prepared_pipeline()
    await fresh.complete(request)
    assert fresh_engine.requests[-1].prompt == prompt


async def test_a_request_for_other_text_than_prepared_builds_its_own_prompt() -> None:
    p, engine, source = prepared_pipeline()
    p.prepare(ask("def add(a, b):\n    return "))
    await asyncio.sleep(0.01)
    result = await p.complete(ask("def add(a, b):\n    return a"))
    assert len(source.queries) == 2
    assert "# searched at 27" in engine.requests[-1].prompt.text
    assert result.proposals
    # What was prepared is used once: a second request at the prepared cursor searches again.
    p.prepare(ask("x = "))
    await asyncio.sleep(0.01)
    await p.complete(ask("x = "))
    await p.complete(ask("x = ", invoked=True))
    assert len(source.queries) == 4


async def test_a_cursor_the_request_will_skip_is_not_prepared() -> None:
    p, _, source = prepared_pipeline()
    p.prepare(ask("value = comp", "ute()\n"))
    await asyncio.sleep(0)
    assert not source.queries


async def test_a_closed_document_forgets_its_prepared_cursor() -> None:
    p, _, source = prepared_pipeline()
    request = ask("def add(a, b):\n    return ")
    p.prepare(request)
    await asyncio.sleep(0.01)
    p.forget("m.py")
    await p.complete(request)
    assert len(source.queries) == 2  # the request searched for itself
