"""The guardrail's score, its reproduction of a selection, and a refusal that publishes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from splice.retrieval.customization import customize
from splice.retrieval.guardrail import evaluate_customization, guardrail, quality_score, selection_knobs
from splice.retrieval.indexing import IndexReport, Source
from splice.retrieval.selection import History, Knobs, Selector


def test_quality_score_from_lift() -> None:
    assert quality_score(-0.2) == 1 and quality_score(0.0) == 1
    assert quality_score(0.05) in (5, 6) and quality_score(0.5) == 10


def test_selection_knobs_reproduce_skipped_paths() -> None:
    knobs = selection_knobs({"deprecated path": ["repo/legacy/a[1].py"]}, [Source("repo", Path("."))])
    selector = Selector(knobs, History())
    assert selector.reason_to_skip("legacy/a[1].py", "") == "matched by --exclude"
    assert selector.reason_to_skip("legacy/b.py", "") is None


def test_refused_customization_is_not_published(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def a():\n    return 1\n")

    async def refuse(staging: Path, sources: Any, report: IndexReport) -> dict[str, Any]:
        return {"refused": "worse than the default", "quality_score": 1}

    outcome = asyncio.run(customize(tmp_path / "art", "acme", [Source("repo", repo)], knobs=Knobs(), guardrail=refuse))
    assert outcome.refused == "worse than the default" and outcome.published is None
    assert not (tmp_path / "art" / "acme" / "current").exists()


def test_guardrail_runs_the_hidden_line_evaluation(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for i in range(8):
        (repo / f"m{i}.py").write_text(
            f"def handler_{i}(request):\n    value = request.get('key_{i}')\n    return value * {i}\n\n\n"
            f"def other_{i}(items):\n    total = sum(items)\n    return total + {i}\n")
    check = guardrail(tenant="acme", tasks=6)
    metrics = asyncio.run(check(tmp_path, [Source("repo", repo)], IndexReport()))
    assert 1 <= metrics["quality_score"] <= 10
    assert metrics["baseline"] == "open_files" and metrics["tasks"] > 0


class _SameAnswers:
    """An evaluation in which the artifact changed no suggestion."""

    def __init__(self) -> None:
        self.unavailable: dict[str, str] = {}
        self.tasks = ["t1", "t2", "t3"]

    def lift(self, candidate: str, baseline: str) -> dict[str, Any]:
        return {"n": 3, "edit_similarity": {"delta": 0.0, "ci95": [0.0, 0.0]}}

    def summary(self, name: str) -> dict[str, Any]:
        return {}

    def score(self, ablation: str, task: str) -> dict[str, float]:
        return {"edit_similarity": 0.5}


def test_a_customization_that_changes_nothing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def same(*args: Any, **kwargs: Any) -> _SameAnswers:
        return _SameAnswers()

    monkeypatch.setattr("splice.evaluation.evaluate", same)
    metrics = asyncio.run(evaluate_customization([Source("repo", Path("."))], {}, tenant="acme"))
    assert metrics["changed"] == 0
    assert metrics["refused"] == ("the customization changed none of the 3 held-out suggestions: "
                                  "no evidence that it helps")


def test_an_empty_selection_is_refused_before_the_guardrail_runs(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def a():\n    return 1\n")

    async def never(staging: Path, sources: Any, report: IndexReport) -> dict[str, Any]:
        raise AssertionError("the guardrail has nothing to judge")

    outcome = asyncio.run(customize(tmp_path / "art", "acme", [Source("repo", repo)],
                                    knobs=Knobs(include=("src/**",)), guardrail=never))
    assert outcome.refused == "no file was selected (--include src/** matched nothing)"
    assert outcome.published is None
