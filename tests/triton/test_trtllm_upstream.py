"""The rendered GPU model repository matches the pinned upstream templates, checked without a server.

``triton_models/trtllm/upstream.json`` records, for the pinned tensorrtllm_backend tag and commit, every
parameter key, input and output of the five upstream models. The rendered repository must parse as a
Triton model configuration, carry every upstream parameter key (the C++ backend fails to load without some
of them), and declare its tensors with upstream's names, types and shapes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

REPO = Path(__file__).resolve().parents[2]
UPSTREAM = json.loads((REPO / "triton_models" / "trtllm" / "upstream.json").read_text())
MODELS = sorted(UPSTREAM["models"])
TOKENIZER_DIR = REPO / "backend" / "splice" / "data"


def _render(out: Path, engine_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, str(REPO / "scripts" / "render-trtllm"), "--out", str(out),
        "--engine-dir", str(engine_dir), "--tokenizer-dir", str(TOKENIZER_DIR), *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("render")
    engine_dir = root / "engine"
    engine_dir.mkdir()
    result = _render(root / "models", engine_dir)
    assert result.returncode == 0, result.stderr
    configs = {}
    for name in MODELS:
        configs[name] = _parse(root / "models" / name / "config.pbtxt")
    return {"root": root, "configs": configs}


def _parse(path: Path) -> Any:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def _tensors(entries: Any) -> dict[str, tuple[str, list[int]]]:
    return {e.name: (model_config_pb2.DataType.Name(e.data_type), list(e.dims)) for e in entries}


def test_upstream_record_names_its_source() -> None:
    assert UPSTREAM["repository"] == "triton-inference-server/tensorrtllm_backend"
    assert len(UPSTREAM["commit"]) == 40 and UPSTREAM["tag"].startswith("v")
    assert UPSTREAM["container"].startswith("nvcr.io/nvidia/tritonserver:")
    assert {"preprocessing", "tensorrt_llm", "postprocessing", "ensemble", "tensorrt_llm_bls"} == set(MODELS)


@pytest.mark.parametrize("model", MODELS)
def test_every_upstream_parameter_is_present(rendered: dict[str, Any], model: str) -> None:
    ours = set(rendered["configs"][model].parameters.keys())
    missing = sorted(set(UPSTREAM["models"][model]["parameters"]) - ours)
    assert not missing, f"{model} lacks upstream parameters {missing}"


@pytest.mark.parametrize("model", MODELS)
def test_tensors_match_upstream_names_types_and_shapes(rendered: dict[str, Any], model: str) -> None:
    config = rendered["configs"][model]
    upstream = UPSTREAM["models"][model]
    for kind, ours in (("inputs", _tensors(config.input)), ("outputs", _tensors(config.output))):
        theirs = {e["name"]: (e["data_type"], e["dims"]) for e in upstream[kind]}
        unknown = sorted(set(ours) - set(theirs))
        assert not unknown, f"{model} {kind} not in upstream: {unknown}"
        differ = {name: (ours[name], theirs[name]) for name in ours if ours[name] != theirs[name]}
        assert not differ, f"{model} {kind} differ from upstream (ours, upstream): {differ}"


def test_engine_and_bls_carry_the_lora_and_cancellation_tensors(rendered: dict[str, Any]) -> None:
    engine = _tensors(rendered["configs"]["tensorrt_llm"].input)
    assert {"lora_task_id", "lora_weights", "lora_config", "stop", "return_perf_metrics"} <= set(engine)
    for model in ("tensorrt_llm_bls", "ensemble"):
        inputs = _tensors(rendered["configs"][model].input)
        assert {"lora_task_id", "lora_weights", "lora_config"} <= set(inputs), model
        assert "kv_cache_reused_blocks" in _tensors(rendered["configs"][model].output), model


def test_deliberate_values_are_rendered(rendered: dict[str, Any]) -> None:
    engine = rendered["configs"]["tensorrt_llm"]
    params = {key: value.string_value for key, value in engine.parameters.items()}
    assert engine.dynamic_batching.default_queue_policy.max_queue_size > 0
    for key in ("lora_cache_optimal_adapter_size", "lora_cache_host_memory_bytes", "kv_cache_host_memory_bytes"):
        assert int(params[key]) > 0, key
    assert Path(params["lora_prefetch_dir"]).is_dir()
    assert params["tokenizer_dir"] == str(TOKENIZER_DIR.resolve())
    bls = rendered["configs"]["tensorrt_llm_bls"]
    assert bls.instance_group[0].count == engine.max_batch_size


def test_engine_record_sets_family_values(tmp_path: Path) -> None:
    engine_dir = tmp_path / "engine"
    engine_dir.mkdir()
    record = {
        "family": "codellama", "max_batch_size": 16, "lora": {"rank": 8, "target_modules": ["attn_q"]},
        "runtime": {"max_attention_window_size": 4096, "add_special_tokens": True, "end_token": "<EOT>"},
    }
    (engine_dir / "splice_engine.json").write_text(json.dumps(record))
    result = _render(tmp_path / "models", engine_dir)
    assert result.returncode == 0, result.stderr
    pre = _parse(tmp_path / "models/preprocessing/config.pbtxt")
    engine = _parse(tmp_path / "models/tensorrt_llm/config.pbtxt")
    assert pre.parameters["add_special_tokens"].string_value == "true"
    assert pre.parameters["end_token"].string_value == "<EOT>"
    assert engine.max_batch_size == 16
    assert engine.parameters["lora_cache_optimal_adapter_size"].string_value == "8"
    assert engine.parameters["max_attention_window_size"].string_value == "4096"
