"""The two request styles a Triton deployment of TensorRT-LLM speaks, behind one small interface.

- ``inflight_batcher``: the ensemble / BLS contract of ``triton_models/README.md`` (TensorRT-LLM's
  ``inflight_batcher_llm`` model repository, and Splice's CPU model): tensors with a batch dimension
  (``[1, 1]``), ``max_tokens``, ``stop_words``, ``top_k``, ``return_log_probs``, LoRA by ``lora_task_id``
  (+ ``lora_weights``/``lora_config``); each streamed response holds new text and its tokens'
  log-probabilities.
- ``llmapi``: the LLM API / PyTorch-backend model upstream now leads with (tensorrtllm_backend v0.19.0
  ``all_models/llmapi/tensorrt_llm``): no batch dimension, ``sampling_param_*`` tensors
  (``sampling_param_max_tokens``, ``sampling_param_stop``, ``sampling_param_top_k`` ...), and each
  streamed ``text_output`` holds the whole text so far, so the reader turns it into new text. That model
  takes no LoRA tensors at the pinned version, so a tenant request in this style is refused here.

Each style builds a request's inputs and gives a reader that turns one response into
(new text, log-probability sum, token count).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from tritonclient.grpc import InferInput  # type: ignore[import-untyped]  # untyped vendor package

from splice.engines.base import GenerationRequest
from splice.engines.lora_cache import Adapter
from splice.errors import EngineError

STYLES = ("inflight_batcher", "llmapi")


def tensor(name: str, datatype: str, value: np.ndarray[Any, Any]) -> Any:
    item = InferInput(name, list(value.shape), datatype)
    item.set_data_from_numpy(value)
    return item


def stop_words(request: GenerationRequest) -> list[str]:
    words = list(request.prompt.stop)
    if not request.multiline and "\n" not in words:
        # A hint only: "\n" is often merged into other BPE tokens, so the client cuts as well.
        words.append("\n")
    return words


def _text(result: Any, name: str) -> str | None:
    values = result.as_numpy(name)
    if values is None or not values.size:
        return None
    value = values.reshape(-1)[0]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class Reader(Protocol):
    # Prompt blocks the engine served from its KV cache, when the response says (return_perf_metrics).
    reused_blocks: int | None

    def read(self, result: Any) -> tuple[str, float, int]:
        """(new text, sum of its tokens' log-probabilities, how many tokens that sum covers)."""
        ...


class _DeltaReader:
    reused_blocks: int | None = None

    def read(self, result: Any) -> tuple[str, float, int]:
        reused = result.as_numpy("kv_cache_reused_blocks")
        if reused is not None and reused.size:
            self.reused_blocks = int(reused.reshape(-1)[0])
        # Per-token log-probabilities of this response's new tokens; their sum over the stream is the
        # sequence's log-probability (cum_log_probs is cumulative on some backends, not others).
        log_probs = result.as_numpy("output_log_probs")
        size = int(log_probs.size) if log_probs is not None else 0
        return _text(result, "text_output") or "", float(log_probs.sum()) if size else 0.0, size


class _CumulativeReader:
    reused_blocks: int | None = None

    def __init__(self) -> None:
        self.seen = ""
        self.log_prob = 0.0

    def read(self, result: Any) -> tuple[str, float, int]:
        text = _text(result, "text_output") or ""
        delta = text[len(self.seen):] if text.startswith(self.seen) else text
        self.seen = text
        cumulative = result.as_numpy("cumulative_logprob")
        step = 0.0
        if cumulative is not None and cumulative.size:
            total = float(cumulative.reshape(-1)[0])
            step, self.log_prob = total - self.log_prob, total
        return delta, step, 0  # no per-token count: no mean log-probability in this style


class InflightBatcherStyle:
    name = "inflight_batcher"

    def __init__(self, perf_metrics: bool = False) -> None:
        # Ask for kv_cache_reused_blocks; only the TensorRT-LLM models declare return_perf_metrics.
        self.perf_metrics = perf_metrics

    def inputs(self, request: GenerationRequest, task_id: int | None, adapter: Adapter | None) -> list[Any]:
        inputs = [
            tensor("text_input", "BYTES", np.array([[request.prompt.text.encode()]], dtype=np.object_)),
            tensor("max_tokens", "INT32", np.array([[request.max_new_tokens]], dtype=np.int32)),
            tensor("stream", "BOOL", np.array([[True]], dtype=np.bool_)),
        ]
        if request.want_logprobs:
            inputs.append(tensor("return_log_probs", "BOOL", np.array([[True]], dtype=np.bool_)))
            # TensorRT-LLM fills log-probs only when a sampling parameter is set; top_k=1 is still greedy.
            inputs.append(tensor("top_k", "INT32", np.array([[1]], dtype=np.int32)))
        if self.perf_metrics:
            inputs.append(tensor("return_perf_metrics", "BOOL", np.array([[True]], dtype=np.bool_)))
        words = stop_words(request)
        if words:
            inputs.append(tensor("stop_words", "BYTES", np.array([[w.encode() for w in words]], dtype=np.object_)))
        if task_id is not None:
            inputs.append(tensor("lora_task_id", "UINT64", np.array([[task_id]], dtype=np.uint64)))
            if adapter is not None:
                inputs.append(tensor("lora_weights", "FP16", adapter.weights))
                inputs.append(tensor("lora_config", "INT32", adapter.config))
        return inputs

    def reader(self) -> Reader:
        return _DeltaReader()


class LlmApiStyle:
    name = "llmapi"

    def inputs(self, request: GenerationRequest, task_id: int | None, adapter: Adapter | None) -> list[Any]:
        if task_id is not None:
            raise EngineError("triton: the LLM API model takes no LoRA adapters; tenants need inflight_batcher")
        inputs = [
            tensor("text_input", "BYTES", np.array([request.prompt.text.encode()], dtype=np.object_)),
            tensor("streaming", "BOOL", np.array([True], dtype=np.bool_)),
            tensor("sampling_param_max_tokens", "INT32", np.array([request.max_new_tokens], dtype=np.int32)),
            tensor("sampling_param_exclude_input_from_output", "BOOL", np.array([True], dtype=np.bool_)),
            # Greedy, as the inflight-batcher style is.
            tensor("sampling_param_top_k", "INT32", np.array([1], dtype=np.int32)),
        ]
        if request.want_logprobs:
            inputs.append(tensor("return_cumulative_logprob", "BOOL", np.array([True], dtype=np.bool_)))
        words = stop_words(request)
        if words:
            encoded = np.array([word.encode() for word in words], dtype=np.object_)
            inputs.append(tensor("sampling_param_stop", "BYTES", encoded))
        return inputs

    def reader(self) -> Reader:
        return _CumulativeReader()


def request_style(name: str, *, perf_metrics: bool = False) -> InflightBatcherStyle | LlmApiStyle:
    if name == "llmapi":
        return LlmApiStyle()
    if name == "inflight_batcher":
        return InflightBatcherStyle(perf_metrics)
    raise ValueError(f"request style {name!r} is not one of {', '.join(STYLES)}")
