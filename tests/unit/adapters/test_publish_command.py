"""``splice publish-adapter`` around its guardrail (replaced here by a stand-in verdict; the real one runs
in tests/neural): what it publishes, what it refuses, and its messages."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from splice.cli import main
from splice.retrieval.artifact import current_adapter, read_adapter_manifest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("peft") is None:
    pytest.skip("publish-adapter needs the train extra (scripts/setup-neural)", allow_module_level=True)

TRAINING = {"base_model": "/models/base.gguf", "base_model_sha256": "ab" * 32, "family": "starcoder2", "rank": 8,
            "alpha": 16, "targets": ["attn_q", "attn_v"], "selection": {"include": []},
            "held_out": {"files": {"/src/acme": ["acme/held.py"]}}, "training": {"tokens": 4096}}
PASSED = {"tasks": 30, "lift": {m: {"delta": 0.2, "ci95": [0.1, 0.3]} for m in ("exact_match", "edit_similarity")},
          "summary": {r: {"exact_match": 0.1, "edit_similarity": 0.5} for r in ("base", "adapter")},
          "quality_score": 10}


def _adapter(directory: Path) -> Path:
    directory.mkdir()
    (directory / "adapter_config.json").write_text("{}")
    (directory / "adapter_model.safetensors").write_bytes(b"weights")
    (directory / "splice-adapter.json").write_text(json.dumps(TRAINING))
    return directory


def _guardrail(monkeypatch: pytest.MonkeyPatch, verdict: dict[str, Any]) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    async def measured(adapter: Path, held_out: Any, settings: Any, **options: Any) -> dict[str, Any]:
        calls.append({"adapter": adapter, "held_out": held_out, "model": settings.neural_model, **options})
        return verdict

    monkeypatch.setattr("splice.evaluation.adapter_guardrail.evaluate_adapter", measured)
    return calls


def test_a_passing_adapter_is_published_with_the_training_and_guardrail_figures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    calls = _guardrail(monkeypatch, PASSED)
    adapter = _adapter(tmp_path / "trained")
    root = tmp_path / "artifacts"
    assert main(["publish-adapter", "--adapter", str(adapter), "--tenant", "acme", "--artifacts", str(root),
                 "--guardrail-tasks", "12"]) == 0
    assert calls == [{"adapter": adapter.resolve(), "held_out": {"/src/acme": ["acme/held.py"]},
                      "model": "/models/base.gguf", "tasks": 12, "seed": 0}]
    err = capsys.readouterr().err
    assert "published tenant acme's adapter" in err and "quality score 10/10" in err
    version = current_adapter(root, "acme")
    assert version is not None
    manifest = read_adapter_manifest(version, "acme")
    for field in ("base_model_sha256", "family", "rank", "alpha", "targets", "selection", "held_out", "training"):
        assert manifest[field] == TRAINING[field]
    assert manifest["guardrail"] == PASSED


def test_a_refusal_says_why_exits_3_and_publishes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _guardrail(monkeypatch, {**PASSED, "refused": "no measurable lift: edit similarity +0.010, 95% interval "
                                                  "[-0.020, +0.040] includes zero over 30 held-out lines"})
    root = tmp_path / "artifacts"
    assert main(["publish-adapter", "--adapter", str(_adapter(tmp_path / "a")), "--tenant", "acme",
                 "--artifacts", str(root)]) == 3
    err = capsys.readouterr().err
    assert "not published: no measurable lift" in err and "current adapter stays" in err
    assert current_adapter(root, "acme") is None


def test_bad_arguments_get_a_message_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "artifacts")
    assert main(["publish-adapter", "--tenant", "acme", "--artifacts", root]) == 2
    assert main(["publish-adapter", "--tenant", "Not A Tenant", "--artifacts", root, "--rollback"]) == 1
    assert main(["publish-adapter", "--adapter", str(tmp_path), "--tenant", "acme", "--artifacts", root]) == 2
    err = capsys.readouterr().err
    assert "give --adapter" in err and "invalid tenant name" in err and "has no splice-adapter.json" in err
    assert "Traceback" not in err
