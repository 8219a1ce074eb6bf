"""Two tenants' real adapters served by one SmolLM2 base through the real ``tritonserver`` on the CPU.

The CPU model runs the neural engine with per-request adapters (``engine`` parameter
``splice.engines.neural_tenants:TenantNeuralEngine``) and keeps TensorRT-LLM's adapter cache contract:
tenant 101's arrays are prefetched from ``<artifacts_root>/101/``; any other id must arrive with its
``lora_weights``/``lora_config``, which Splice's client sends after the engine's "not found in cache".
Each tenant's adapter was trained on a repository holding its canary; concurrent requests of both tenants
and of no tenant must each carry only their own canary, or none. Skipped without the ``train`` extra.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from neural_support import HAVE_TRAIN, PROBE_PREFIX, PROBE_SUFFIX, SKIP_REASON, TenantAdapter, probe_request

if not HAVE_TRAIN:
    pytest.skip(SKIP_REASON, allow_module_level=True)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "triton"))
import triton_support
import tritonclient.grpc.aio as grpcclient
from tritonclient.grpc import InferInput
from tritonclient.utils import InferenceServerException

from splice.engines.triton import TritonEngine, TritonSettings

MODEL = "splice_neural"
ENGINE = "splice.engines.neural_tenants:TenantNeuralEngine"
# Loading torch and the model inside the server's Python stub takes tens of seconds on a busy machine.
LOAD_TIMEOUT_S = 300.0
DEADLINE_S = 120.0  # requests are served in turn on one CPU thread, a second or so each


@pytest.fixture(scope="module")
def prefetch_root(tenant_adapters: dict[str, TenantAdapter], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's ``artifacts_root``: acme's arrays prefetched under its id; globex's only with the client."""
    root = tmp_path_factory.mktemp("prefetch")
    acme = tenant_adapters["acme"]
    shutil.copytree(acme.lora_dir / str(acme.task_id), root / str(acme.task_id))
    return root


