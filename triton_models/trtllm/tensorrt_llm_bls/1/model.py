"""Streaming orchestration of preprocessing -> tensorrt_llm, with incremental detokenization in process.

It owns the streaming path of the GPU deployment. The stock ensemble detokenizes each step's new tokens on
their own, and byte-level BPE puts a word's leading space inside the token, where a lone decode loses it.
Here each new id goes through the tokenizer's incremental decoder (``tokenizers.decoders.DecodeStream``),
which returns text only once it is complete UTF-8, so each response holds new text only, as the CPU
model's do, and one client serves both deployments. Log-probabilities of steps whose text is held back
travel with the next response, so the client's sum over the stream is the sequence's.

``execute`` is a coroutine (python_backend 24.04+): one instance serves many streams; each blocking read of
the engine's response iterator runs in a worker thread so the event loop keeps serving the others.

Cancellation reaches the engine two ways, both keyed by the request id the engine request carries: a second
request with ``stop=true`` (what upstream's BLS model sends, tensorrtllm_backend v0.19.0
``tensorrt_llm_bls/1/lib/triton_decoder.py``), and ``cancel()`` on the response iterator where
python_backend has it (r25.04+).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils
from tokenizers import Tokenizer

# Contract input -> tensorrt_llm input, for the optional controls passed through unchanged.
PASS_THROUGH = {
    "temperature": "temperature",
    "top_k": "runtime_top_k",
    "top_p": "runtime_top_p",
    "random_seed": "random_seed",
    "return_log_probs": "return_log_probs",
    "return_perf_metrics": "return_perf_metrics",
    "lora_task_id": "lora_task_id",
    "lora_weights": "lora_weights",
    "lora_config": "lora_config",
}
PREPROCESSING_INPUTS = {
    "text_input": "QUERY",
    "max_tokens": "REQUEST_OUTPUT_LEN",
    "stop_words": "STOP_WORDS_DICT",
    "bad_words": "BAD_WORDS_DICT",
    "end_id": "END_ID",
    "pad_id": "PAD_ID",
}
PERF_OUTPUTS = ("kv_cache_alloc_new_blocks", "kv_cache_reused_blocks", "kv_cache_alloc_total_blocks")
ENGINE_OUTPUTS = ["output_ids", "sequence_length", "cum_log_probs", "output_log_probs", *PERF_OUTPUTS]
_DONE = object()


def _input(request: Any, name: str) -> Any:
    return pb_utils.get_input_tensor_by_name(request, name)


def _output(response: Any, name: str) -> np.ndarray | None:
    tensor = pb_utils.get_output_tensor_by_name(response, name)
    return None if tensor is None else tensor.as_numpy()


class IncrementalText:
    """New text per new token id, never splitting a UTF-8 sequence or losing a merged leading space."""

    def __init__(self, tokenizer: Tokenizer, skip_special: bool = True) -> None:
        self.tokenizer = tokenizer
        self.skip_special = skip_special
        self.ids: list[int] = []
        self.sent = ""
        try:
            from tokenizers.decoders import DecodeStream  # noqa: PLC0415 - tokenizers 0.21+

            self.stream: Any = DecodeStream(skip_special_tokens=skip_special)
        except ImportError:
            self.stream = None

    def push(self, token: int) -> str:
        if self.stream is not None:
            return self.stream.step(self.tokenizer, token) or ""
        # Older tokenizers: decode everything so far and send what is new and complete.
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=self.skip_special)
        if text.endswith("\ufffd") or not text.startswith(self.sent):
            return ""
        delta, self.sent = text[len(self.sent) :], text
        return delta


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        self.config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in self.config.get("parameters", {}).items()}
        self.engine_model = params.get("tensorrt_llm_model_name") or "tensorrt_llm"
        self.tokenizer = Tokenizer.from_file(str(Path(params["tokenizer_dir"]) / "tokenizer.json"))

    async def execute(self, requests: list[Any]) -> None:
        await asyncio.gather(*(self.serve_one(request) for request in requests))
        return None

    async def serve_one(self, request: Any) -> None:
        sender = request.get_response_sender()
        final = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        try:
            await self.serve(request, sender)
        except Exception as exc:  # any failure must still close the request
            sender.send(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))), flags=final)
            return
        sender.send(flags=final)

    async def preprocess(self, request: Any) -> Any:
        inputs = [
            pb_utils.Tensor(target, tensor.as_numpy())
            for source, target in PREPROCESSING_INPUTS.items()
            if (tensor := _input(request, source)) is not None
        ]
        response = await pb_utils.InferenceRequest(
            model_name="preprocessing",
            inputs=inputs,
            requested_output_names=[
                "INPUT_ID", "REQUEST_INPUT_LEN", "REQUEST_OUTPUT_LEN",
                "STOP_WORDS_IDS", "BAD_WORDS_IDS", "OUT_END_ID", "OUT_PAD_ID",
            ],
        ).async_exec()
        if response.has_error():
            raise RuntimeError(f"preprocessing: {response.error().message()}")
        return response

    def engine_inputs(self, request: Any, pre: Any, stream: bool) -> list[Any]:
        inputs = [
            pb_utils.Tensor("input_ids", _output(pre, "INPUT_ID")),
            pb_utils.Tensor("input_lengths", _output(pre, "REQUEST_INPUT_LEN")),
            pb_utils.Tensor("request_output_len", _output(pre, "REQUEST_OUTPUT_LEN")),
            pb_utils.Tensor("end_id", _output(pre, "OUT_END_ID")),
            pb_utils.Tensor("pad_id", _output(pre, "OUT_PAD_ID")),
            pb_utils.Tensor("stop_words_list", _output(pre, "STOP_WORDS_IDS")),
            pb_utils.Tensor("bad_words_list", _output(pre, "BAD_WORDS_IDS")),
            pb_utils.Tensor("streaming", np.array([[stream]], dtype=np.bool_)),
            pb_utils.Tensor("exclude_input_in_output", np.array([[True]], dtype=np.bool_)),
        ]
        for source, target in PASS_THROUGH.items():
            tensor = _input(request, source)
            if tensor is not None:
                inputs.append(pb_utils.Tensor(target, tensor.as_numpy()))
        return inputs

    async def serve(self, request: Any, sender: Any) -> None:
        pre = await self.preprocess(request)
        stream_tensor = _input(request, "stream")
        stream = bool(stream_tensor.as_numpy().reshape(-1)[0]) if stream_tensor is not None else False
        # The engine keys stop requests by this id, so it must be unique across clients.
        request_id = f"{request.request_id() or 'bls'}-{uuid.uuid4().hex}"
        engine_request = pb_utils.InferenceRequest(
            model_name=self.engine_model,
            inputs=self.engine_inputs(request, pre, stream),
            requested_output_names=ENGINE_OUTPUTS,
            request_id=request_id,
        )
        responses = await engine_request.async_exec(decoupled=True)
        text = IncrementalText(self.tokenizer)
        pending_text: list[str] = []
        pending_log_probs: list[float] = []
        perf: dict[str, int] = {}
        cum_log_prob = 0.0
        while True:
            response = await asyncio.to_thread(next, responses, _DONE)
            if response is _DONE:
                break
            if request.is_cancelled():
                await self.cancel_engine(responses, request_id)
                return
            if response.has_error():
                raise RuntimeError(f"tensorrt_llm: {response.error().message()}")
            output_ids = _output(response, "output_ids")
            if output_ids is None:
                continue  # the engine's empty final response
            length = int(_output(response, "sequence_length").reshape(-1)[0])
            new_ids = [int(t) for t in output_ids.reshape(-1)[:length]]
            log_probs = _output(response, "output_log_probs")
            if log_probs is not None and log_probs.size:
                pending_log_probs.extend(float(v) for v in log_probs.reshape(-1)[-len(new_ids) :])
            cum = _output(response, "cum_log_probs")
            if cum is not None and cum.size:
                cum_log_prob = float(cum.reshape(-1)[0])
            for name in PERF_OUTPUTS:
                value = _output(response, name)
                if value is not None and value.size:
                    perf[name] = int(value.reshape(-1)[0])
            pending_text.extend(text.push(token) for token in new_ids)
            delta = "".join(pending_text)
            if stream and delta:
                sender.send(self.response(delta, pending_log_probs, cum_log_prob, perf))
                pending_text, pending_log_probs = [], []
        remainder = "".join(pending_text)
        if remainder or pending_log_probs or not stream:
            sender.send(self.response(remainder, pending_log_probs, cum_log_prob, perf))

    async def cancel_engine(self, responses: Any, request_id: str) -> None:
        """Stop the engine request now rather than at ``max_tokens``."""
        cancel = getattr(responses, "cancel", None)
        if cancel is not None:
            cancel()
        # The tensors upstream's send_cancellation_request sends: only the id and stop=true matter.
        stop = pb_utils.InferenceRequest(
            model_name=self.engine_model,
            inputs=[
                pb_utils.Tensor("input_ids", np.zeros((1, 1), dtype=np.int32)),
                pb_utils.Tensor("input_lengths", np.zeros((1, 1), dtype=np.int32)),
                pb_utils.Tensor("request_output_len", np.zeros((1, 1), dtype=np.int32)),
                pb_utils.Tensor("stop", np.array([[True]], dtype=np.bool_)),
            ],
            requested_output_names=[],
            request_id=request_id,
        )
        answers = await stop.async_exec(decoupled=True)
        for answer in await asyncio.to_thread(list, answers):
            if answer.has_error():
                pb_utils.Logger.log_warn(f"tensorrt_llm_bls: stop of {request_id}: {answer.error().message()}")

    @staticmethod
    def response(text: str, log_probs: list[float], cum_log_prob: float, perf: dict[str, int]) -> Any:
        tensors = [
            pb_utils.Tensor("text_output", np.array([[text.encode("utf-8")]], dtype=np.object_)),
            pb_utils.Tensor("output_log_probs", np.array(log_probs, dtype=np.float32).reshape(1, 1, -1)),
            pb_utils.Tensor("cum_log_probs", np.array([[cum_log_prob]], dtype=np.float32)),
        ]
        tensors += [pb_utils.Tensor(name, np.array([[value]], dtype=np.int32)) for name, value in perf.items()]
        return pb_utils.InferenceResponse(output_tensors=tensors)
