"""The confidence of a suggestion: its features at different cursors, the model, and the show threshold in
the pipeline (with a fake engine)."""

from __future__ import annotations

import dataclasses

from splice.confidence import FEATURES, Evidence, confidence, evidence, features, named
from splice.config import Settings
from splice.context.builder import PromptBuilder
from splice.context.tokens import TokenCounter
from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.pipeline import CompletionInput, CompletionPipeline

COUNTER = TokenCounter.load()
PLAIN = Evidence(score=1.0, margin=1.0, alone=False, agreement=0.5, context_tokens=3, mean_logprob=None)


def _at(prefix: str, suffix: str = "\n", language: str = "python", text: str = "x") -> dict[str, float]:
    return named(features(PLAIN, text, 0, prefix, suffix, language, typeahead=False))


def test_cursor_position_features() -> None:
    assert _at("    value = comp")["mid_identifier"] == 1.0
    assert _at("    value = ")["after_operator"] == 1.0 and _at("    value = ")["mid_identifier"] == 0.0
    assert _at("    self.")["after_dot"] == 1.0
    assert _at("def f():\n    ")["line_start"] == 1.0 and _at("x = 1")["line_start"] == 0.0
    assert _at("x = ", "\n")["end_of_line"] == 1.0 and _at("f(", ")\n")["end_of_line"] == 0.0


def test_line_start_after_an_opener_or_a_blank_line_and_the_word_typed() -> None:
    assert _at("def f():\n    ")["after_opener"] == 1.0 and _at("def f():\n    ")["after_blank_line"] == 0.0
    assert _at("x = 1\n  \n    ")["after_blank_line"] == 1.0 and _at("    ")["after_blank_line"] == 0.0
    assert _at("x = 1\n    ")["line_start_match"] == _at("x = 1\n    ")["match"] > 0
    assert _at("    value = comp")["word_typed"] > _at("    value = c")["word_typed"] > 0 == _at("x = ")["word_typed"]
    assert _at("x = ", text="total")["one_word"] == 1.0 and _at("x = ", text="f(a)")["one_word"] == 0.0
    assert _at("x = ", text="f(a")["unbalanced"] == 1.0 and _at("x = ", text="f(a)")["unbalanced"] == 0.0


def test_comments_and_strings_are_seen_on_the_cursor_line() -> None:
    assert _at("x = 1  # the total ")["in_comment_or_string"] == 1.0
    assert _at('print("a # b')["in_comment_or_string"] == 1.0  # inside the string, not a comment
    assert _at('print("a # b", ')["in_comment_or_string"] == 0.0
    assert _at("int x = 1; // note ", language="c")["in_comment_or_string"] == 1.0
    assert _at("int x = a # b", language="c")["in_comment_or_string"] == 0.0  # '#' is not C's comment
    assert _at(r"s = 'it\'s ")["in_comment_or_string"] == 1.0  # an escaped quote does not close it


def test_size_typeahead_and_logprob_features() -> None:
    values = named(features(dataclasses.replace(PLAIN, mean_logprob=-0.5), "a\nb\nc", 2, "x = ", "\n",
                            "python", typeahead=True))
    assert values["lines"] > 0 and values["typeahead"] == 1.0 and values["replaces"] == 1.0
    assert values["has_logprob"] == 1.0 and values["logprob"] == -0.5
    assert _at("x = ")["has_logprob"] == 0.0 and _at("x = ")["logprob"] == 0.0


def test_evidence_margin_and_agreement_between_candidates() -> None:
    candidates = [Candidate(text="return total", score=3.0, context_tokens=9),
                  Candidate(text="return None", score=1.0), Candidate(text="pass", score=0.5)]
    first = evidence(candidates, 0)
    assert first.margin == 2.0 and first.agreement == 2 / 3 and first.context_tokens == 9 and not first.alone
    assert first.candidates == 3
    last = evidence(candidates, 2)
    assert last.margin == 10.0 and last.agreement == 1 / 3  # nothing after it: the cap
    assert evidence(candidates[:1], 0).alone


def test_confidence_is_a_probability_that_follows_the_coefficients() -> None:
    values = features(PLAIN, "x", 0, "x = ", "\n", "python", typeahead=False)
    assert 0.0 <= confidence(values) <= 1.0
    assert confidence(values, {}, 0.0) == 0.5
    assert confidence(values, {"agreement": 4.0}, 0.0) > confidence(values, {"agreement": -4.0}, 0.0)
    assert confidence(values, {"score": 1e9}, 0.0) == 1.0 / (1.0 + 2.718281828459045 ** -40)  # no overflow
    assert len(values) == len(FEATURES)


class ListEngine(RemoteEngine):
    name = "list"

    def __init__(self, candidates: list[Candidate]) -> None:
        self.candidates = candidates

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        return self.candidates


def _pipeline(candidates: list[Candidate], min_confidence: float) -> CompletionPipeline:
    config = dataclasses.replace(Settings(), min_confidence=min_confidence)
    return CompletionPipeline(config, PromptBuilder(config, COUNTER), ListEngine(candidates))


def _ask(prefix: str, invoked: bool = False) -> CompletionInput:
    return CompletionInput(path="m.py", language="python", prefix=prefix, suffix="\n", invoked=invoked)


async def test_the_threshold_hides_automatic_suggestions_and_an_explicit_request_shows_them() -> None:
    candidates = [Candidate(text="total", score=2.0)]
    shown = await _pipeline(candidates, 0.0).complete(_ask("x = "))
    likely = shown.proposals[0].confidence
    assert set(shown.proposals[0].features) == set(FEATURES)
    hidden = await _pipeline(candidates, min(1.0, likely + 0.01)).complete(_ask("x = "))
    assert not hidden.proposals and any("below minConfidence" in reason for reason in hidden.dropped)
    kept = await _pipeline(candidates, max(0.0, likely - 0.01)).complete(_ask("x = "))
    assert [p.text for p in kept.proposals] == ["total"]
    invoked = await _pipeline(candidates, 1.0).complete(_ask("x = ", invoked=True))
    assert [p.text for p in invoked.proposals] == ["total"]


async def test_the_rest_of_a_shown_suggestion_stays_while_it_is_typed() -> None:
    p = _pipeline([Candidate(text="total_count", score=2.0)], 0.0)
    first = await p.complete(_ask("x = "))
    p.settings = dataclasses.replace(p.settings, min_confidence=1.0)  # raised while the person types
    rest = await p.complete(_ask("x = tot"))
    assert rest.typed_ahead and [pr.text for pr in rest.proposals] == ["al_count"]
    assert rest.proposals[0].features["typeahead"] == 1.0 and first.proposals[0].features["typeahead"] == 0.0