@pytest.fixture(scope="module")
def neural_triton(prefetch_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    repository = tmp_path_factory.mktemp("models")
    triton_support.write_model(repository, MODEL, engine=ENGINE, load_timeout_s=str(LOAD_TIMEOUT_S))
    server = triton_support.TritonProcess(
        repository=repository, log_path=tmp_path_factory.mktemp("logs") / "triton.log",
        env={"SPLICE_ARTIFACTS_ROOT": str(prefetch_root), "SPLICE_NEURAL_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    patience = triton_support.START_TIMEOUT_S
    triton_support.START_TIMEOUT_S = LOAD_TIMEOUT_S
    try:
        server.start()
    finally:
        triton_support.START_TIMEOUT_S = patience
    yield server
    server.stop()


def _client(server: Any, adapters: dict[str, TenantAdapter], **task_ids: int) -> TritonEngine:
    lora_dir = next(iter(adapters.values())).lora_dir
    return TritonEngine(TritonSettings(url=server.grpc_url, model=MODEL, deadline_s=DEADLINE_S,
                                       tenant_task_ids=task_ids or {a.tenant: a.task_id for a in adapters.values()},
                                       lora_dir=lora_dir))


async def test_concurrent_tenants_each_get_only_their_own_canary(
        neural_triton: Any, tenant_adapters: dict[str, TenantAdapter], template: Any) -> None:
    engine = _client(neural_triton, tenant_adapters)
    order = ["acme", "globex", None, "globex", "acme", None]
    try:
        answers = await asyncio.gather(*(engine.generate(probe_request(template, tenant=t)) for t in order))
    finally:
        await engine.aclose()
    texts = [candidates[0].text if candidates else "" for candidates in answers]
    canaries = {a.tenant: a.canary for a in tenant_adapters.values()}
    for tenant, text in zip(order, texts, strict=True):
        for other, canary in canaries.items():
            assert (canary in text) == (other == tenant), (tenant, texts)
    # acme was prefetched on the server; globex's adapter went up with the first request that missed.
    assert engine.adapter_uploads >= 1


async def _raw_request(url: str, task_id: int, template: Any, *extra: tuple[str, str, Any]) -> list[Any]:
    """The errors of one request carrying ``lora_task_id`` (and ``extra`` tensors), read with the vendor
    client."""
    text = template.render(path="vendor.py", language="python", prefix=PROBE_PREFIX, suffix=PROBE_SUFFIX)
    inputs = []
    for name, datatype, value in (("text_input", "BYTES", np.array([[text.encode()]], dtype=np.object_)),
                                  ("max_tokens", "INT32", np.array([[8]], dtype=np.int32)),
                                  ("lora_task_id", "UINT64", np.array([[task_id]], dtype=np.uint64)), *extra):
        tensor = InferInput(name, list(value.shape), datatype)
        tensor.set_data_from_numpy(value)
        inputs.append(tensor)

    async def one() -> AsyncIterator[dict[str, Any]]:
        yield {"model_name": MODEL, "inputs": inputs}

    client = grpcclient.InferenceServerClient(url)
    errors = []
    try:
        async with asyncio.timeout(DEADLINE_S):
            async for _result, error in client.stream_infer(one()):
                errors.append(error)
    finally:
        await client.close()
    return errors


async def test_a_cache_miss_is_the_engines_error_and_the_client_resends_the_adapter(
        neural_triton: Any, tenant_adapters: dict[str, TenantAdapter], template: Any, tmp_path: Path) -> None:
    globex = tenant_adapters["globex"]
    # A task id nobody sent yet, holding globex's arrays on the client's side only.
    shutil.copytree(globex.lora_dir / str(globex.task_id), tmp_path / "303")
    errors = await _raw_request(neural_triton.grpc_url, 303, template)
    assert len(errors) == 1 and isinstance(errors[0], InferenceServerException)
    assert "LoRA task 303 not found in cache. Please send LoRA weights with request" in str(errors[0])

    engine = TritonEngine(TritonSettings(url=neural_triton.grpc_url, model=MODEL, deadline_s=DEADLINE_S,
                                         tenant_task_ids={"globex": 303}, lora_dir=tmp_path))
    try:
        [first] = await engine.generate(probe_request(template, tenant="globex"))
        assert engine.adapter_uploads == 1
        [again] = await engine.generate(probe_request(template, tenant="globex"))
    finally:
        await engine.aclose()
    assert globex.canary in first.text and globex.canary in again.text
    assert engine.adapter_uploads == 1, "cached on the server: the id alone from then on"


async def test_a_request_without_a_task_id_gets_the_base(
        neural_triton: Any, tenant_adapters: dict[str, TenantAdapter], template: Any) -> None:
    engine = _client(neural_triton, tenant_adapters)
    try:
        answers = await engine.generate(probe_request(template))
    finally:
        await engine.aclose()
    text = answers[0].text if answers else ""
    assert not any(a.canary in text for a in tenant_adapters.values()), text
    assert engine.adapter_uploads == 0


async def test_arrays_that_do_not_fit_the_base_are_refused_and_not_cached(neural_triton: Any, template: Any) -> None:
    weights = np.zeros((1, 2, 8 * (576 + 576)), dtype=np.float16)
    for config, reason in (([[0, 0, 8], [1, 0, 8]], "names module 0 of layer 0, which this base model does not have"),
                           ([[1, 0, 8], [3, 99, 8]], "module 3 of layer 99"),
                           ([[1, 0, 8], [1, 1, 64]], "rank 64 needs")):
        errors = await _raw_request(neural_triton.grpc_url, 404, template,
                                    ("lora_weights", "FP16", weights),
                                    ("lora_config", "INT32", np.array([config], dtype=np.int32)))
        assert len(errors) == 1 and reason in str(errors[0]), errors
    # Nothing was cached: the id alone is still unknown, and the server still answers.
    errors = await _raw_request(neural_triton.grpc_url, 404, template)
    assert len(errors) == 1 and "LoRA task 404 not found in cache" in str(errors[0])
