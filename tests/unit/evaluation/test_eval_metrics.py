"""Each metric against values computed by hand, and the paired bootstrap's interval."""

from __future__ import annotations

import math

import pytest

from splice.evaluation.bootstrap import paired_bootstrap
from splice.evaluation.metrics import (
    bleu,
    code_tokens,
    edit_similarity,
    exact_match,
    identifier_f1,
    latency_summary,
    percentile,
    scores,
)


def test_exact_match_ignores_runs_of_whitespace_but_not_missing_spaces() -> None:
    assert exact_match("x  =\tfoo(a,  b)  ", "x = foo(a, b)") == 1.0
    assert exact_match("if a:\n    b", "if a: b") == 1.0
    assert exact_match("x=1", "x = 1") == 0.0
    assert exact_match("", "") == 1.0


def test_edit_similarity_is_one_minus_levenshtein_over_the_longer_length() -> None:
    # kitten -> sitting: two substitutions and one insertion; the longer string has 7 characters.
    assert edit_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert edit_similarity("  abc ", "abc") == 1.0
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("", "abcd") == 0.0
    assert edit_similarity("abcd", "abce") == pytest.approx(0.75)


def test_bleu_matches_the_hand_computed_brevity_penalty() -> None:
    # Every n-gram precision is 1 (4/4, 3/3, 2/2, 1/1); the hypothesis has 4 tokens for a reference of 5,
    # so BLEU is the brevity penalty exp(1 - 5/4).
    assert bleu("a b c d", "a b c d e") == pytest.approx(math.exp(1 - 5 / 4))
    assert bleu("x = foo(a)", "x = foo(a)") == pytest.approx(1.0)
    assert bleu("zzz", "a b c d") == 0.0
    assert bleu("", "a b") == 0.0
    assert bleu("", "") == 1.0


def test_code_tokens_split_punctuation_and_keep_strings_whole() -> None:
    assert code_tokens('x.y = f("a b", 10)') == ["x", ".", "y", "=", "f", "(", '"a b"', ",", "10", ")"]


def test_identifier_f1_counts_names_as_a_multiset_without_keywords() -> None:
    # {foo, bar, baz} against {foo, bar, qux, quux}: 2 shared, precision 2/3, recall 2/4, F1 4/7.
    assert identifier_f1("foo(bar, baz)", "foo(bar, qux, quux)") == pytest.approx(4 / 7)
    # "a a b" against "a b": 2 shared of 3 predicted and 2 expected: precision 2/3, recall 1, F1 0.8.
    assert identifier_f1("a a b", "a b") == pytest.approx(0.8)
    assert identifier_f1("return x", "return y") == 0.0
    assert identifier_f1("return", "return None") == 1.0  # None is a keyword too: nothing to name
    assert identifier_f1("const v = 1", "let v = 2", "javascript") == 1.0


def test_scores_bundle_every_metric() -> None:
    result = scores("total = a + b", "total = a + b", "python")
    assert result == {"exact_match": 1.0, "edit_similarity": 1.0, "bleu": pytest.approx(1.0), "identifier_f1": 1.0}


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    assert latency_summary([]) == {"p50": None, "p95": None, "p99": None}
    assert latency_summary([10.0, 20.0]) == {"p50": 15.0, "p95": 19.5, "p99": 19.9}


def test_paired_bootstrap_of_a_constant_difference_is_exact() -> None:
    lift = paired_bootstrap([1.0, 2.0, 3.0], [0.0, 1.0, 2.0], seed=1)
    assert lift.delta == pytest.approx(1.0)
    assert (lift.low, lift.high) == (pytest.approx(1.0), pytest.approx(1.0))
    assert lift.ratio == pytest.approx(2.0)
    zero = paired_bootstrap([0.5, 0.5], [0.5, 0.5])
    assert (zero.delta, zero.low, zero.high) == (0.0, 0.0, 0.0)


def test_paired_bootstrap_is_reproducible_and_brackets_the_mean() -> None:
    candidate = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    baseline = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    first = paired_bootstrap(candidate, baseline, seed=7)
    assert first == paired_bootstrap(candidate, baseline, seed=7)
    assert first.delta == pytest.approx(0.4)
    assert first.low <= first.delta <= first.high
    assert first.low >= 0.0 and first.high <= 0.8  # differences are 0 or 1, four of ten are 1
    assert first.ratio == pytest.approx(7 / 3)
    assert paired_bootstrap([1.0], [0.0]).ratio is None


def test_paired_bootstrap_refuses_unpaired_scores() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap([1.0, 2.0], [1.0])
    assert math.isnan(paired_bootstrap([], []).delta)
