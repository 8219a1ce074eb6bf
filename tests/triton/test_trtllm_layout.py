"""The rendered TensorRT-LLM layout loads in the real server and behaves as the GPU path must.

No GPU here: ``tensorrt_llm`` is replaced by a Python stand-in with the same tensors and the engine's
cancellation and LoRA cache contracts; preprocessing, postprocessing, the ensemble and the BLS model are
the real ones, using Splice's shipped tokenizer. Through BLS: streaming keeps spaces, every step's
log-probabilities reach the client, a cancelled request's engine request is stopped by its request id,
and a LoRA miss is answered by the client resending the adapter once.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer
from triton_support import REPO, TritonProcess, fim_request, raw_stream, wait_for

from splice.engines.lora_cache import CONFIG_FILE, WEIGHTS_FILE
from splice.engines.triton import TritonEngine, TritonSettings

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
    REQUEST["max_tokens"] = len(ids)
    # Long enough that a cancelled request is still generating when its stop request arrives.
    line = tokenizer.encode("\n    ", add_special_tokens=False).ids
    spec = {"continuation_ids": (ids + line) * 40, "token_delay_s": 0.01, "lora_cache_adapters": 1}
    (engine_dir / "standin.json").write_text(json.dumps(spec))

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
    server.engine_dir = engine_dir  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()


def _events(server: TritonProcess) -> list[dict[str, Any]]:
    path: Path = server.engine_dir / "events.jsonl"  # type: ignore[attr-defined]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


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


async def test_cancelling_the_client_stops_the_engine_request(trtllm_server: TritonProcess) -> None:
    # A single-line request: the client cuts at the first newline and cancels; BLS must then stop the
    # engine request by its request id instead of letting it run to max_tokens.
    engine = TritonEngine(TritonSettings(url=trtllm_server.grpc_url, model="tensorrt_llm_bls", deadline_s=20))
    before = len(_events(trtllm_server))
    try:
        [candidate] = await engine.generate(fim_request(multiline=False, max_new_tokens=400))
    finally:
        await engine.aclose()
    assert candidate.text == CONTINUATION.split("\n")[0]

    def stopped() -> bool:
        return any(e["event"] == "finished" for e in _events(trtllm_server)[before:])

    await wait_for(stopped, timeout=10)
    events = _events(trtllm_server)[before:]
    [finished] = [e for e in events if e["event"] == "finished"]
    stops = [e for e in events if e["event"] == "stop"]
    assert finished["reason"] == "stopped"
    assert [s["request_id"] for s in stops] == [finished["request_id"]]
    assert finished["tokens"] < 400


async def test_log_probs_of_every_step_reach_the_client(trtllm_server: TritonProcess) -> None:
    engine = TritonEngine(TritonSettings(url=trtllm_server.grpc_url, model="tensorrt_llm_bls", deadline_s=20,
                                         perf_metrics=True))
    request = fim_request(max_new_tokens=REQUEST["max_tokens"])
    try:
        [candidate] = await engine.generate(dataclasses.replace(request, want_logprobs=True))
    finally:
        await engine.aclose()
    # The stand-in gives every token -0.5; a step held back for an incomplete word must still count.
    assert candidate.mean_logprob == pytest.approx(-0.5)
    assert candidate.score == pytest.approx(-0.5 * REQUEST["max_tokens"])
    assert engine.last_reused_blocks == 2  # the stand-in's kv_cache_reused_blocks, passed through BLS


async def test_lora_miss_is_answered_by_resending_the_adapter(trtllm_server: TritonProcess, tmp_path: Path) -> None:
    # The stand-in's LoRA cache holds one adapter: 7 is uploaded once, 8 evicts it, 7 is uploaded again.
    for task_id in (7, 8):
        directory = tmp_path / str(task_id)
        directory.mkdir()
        np.save(directory / WEIGHTS_FILE, np.full((1, 2, 8), task_id, dtype=np.float16))
        np.save(directory / CONFIG_FILE, np.array([[[0, 0, 4], [0, 1, 4]]], dtype=np.int32))
    settings = TritonSettings(url=trtllm_server.grpc_url, model="tensorrt_llm_bls", deadline_s=20,
                              tenant_task_ids={"acme": 7, "globex": 8}, lora_dir=tmp_path)
    engine = TritonEngine(settings)
    uploads = []
    try:
        for tenant in ("acme", "acme", "globex", "acme"):
            request = fim_request(tenant=tenant, max_new_tokens=REQUEST["max_tokens"])
            [candidate] = await engine.generate(request)
            assert candidate.text == CONTINUATION
            uploads.append(engine.adapter_uploads)
    finally:
        await engine.aclose()
    assert uploads == [1, 1, 2, 3]
    finished = [e for e in _events(trtllm_server) if e["event"] == "finished" and e["lora_task_id"]]
    assert [(e["lora_task_id"], e["lora_weights"]) for e in finished][-4:] == [
        (7, True), (7, False), (8, True), (7, True)
    ]
