"""Two typing reports of the same regions compared with paired intervals (``scripts/compare-typing``)."""

from __future__ import annotations

from typing import Any

import pytest

from splice.evaluation.typing_compare import comparison


def _report(saved: list[int], wrong: int) -> dict[str, Any]:
    tasks = []
    for index, chars in enumerate(saved):
        shown = [{"text": "x", "accepted": chars}] + [{"text": "y", "accepted": 0}] * wrong
        tasks.append({"id": f"t{index}", "repo": "r", "language": "python" if index % 2 else "go",
                      "region": "z" * 100, "rows": {"retrieval": {
                          "keystrokes": 100 - chars, "requests": 100, "accepts": 1, "partial_accepts": 0,
                          "saved_chars": chars, "shown": shown}}})
    return {"kind": "typing", "latency_ablation": "retrieval", "per_task": tasks}


def test_paired_differences_overall_and_per_language() -> None:
    before, after = _report([40, 50, 60, 30], wrong=3), _report([38, 50, 59, 30], wrong=1)
    result = comparison(before, after, resamples=200)
    assert list(result) == ["all", "go", "python"] and result["all"]["n"] == 4
    chars = result["all"]["chars_saved"]
    assert chars["before"] == 0.45 and chars["after"] == 0.4425 and chars["delta"] == pytest.approx(-0.0075)
    assert chars["ci95"][0] <= chars["delta"] <= chars["ci95"][1] <= 0
    assert result["all"]["wrong_shown"]["before"] == 0.75 and result["all"]["wrong_shown"]["after"] == 0.5


def test_reports_of_other_regions_are_refused() -> None:
    other = _report([1], wrong=0)
    other["per_task"][0]["id"] = "elsewhere"
    with pytest.raises(ValueError, match="share no region"):
        comparison(_report([1], wrong=0), other)
    with pytest.raises(ValueError, match="not a typing report"):
        comparison({"kind": "line"}, other)
