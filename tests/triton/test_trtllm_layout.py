"""The rendered TensorRT-LLM layout loads in the real server and streams through BLS with spaces intact.

No GPU here: ``tensorrt_llm`` is replaced by a Python stand-in with the same tensors; preprocessing,
postprocessing, the ensemble and the BLS model are the real ones, using Splice's shipped tokenizer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tokenizers import Tokenizer
from triton_support import REPO, TritonProcess, raw_stream

STANDIN = Path(__file__).resolve().parent / "standin_tensorrt_llm.py"
TOKENIZER_DIR = REPO / "backend" / "splice" / "data"
CONTINUATION = "result = first + second\n    return result"
PROMPT = "<fim_prefix>def add(first, second):\n    <fim_suffix>\n<fim_middle>"


def _render(out: Path, engine_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, str(REPO / "scripts" / "render-trtllm"), "--out", str(out),
        "--engine-dir", str(engine_dir), "--tokenizer-dir", str(TOKENIZER_DIR), *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_render_refuses_unknown_keys(tmp_path: Path) -> None:
    result = _render(tmp_path / "out", tmp_path, "--set", "kv_cache_fraction=0.9")
    assert result.returncode != 0
    assert "kv_cache_fraction" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def trtllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonProcess]:
    root = tmp_path_factory.mktemp("trtllm")
    engine_dir = root / "engine"
    engine_dir.mkdir()
    tokenizer = Tokenizer.from_file(str(TOKENIZER_DIR / "tokenizer.json"))
    ids = tokenizer.encode(CONTINUATION, add_special_tokens=False).ids
    (engine_dir / "standin.json").write_text(json.dumps({"continuation_ids": ids}))

    repository = root / "models"
    # Two instances of the Python models are enough on CPU, and keep the start quick.
    result = _render(
        repository, engine_dir, "--set", "preprocessing_instance_count=1",
        "--set", "postprocessing_instance_count=1", "--set", "bls_instance_count=1",
    )
    assert result.returncode == 0, result.stderr
    config = repository / "tensorrt_llm" / "config.pbtxt"
    text = config.read_text()
    assert 'backend: "tensorrtllm"' in text and "${" not in text
    config.write_text(text.replace('backend: "tensorrtllm"', 'backend: "python"'))
    shutil.copy(STANDIN, repository / "tensorrt_llm" / "1" / "model.py")

    server = TritonProcess(repository=repository, log_path=root / "triton.log")
    server.start()
    yield server
    server.stop()


# What both tests ask of the layout: the same request, streamed through BLS or whole through the ensemble.
REQUEST: dict[str, Any] = {"max_tokens": 64, "stop_words": (b"\n\n",), "timeout": 20}


async def test_bls_streams_the_continuation_with_its_spaces(trtllm_server: TritonProcess) -> None:
    pieces = await raw_stream(trtllm_server.grpc_url, "tensorrt_llm_bls", PROMPT, stream=True, **REQUEST)
    assert "".join(pieces) == CONTINUATION
    assert len(pieces) > 3
    assert any(piece.startswith(" ") for piece in pieces)


async def test_ensemble_answers_a_non_streaming_request(trtllm_server: TritonProcess) -> None:
    pieces = await raw_stream(trtllm_server.grpc_url, "ensemble", PROMPT, stream=False, **REQUEST)
    assert "".join(pieces) == CONTINUATION
