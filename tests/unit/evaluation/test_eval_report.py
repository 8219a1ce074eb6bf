"""The report: scoring on the hidden span's lines, the published JSON shape, lifts, and writing it out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from splice.commands import eval as eval_command
from splice.evaluation import ABLATION_NAMES, KINDS
from splice.evaluation.ablations import DEFAULT_OPEN_FILES
from splice.evaluation.html_report import render_html
from splice.evaluation.report import Report, scored_text, write_json
from splice.evaluation.sampling import Task
from splice.evaluation.session import Outcome

TEXT = "def f(a, b):\n    total = a + b\n    return total\n"


def task(number: int, language: str = "python") -> Task:
    start = TEXT.index("total = a + b")
    return Task(id=f"r/m{number}.py:2:line", repo=Path("/r"), path=f"m{number}.py", language=language,
                kind="line", start=start, end=start + len("total = a + b"), line=1, text=TEXT)


def outcome(t: Task, prediction: str, latency: float = 5.0) -> Outcome:
    return Outcome(task_id=t.id, prediction=prediction, latency_ms=latency)


def make_report() -> Report:
    tasks = [task(i, "python" if i < 3 else "javascript") for i in range(4)]
    right, wrong = "total = a + b", "total = a - b"
    outcomes = {
        "prefix_only": {t.id: outcome(t, wrong, 2.0) for t in tasks},
        "infile": {t.id: outcome(t, right if i % 2 == 0 else wrong, 4.0) for i, t in enumerate(tasks)},
        "open_files": {t.id: outcome(t, right + "\n    return total", 6.0) for t in tasks},
    }
    return Report(tasks=tasks, ablations=list(ABLATION_NAMES), outcomes=outcomes,
                  unavailable={"retrieval": "not here", "customized": "not here"}, resamples=200)


def test_a_line_task_scores_the_first_line_of_a_suggestion() -> None:
    t = task(0)
    assert scored_text("total = a + b\n    return total", t) == "total = a + b"
    block = Task(id="b", repo=Path("/r"), path="m.py", language="python", kind="block", start=17,
                 end=len(TEXT) - 1, line=1, text=TEXT)
    assert scored_text("x = 1\n    y = 2\n    z = 3", block) == "x = 1\n    y = 2"


def test_the_json_has_the_published_shape() -> None:
    data = make_report().as_json()
    assert data["tasks"] == 4
    assert list(data["ablations"]) == list(ABLATION_NAMES)
    for name in ("prefix_only", "infile", "open_files"):
        row = data["ablations"][name]
        assert set(row) >= {"exact_match", "edit_similarity", "bleu", "identifier_f1", "n"} and row["n"] == 4
    assert data["ablations"]["prefix_only"]["exact_match"] == 0.0
    assert data["ablations"]["infile"]["exact_match"] == 0.5
    assert data["ablations"]["open_files"]["exact_match"] == 1.0
    assert data["ablations"]["retrieval"] == {"exact_match": None, "edit_similarity": None, "bleu": None,
                                              "identifier_f1": None, "n": 0, "available": False,
                                              "reason": "not here"}
    assert data["by_language"]["python"]["tasks"] == 3
    assert data["by_repo"]["r"]["tasks"] == 4 and data["by_repo"]["r"]["open_files"]["exact_match"] == 1.0
    assert data["by_language"]["javascript"]["infile"]["exact_match"] == 0.0  # task 3 got the wrong line
    assert data["latency_ablation"] == "open_files"
    assert data["latency_ms"] == {"p50": 6.0, "p95": 6.0, "p99": 6.0}
    assert data["per_task"][0]["predictions"]["open_files"]["text"] == "total = a + b"


def test_lifts_compare_with_prefix_only_and_with_the_previous_row() -> None:
    lifts = make_report().as_json()["lifts"]
    assert "prefix_only" not in lifts
    assert lifts["infile"]["over_prefix_only"]["exact_match"]["delta"] == 0.5
    assert lifts["open_files"]["over_previous"]["baseline"] == "infile"
    assert lifts["open_files"]["over_previous"]["exact_match"]["delta"] == 0.5
    low, high = lifts["open_files"]["over_prefix_only"]["exact_match"]["ci95"]
    assert low == high == 1.0
    assert lifts["infile"]["over_prefix_only"]["exact_match"]["ratio"] is None  # prefix_only scored 0


def test_the_html_page_is_self_contained() -> None:
    page = render_html(make_report().as_json())
    assert page.count("data:image/png;base64,") == 3
    assert "http://" not in page and "https://" not in page
    assert "unavailable: not here" in page
    assert "Hits" in page and "Misses" in page


def test_write_json_replaces_atomically_and_nan_becomes_null(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_json({"x": float("nan"), "y": [1.0]}, path)
    assert json.loads(path.read_text()) == {"x": None, "y": [1.0]}
    assert os.stat(path).st_mode & 0o044  # readable by others, as reports are meant to be
    with pytest.raises(OSError):
        write_json({}, tmp_path / "missing" / "out.json")


def test_the_command_spells_the_evaluation_names_it_cannot_import() -> None:
    assert eval_command.ABLATION_NAMES == ABLATION_NAMES
    assert eval_command.KINDS == KINDS
    assert eval_command.DEFAULT_OPEN_FILES == DEFAULT_OPEN_FILES
