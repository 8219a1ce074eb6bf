"""LoRA adapters per tenant against the real server: miss, resend with weights, then the id alone.

The CPU model keeps TensorRT-LLM's adapter cache contract (``splice.engines.lora_cache``): an id it does
not hold, sent without weights, gets the engine's own "not found in cache" error; the client then sends
the request once more with the tenant's converted adapter and continues with the id alone. The model
``scripted_lora`` has room for one adapter, so a second tenant evicts the first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc.aio as grpcclient
from triton_support import TritonProcess, fim_request, wait_for
from tritonclient.grpc import InferInput
from tritonclient.utils import InferenceServerException

from splice.engines.lora_cache import CONFIG_FILE, WEIGHTS_FILE
from splice.engines.triton import TritonEngine, TritonSettings
from splice.errors import EngineError, EngineTimeoutError

MIDDLE = "total = first + second\n    return total\n"


def _write_adapter(root: Path, task_id: int) -> None:
    directory = root / str(task_id)
    directory.mkdir(parents=True)
    np.save(directory / WEIGHTS_FILE, np.full((1, 3, 16), 0.25, dtype=np.float16))
    np.save(directory / CONFIG_FILE, np.array([[[1, layer, 8] for layer in range(3)]], dtype=np.int32))


async def test_miss_resend_then_id_only(triton: TritonProcess, tmp_path: Path) -> None:
    _write_adapter(tmp_path, 31)
    engine = TritonEngine(TritonSettings(url=triton.grpc_url, model="scripted", deadline_s=10,
                                         tenant_task_ids={"acme": 31}, lora_dir=tmp_path))
    try:
        [first] = await engine.generate(fim_request(tenant="acme"))
        assert engine.adapter_uploads == 1
        for _ in range(3):
            [later] = await engine.generate(fim_request(tenant="acme"))
    finally:
        await engine.aclose()
    assert first.text == later.text == MIDDLE
    assert engine.adapter_uploads == 1  # the server kept it: id only from then on


async def test_an_evicted_adapter_is_sent_again(triton: TritonProcess, tmp_path: Path) -> None:
    for task_id in (41, 42):
        _write_adapter(tmp_path, task_id)
    engine = TritonEngine(TritonSettings(url=triton.grpc_url, model="scripted_lora", deadline_s=10,
                                         tenant_task_ids={"acme": 41, "globex": 42}, lora_dir=tmp_path))
    uploads = []
    try:
        for tenant in ("acme", "acme", "globex", "acme"):
            [candidate] = await engine.generate(fim_request(tenant=tenant))
            assert candidate.text == MIDDLE
            uploads.append(engine.adapter_uploads)
    finally:
        await engine.aclose()
    assert uploads == [1, 1, 2, 3]


async def test_without_the_adapter_the_miss_is_an_engine_error(triton: TritonProcess, tmp_path: Path) -> None:
    engine = TritonEngine(TritonSettings(url=triton.grpc_url, model="scripted", deadline_s=10,
                                         tenant_task_ids={"acme": 51}, lora_dir=tmp_path))
    try:
        with pytest.raises(EngineError, match="no converted adapter for task 51"):
            await engine.generate(fim_request(tenant="acme"))
    finally:
        await engine.aclose()


async def test_the_server_answers_with_the_engines_words(triton: TritonProcess) -> None:
    # Read with the vendor client: the message is what a TensorRT-LLM deployment would send.
    client = grpcclient.InferenceServerClient(triton.grpc_url)
    text = "<fim_prefix>a<fim_suffix>b<fim_middle>"
    inputs = []
    for name, datatype, value in (
        ("text_input", "BYTES", np.array([[text.encode()]], dtype=np.object_)),
        ("max_tokens", "INT32", np.array([[8]], dtype=np.int32)),
        ("lora_task_id", "UINT64", np.array([[77]], dtype=np.uint64)),
    ):
        tensor = InferInput(name, list(value.shape), datatype)
        tensor.set_data_from_numpy(value)
        inputs.append(tensor)

    async def one():  # type: ignore[no-untyped-def]
        yield {"model_name": "scripted", "inputs": inputs}

    errors = []
    try:
        async for _result, error in client.stream_infer(one()):
            errors.append(error)
    finally:
        await client.close()
    assert len(errors) == 1 and isinstance(errors[0], InferenceServerException)
    assert "LoRA task 77 not found in cache. Please send LoRA weights with request" in str(errors[0])


async def test_an_upload_outlives_the_request_that_started_it(triton: TritonProcess, tmp_path: Path) -> None:
    # The request's deadline is shorter than the model takes, so it falls back; the upload it started
    # still completes, and a later client finds the adapter cached on the server.
    _write_adapter(tmp_path, 61)
    hurried = TritonEngine(TritonSettings(url=triton.grpc_url, model="scripted_lora_slow", deadline_s=0.3,
                                          tenant_task_ids={"acme": 61}, lora_dir=tmp_path))
    patient = TritonEngine(TritonSettings(url=triton.grpc_url, model="scripted_lora_slow", deadline_s=10,
                                          tenant_task_ids={"acme": 61}, lora_dir=tmp_path))
    try:
        with pytest.raises(EngineTimeoutError):
            await hurried.generate(fim_request(tenant="acme"))
        assert hurried.adapter_uploads == 1
        await wait_for(lambda: hurried.pending_uploads == 0, timeout=10)
        [candidate] = await patient.generate(fim_request(tenant="acme"))
    finally:
        await hurried.aclose()
        await patient.aclose()
    assert candidate.text == MIDDLE
    assert patient.adapter_uploads == 0  # the server had it: id only
