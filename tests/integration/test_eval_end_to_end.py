"""``splice eval`` end to end on a small real repository: tenacity, as installed from PyPI at its pinned
version (code this project did not write), both in process and through real ``splice serve`` processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import structlog
import tenacity

from splice.confidence import FEATURES
from splice.config import from_environment

REPO = Path(tenacity.__file__).resolve().parent
# Stands in for the organization's other code: the customized row's artifact is built from it.
SIBLING = Path(structlog.__file__).resolve().parent


def splice_eval(tmp_path: Path, name: str, *args: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "splice", "eval", "--repo", str(REPO), "--seed", "5", "--json", str(out), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def test_every_ablation_on_a_real_repository_in_process(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    data = splice_eval(tmp_path, "inprocess", "--tasks", "12", "--html", str(html),
                       "--sibling", f"{REPO.name}={SIBLING}")
    assert data["tasks"] == 12 and not data["partial"]
    assert list(data["ablations"]) == ["prefix_only", "infile", "open_files", "project_index", "retrieval",
                                       "customized"]
    for name, row in data["ablations"].items():
        assert row["available"], (name, row.get("reason"))
        assert row["n"] == 12
        assert all(0.0 <= row[m] <= 1.0 for m in ("exact_match", "edit_similarity", "bleu", "identifier_f1"))
    assert data["per_task"][0]["predictions"]["customized"]["sources"]
    assert data["latency_ms"]["p50"] > 0
    assert data["by_language"]["python"]["tasks"] == 12
    assert "over_prefix_only" in data["lifts"]["infile"]
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 3 and "Hits" in page


def test_through_real_servers_the_editor_sees_what_the_pipeline_computes(tmp_path: Path) -> None:
    rows = "prefix_only,infile,retrieval"
    served = splice_eval(tmp_path, "stdio", "--tasks", "4", "--via", "stdio", "--ablations", rows)
    local = splice_eval(tmp_path, "local", "--tasks", "4", "--ablations", rows)
    assert served["settings"]["via"] == "stdio" and served["tasks"] == 4
    assert served["ablations"]["prefix_only"]["n"] == 4 and served["ablations"]["infile"]["n"] == 4
    assert [t["id"] for t in served["per_task"]] == [t["id"] for t in local["per_task"]]
    for over_pipes, in_process in zip(served["per_task"], local["per_task"], strict=True):
        for name in ("prefix_only", "infile", "retrieval"):
            assert over_pipes["predictions"][name]["text"] == in_process["predictions"][name]["text"]
    assert served["ablations"]["retrieval"]["available"] and served["ablations"]["retrieval"]["n"] == 4


def test_without_siblings_the_customized_row_says_why(tmp_path: Path) -> None:
    data = splice_eval(tmp_path, "lonely", "--tasks", "2", "--ablations", "infile,customized")
    row = data["ablations"]["customized"]
    assert not row["available"] and "no sibling repositories declared" in row["reason"]


def test_typing_replays_regions_keystroke_by_keystroke_through_real_servers(tmp_path: Path) -> None:
    html = tmp_path / "typing.html"
    data = splice_eval(tmp_path, "typing", "--kind", "typing", "--tasks", "4", "--html", str(html))
    assert data["kind"] == "typing" and data["tasks"] == 4 and not data["partial"]
    row = data["ablations"]["retrieval"]
    counts = row["counts"]
    assert row["n"] == 4 and counts["shown"] > 0 and counts["failed_requests"] == 0
    # Every region character was either typed or written by an accepted suggestion, and every accept is a
    # keystroke of its own.
    typed = counts["keystrokes"] - counts["accepts"] - counts["partial_accepts"]
    assert typed + counts["saved_chars"] == counts["region_chars"]
    # The editor asks after every keystroke and once at the start.
    assert counts["keystrokes"] <= counts["requests"] <= counts["keystrokes"] + 4
    assert row["broken_after_accept"] == 0 and row["final_differs"] == 0
    assert 0.0 <= row["chars_saved"]["value"] <= 1.0 and row["latency_ms"]["p50"] > 0
    # The servers applied the default show threshold; what they showed carries its confidence and inputs.
    threshold = data["settings"]["min_confidence"]
    assert threshold == from_environment()[0].min_confidence > 0
    for task in data["per_task"]:
        shown = task["rows"]["retrieval"]["shown"]
        assert all(0 <= s["accepted"] <= len(task["region"]) for s in shown)
        for s in shown:
            assert set(s["features"]) == set(FEATURES) and s["taken"] in ("whole", "partly", "not")
            # Only the rest of a suggestion already on screen may sit under the threshold.
            assert s["confidence"] >= threshold or s["features"]["typeahead"] == 1.0
    assert "Typing replay" in html.read_text()
