"""The engine build recipe uses only valid trtllm-build flags, and the startup check catches mismatches.

No GPU here: ``scripts/build-trtllm-engine --dry-run`` prints the commands it would run for each family,
which are checked against the pinned version's option list (``trtllm_build_options.json``), and
``scripts/check-trtllm-deployment`` is run against a repository rendered from a dry run's record.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
OPTIONS = json.loads((REPO / "triton_models" / "trtllm" / "trtllm_build_options.json").read_text())
FAMILIES = ("starcoder2", "qwen2.5-coder", "deepseek-coder", "codellama", "codegemma")
TOKENIZER_DIR = REPO / "backend" / "splice" / "data"


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(REPO / "scripts" / script), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _dry_run(family: str, *extra: str) -> tuple[list[list[str]], dict[str, Any]]:
    result = _run("build-trtllm-engine", "--family", family, "--checkpoint", "/models/base",
                  "--engines-root", "/engines", "--dry-run", *extra)
    assert result.returncode == 0, result.stderr
    convert, build, record = result.stdout.split("\n", 2)
    return [shlex.split(convert), shlex.split(build)], json.loads(record)


@pytest.mark.parametrize("family", FAMILIES)
def test_dry_run_uses_only_valid_flags_and_the_container_python(family: str) -> None:
    (convert, build), record = _dry_run(family, "--lora-rank", "16", "--lookahead", "4,3,4")
    assert convert[0] == "python3"  # the container's Python, which has tensorrt_llm
    assert convert[1].endswith("/convert_checkpoint.py")
    assert build[0] == "trtllm-build"
    flags = [word[2:] for word in build if word.startswith("--")]
    known = set(OPTIONS["options"]) | set(OPTIONS["plugin_options"])
    assert set(flags) <= known, set(flags) - known
    assert not set(flags) & set(OPTIONS["deprecated"]) and not set(flags) & set(OPTIONS["not_options"])
    assert build[build.index("--kv_cache_type") + 1] == "paged"
    assert build[build.index("--tokens_per_block") + 1] == "32"
    modules = build[build.index("--lora_target_modules") + 1 : build.index("--max_lora_rank")]
    assert modules and set(modules) <= set(OPTIONS["lora_target_modules"])
    assert build[build.index("--speculative_decoding_mode") + 1] in OPTIONS["speculative_decoding_modes"]
    assert build[build.index("--max_draft_len") + 1] == str((4 + 4) * (3 - 1) - 1)
    assert record["runtime"]["decoding_mode"] == "lookahead" and record["runtime"]["lookahead_ngram_size"] == 3
    assert record["dtype"] == "float16" and record["lora"]["weights_dtype"] == "float16"
    assert record["family"] == family and record["tokens_per_block"] == 32
    assert record["container"].startswith("nvcr.io/nvidia/tritonserver:")


def test_family_quirks_are_recorded() -> None:
    _, starcoder = _dry_run("starcoder2", "--max-input-len", "6000", "--max-seq-len", "8192")
    assert starcoder["runtime"]["max_attention_window_size"] == 4096  # sliding window: runtime, not build
    assert starcoder["runtime"]["add_special_tokens"] is False
    (convert, _), gemma = _dry_run("codegemma")
    assert "--ckpt-type" in convert and "--output-model-dir" in convert
    assert gemma["runtime"]["add_special_tokens"] is True
    _, llama = _dry_run("codellama")
    assert llama["runtime"] == {"max_attention_window_size": 3200, "add_special_tokens": True,
                                "end_token": "<EOT>", "decoding_mode": "top_k_top_p"}


def test_engines_are_stored_by_gpu_and_version() -> None:
    (_, build), _ = _dry_run("qwen2.5-coder", "--gpu", "NVIDIA L4", "--trtllm-version", "0.19.0")
    assert build[build.index("--output_dir") + 1] == "/engines/nvidia-l4/trtllm-0.19.0/base"


def test_lora_with_bfloat16_is_refused() -> None:
    result = _run("build-trtllm-engine", "--family", "qwen2.5-coder", "--checkpoint", "/m", "--out", "/e",
                  "--dtype", "bfloat16", "--lora-rank", "8", "--dry-run")
    assert result.returncode == 2
    assert "float16" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[Path, Path]:
    """A repository rendered for the record of a dry run, as the startup check sees it."""
    _, record = _dry_run("codellama", "--lora-rank", "8", "--lookahead", "4,3,4", "--gpu", "NVIDIA L4",
                        "--trtllm-version", "0.19.0")
    engine_dir = tmp_path / "engine"
    engine_dir.mkdir()
    (engine_dir / "splice_engine.json").write_text(json.dumps(record))
    repository = tmp_path / "models"
    result = _run("render-trtllm", "--out", str(repository), "--engine-dir", str(engine_dir),
                  "--tokenizer-dir", str(TOKENIZER_DIR))
    assert result.returncode == 0, result.stderr
    return repository, engine_dir


def test_startup_check_accepts_a_matching_deployment(deployment: tuple[Path, Path]) -> None:
    repository, _ = deployment
    result = _run("check-trtllm-deployment", "--model-repository", str(repository),
                  "--gpu", "NVIDIA L4", "--trtllm-version", "0.19.0")
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_startup_check_names_each_mismatch(deployment: tuple[Path, Path]) -> None:
    repository, engine_dir = deployment
    config = repository / "tensorrt_llm" / "config.pbtxt"
    config.write_text(config.read_text().replace("max_batch_size: 32", "max_batch_size: 8"))
    (engine_dir / "config.json").write_text(json.dumps({"build_config": {"plugin_config": {"tokens_per_block": 128}}}))
    result = _run("check-trtllm-deployment", "--model-repository", str(repository),
                  "--gpu", "NVIDIA H100 80GB HBM3", "--trtllm-version", "0.20.0")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any("NVIDIA L4" in line and "H100" in line for line in lines)
    assert any("0.19.0" in line and "0.20.0" in line for line in lines)
    assert any("max_batch_size" in line for line in lines)
    assert any("tokens_per_block 128" in line for line in lines)
    assert "Traceback" not in result.stderr


CONVERTER = '''
import argparse, numpy as np, pathlib
p = argparse.ArgumentParser(); p.add_argument("-i"); p.add_argument("-o"); p.add_argument("--storage-type")
a = p.parse_args(); out = pathlib.Path(a.o)
rank = int(pathlib.Path(a.i, "rank.txt").read_text())
np.save(out / "model.lora_weights.npy", np.ones((1, 2, 8), dtype=a.storage_type))
np.save(out / "model.lora_config.npy", np.array([[[1, 0, rank], [4, 0, rank]]], dtype=np.int32))
'''


@pytest.mark.parametrize(("rank", "ok"), [(8, True), (32, False)])
def test_convert_lora_checks_the_adapter_against_the_engine(
    deployment: tuple[Path, Path], tmp_path: Path, rank: int, ok: bool
) -> None:
    # The converter here writes the two files hf_lora_convert.py writes; what is under test is the wiring
    # (container Python, float16 storage, output layout) and the fit check.
    _, engine_dir = deployment
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "hf_lora_convert.py").write_text(CONVERTER)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "rank.txt").write_text(str(rank))
    result = _run("convert-lora", "--adapter", str(adapter), "--task-id", "7", "--lora-dir", str(tmp_path / "lora"),
                  "--engine-dir", str(engine_dir), "--examples", str(examples), "--python", sys.executable)
    assert "--storage-type float16" in result.stdout
    assert (result.returncode == 0) is ok, result.stderr
    if not ok:
        assert "rank 32 exceeds the engine's max LoRA rank 8" in result.stderr
    assert (tmp_path / "lora" / "7" / "model.lora_weights.npy").exists()


def test_a_build_outside_the_container_ends_with_a_message(tmp_path: Path) -> None:
    if shutil.which("trtllm-build"):
        pytest.skip("trtllm-build is installed here")
    result = _run("build-trtllm-engine", "--family", "codegemma", "--checkpoint", "/m", "--out", str(tmp_path / "e"),
                  "--gpu", "NVIDIA L4", "--trtllm-version", "0.19.0")
    assert result.returncode == 1
    assert "cannot run trtllm-build" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "e").exists()  # nothing started
