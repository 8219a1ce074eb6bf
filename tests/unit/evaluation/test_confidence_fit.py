"""Fitting the confidence model and the show threshold from a typing report (``scripts/fit-confidence``)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from splice.confidence import FEATURES
from splice.evaluation.confidence_fit import (
    auc,
    best_threshold,
    curve,
    design,
    fit_model,
    split_tasks,
    task_records,
    weights_source,
)

ROOT = Path(__file__).resolve().parents[3]


def synthetic_report(seed: int = 7, tasks: int = 40) -> dict[str, Any]:
    """A typing report whose suggestions are kept more often mid-line end and less mid-identifier."""
    rng = np.random.default_rng(seed)
    per_task = []
    for index in range(tasks):
        shown = []
        for _ in range(12):
            values = {name: float(rng.integers(0, 2)) for name in FEATURES}
            values["score"] = float(rng.normal())
            z = -1.0 + 2.0 * values["score"] - 2.5 * values["mid_identifier"]
            kept = rng.random() < 1 / (1 + np.exp(-z))
            accepted = int(rng.integers(2, 12)) if kept else 0
            shown.append({"text": "x", "accepted": accepted, "taken": "partly" if kept else "not",
                          "confidence": 0.5, "features": values})
        per_task.append({"id": f"t{index}", "language": "python", "region": "y" * 200,
                         "rows": {"retrieval": {"keystrokes": 180, "shown": shown}}})
    return {"kind": "typing", "latency_ablation": "retrieval", "settings": {"min_confidence": 0.0},
            "per_task": per_task}


def test_the_fit_finds_the_signs_and_is_deterministic() -> None:
    records = task_records(synthetic_report())
    matrix, kept = design(records)
    model = fit_model(matrix, kept)
    assert model.coefficients["score"] > 1.0 and model.coefficients["mid_identifier"] < -1.0
    assert fit_model(matrix, kept) == model
    held = auc(model.probabilities(matrix), kept)
    assert held is not None and held > 0.75


def test_the_curve_starts_at_the_run_and_the_cost_moves_the_threshold() -> None:
    report = synthetic_report()
    records = task_records(report)
    model = fit_model(*design(records))
    rows = curve(records, model, cost=3.0)
    shown = [s for t in report["per_task"] for s in t["rows"]["retrieval"]["shown"]]
    first = rows[0]
    assert first["threshold"] == 0.0 and first["shown"] == len(shown)
    assert first["saved_chars"] == sum(s["accepted"] for s in shown)
    assert first["wrong"] == sum(1 for s in shown if not s["accepted"])
    assert all(a["shown"] >= b["shown"] for a, b in itertools.pairwise(rows))
    assert best_threshold(curve(records, model, cost=0.0)) == 0.0  # nothing to gain from hiding
    assert best_threshold(rows) > 0.0
    assert best_threshold(curve(records, model, cost=20.0)) >= best_threshold(rows)


def test_reports_that_cannot_be_fitted_on_are_refused() -> None:
    report = synthetic_report(tasks=2)
    with pytest.raises(ValueError, match="SPLICE_MIN_CONFIDENCE=0"):
        task_records({**report, "settings": {"min_confidence": 0.3}})
    with pytest.raises(ValueError, match="not a typing report"):
        task_records({**report, "kind": "line"})
    del report["per_task"][0]["rows"]["retrieval"]["shown"][0]["features"]["score"]
    with pytest.raises(ValueError, match="without the confidence features score"):
        task_records(report)


def test_the_held_out_split_is_seeded() -> None:
    records = task_records(synthetic_report())
    assert split_tasks(records, 1) == split_tasks(records, 1)
    assert split_tasks(records, 1) != split_tasks(records, 2)
    fit, held = split_tasks(records, 1)
    assert len(held) == 10 and not {r.task_id for r in fit} & {r.task_id for r in held}


def test_the_written_module_holds_the_model(tmp_path: Path) -> None:
    model = fit_model(*design(task_records(synthetic_report())))
    namespace: dict[str, Any] = {}
    exec(weights_source(model, 0.26, note="a note"), namespace)  # the generated module itself
    assert namespace["COEFFICIENTS"] == model.coefficients and namespace["MIN_CONFIDENCE"] == 0.26
    assert namespace["INTERCEPT"] == model.intercept


def test_the_script_reproduces_its_coefficients(tmp_path: Path) -> None:
    report = tmp_path / "typing.json"
    report.write_text(json.dumps(synthetic_report()))
    outputs = []
    for run in range(2):
        out = tmp_path / f"weights{run}.py"
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / "fit-confidence"), "--report", str(report),
                               "--seed", "3", "--out", str(out)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert "AUC" in done.stdout and "<- chosen" in done.stdout
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1] and "COEFFICIENTS" in outputs[0]
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "fit-confidence"), "--report",
                          str(tmp_path / "missing.json")], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr

