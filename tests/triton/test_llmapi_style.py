"""The client speaks the LLM API model's request style too (``tritonRequestStyle=llmapi``).

The server is the real ``tritonserver`` with a stand-in that has the upstream LLM API model's tensors
(no batch dimension, ``sampling_param_*``, cumulative ``text_output``); the same client, switched by one
setting, gets the same suggestion it gets from the inflight-batcher contract.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from triton_support import TritonProcess, fim_request

from splice.engines.triton import TritonEngine, TritonSettings
from splice.errors import EngineError

STANDIN = Path(__file__).resolve().parent / "standin_llmapi.py"
CONTINUATION = "result = first + second\n    return result"
CONFIG = """
name: "llmapi"
backend: "python"
model_transaction_policy { decoupled: true }
input [
  { name: "text_input", data_type: TYPE_STRING, dims: [ -1 ] },
  { name: "streaming", data_type: TYPE_BOOL, dims: [ 1 ], optional: true },
  { name: "sampling_param_top_k", data_type: TYPE_INT32, dims: [ 1 ], optional: true },
  { name: "sampling_param_max_tokens", data_type: TYPE_INT32, dims: [ 1 ], optional: true },
  { name: "sampling_param_stop", data_type: TYPE_STRING, dims: [ -1 ], optional: true },
  { name: "sampling_param_exclude_input_from_output", data_type: TYPE_BOOL, dims: [ 1 ], optional: true },
  { name: "return_cumulative_logprob", data_type: TYPE_BOOL, dims: [ 1 ], optional: true }
]
output [
  { name: "text_output", data_type: TYPE_STRING, dims: [ -1 ] },
  { name: "cumulative_logprob", data_type: TYPE_FP32, dims: [ -1 ] }
]
parameters [ { key: "continuation", value: { string_value: "%s" } } ]
instance_group [ { count: 1, kind: KIND_CPU } ]
"""


@pytest.fixture(scope="module")
def llmapi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonProcess]:
    root = tmp_path_factory.mktemp("llmapi")
    model = root / "models" / "llmapi"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text(CONFIG % CONTINUATION.replace("\n", "\\n"))
    shutil.copy(STANDIN, model / "1" / "model.py")
    server = TritonProcess(repository=root / "models", log_path=root / "triton.log")
    server.start()
    yield server
    server.stop()


def _engine(server: TritonProcess) -> TritonEngine:
    return TritonEngine(TritonSettings(url=server.grpc_url, model="llmapi", deadline_s=10, request_style="llmapi"))


async def test_cumulative_text_becomes_one_suggestion(llmapi_server: TritonProcess) -> None:
    engine = _engine(llmapi_server)
    try:
        [whole] = await engine.generate(dataclasses.replace(fim_request(multiline=True), want_logprobs=True))
        [line] = await engine.generate(fim_request(multiline=False))
    finally:
        await engine.aclose()
    assert whole.text == CONTINUATION  # not the text repeated once per response
    assert whole.score == pytest.approx(-0.25 * len(CONTINUATION.split()))
    assert line.text == "result = first + second"


async def test_tenants_need_the_inflight_batcher_style(llmapi_server: TritonProcess) -> None:
    engine = _engine(llmapi_server)
    try:
        with pytest.raises(EngineError, match="no LoRA"):
            await engine.generate(fim_request(tenant="7"))
    finally:
        await engine.aclose()
