"""The guardrail's score, its reproduction of a selection, and a refusal that publishes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from splice.evaluation.guardrail import evaluate_customization, guardrail, quality_score, selection_knobs, verdict
from splice.retrieval.customization import customize
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


def _write_repos(tmp_path: Path) -> list[Source]:
    """A library and an application that calls it: what customization is for."""
    lib, app = tmp_path / "lib", tmp_path / "app"
    lib.mkdir()
    app.mkdir()
    for i in range(6):
        (lib / f"api_{i}.py").write_text(
            f"def fetch_record_{i}(client, key):\n    return client.lookup_table_{i}(key, timeout=30)\n\n\n"
            f"def store_record_{i}(client, key, value):\n    client.persist_{i}(key, value, retries=3)\n")
        (app / f"use_{i}.py").write_text(
            f"def handler_{i}(client, request):\n    value = client.lookup_table_{i}(request.key, timeout=30)\n"
            f"    client.persist_{i}(request.key, value, retries=3)\n    return value\n")
    return [Source("lib", lib), Source("app", app)]


def test_guardrail_compares_the_pipeline_with_and_without_the_artifact(tmp_path: Path) -> None:
    check = guardrail(tenant="acme", tasks=8)
    metrics = asyncio.run(check(tmp_path, _write_repos(tmp_path), IndexReport()))
    assert metrics["baseline"] == "retrieval" and metrics["tasks"] > 0
    assert set(metrics["summary"]) == {"retrieval", "customized"}
    assert 1 <= metrics["quality_score"] <= 10


def test_one_repository_cannot_measure_its_own_artifact(tmp_path: Path) -> None:
    sources = _write_repos(tmp_path)[:1]
    metrics = asyncio.run(evaluate_customization(sources, {}, tenant="acme"))
    assert metrics["refused"].startswith("the guardrail needs two or more repositories")


class _Evaluated:
    """An evaluation whose lift and per-task scores are given."""

    def __init__(self, delta: float, ci95: tuple[float, float], changed: bool = True) -> None:
        self.unavailable: dict[str, str] = {}
        self.tasks = ["t1", "t2", "t3"]
        self._lift = {"n": 3, "edit_similarity": {"delta": delta, "ci95": list(ci95)}}
        self._changed = changed

    def lift(self, candidate: str, baseline: str) -> dict[str, Any]:
        return self._lift

    def summary(self, name: str) -> dict[str, Any]:
        return {}

    def score(self, ablation: str, task: str) -> dict[str, float]:
        moved = self._changed and ablation == "customized"
        return {"edit_similarity": 0.6 if moved else 0.5}


def test_a_lift_whose_interval_includes_zero_is_refused() -> None:
    metrics = verdict(_Evaluated(0.02, (-0.01, 0.05)), seed=0)
    assert metrics["refused"].startswith("no measurable lift") and metrics["quality_score"] == 1


def test_a_measurable_lift_is_published_with_its_score() -> None:
    metrics = verdict(_Evaluated(0.05, (0.01, 0.09)), seed=0)
    assert "refused" not in metrics and metrics["quality_score"] > 1


def test_a_customization_that_does_worse_is_refused() -> None:
    metrics = verdict(_Evaluated(-0.05, (-0.09, -0.01)), seed=0)
    assert metrics["refused"].startswith("the customization does worse")


def test_a_customization_that_changes_nothing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def same(*args: Any, **kwargs: Any) -> _Evaluated:
        return _Evaluated(0.0, (0.0, 0.0), changed=False)

    monkeypatch.setattr("splice.evaluation.evaluate", same)
    sources = [Source("a", Path("a")), Source("b", Path("b"))]
    metrics = asyncio.run(evaluate_customization(sources, {}, tenant="acme"))
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
