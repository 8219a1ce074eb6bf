"""Streaming orchestration of preprocessing -> tensorrt_llm -> postprocessing, with intact spaces.

It owns the streaming path of the GPU deployment. The stock ensemble detokenizes each step's new tokens on
their own, and byte-level BPE puts a word's leading space inside the token, where a lone decode loses it.
Here the output ids are accumulated, the postprocessing model decodes all of them each step, and only the
text beyond what was already sent goes out; a trailing U+FFFD (a UTF-8 sequence split across tokens) is
held back until the next step completes it. Each response therefore holds new text only, as the CPU model's
do, so one client serves both deployments. Client cancellation is checked before every step and stops the
engine request.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

# Contract input -> tensorrt_llm input, for the optional controls passed through unchanged.
PASS_THROUGH = {
    "temperature": "temperature",
    "top_k": "runtime_top_k",
    "top_p": "runtime_top_p",
    "return_log_probs": "return_log_probs",
    "lora_task_id": "lora_task_id",
}


def _input(request: Any, name: str) -> Any:
    return pb_utils.get_input_tensor_by_name(request, name)


def _output(response: Any, name: str) -> np.ndarray | None:
    tensor = pb_utils.get_output_tensor_by_name(response, name)
    return None if tensor is None else tensor.as_numpy()


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        self.config = json.loads(args["model_config"])
        self.decoupled = pb_utils.using_decoupled_model_transaction_policy(self.config)

    def execute(self, requests: list[Any]) -> None:
        for request in requests:
            sender = request.get_response_sender()
            try:
                self.serve(request, sender)
            except Exception as exc:  # any failure must still close the request
                sender.send(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))),
                    flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL,
                )
                continue
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        return None

    def preprocess(self, request: Any) -> Any:
        names = {
            "text_input": "QUERY",
            "max_tokens": "REQUEST_OUTPUT_LEN",
            "stop_words": "STOP_WORDS_DICT",
            "bad_words": "BAD_WORDS_DICT",
            "end_id": "END_ID",
            "pad_id": "PAD_ID",
        }
        inputs = [
            pb_utils.Tensor(target, tensor.as_numpy())
            for source, target in names.items()
            if (tensor := _input(request, source)) is not None
        ]
        response = pb_utils.InferenceRequest(
            model_name="preprocessing",
            inputs=inputs,
            requested_output_names=[
                "INPUT_ID", "REQUEST_INPUT_LEN", "REQUEST_OUTPUT_LEN",
                "STOP_WORDS_IDS", "BAD_WORDS_IDS", "OUT_END_ID", "OUT_PAD_ID",
            ],
        ).exec()
        if response.has_error():
            raise RuntimeError(f"preprocessing: {response.error().message()}")
        return response

    def detokenize(self, ids: list[int]) -> str:
        tokens = np.array([[ids]], dtype=np.int32)
        lengths = np.array([[len(ids)]], dtype=np.int32)
        response = pb_utils.InferenceRequest(
            model_name="postprocessing",
            inputs=[pb_utils.Tensor("TOKENS_BATCH", tokens), pb_utils.Tensor("SEQUENCE_LENGTH", lengths)],
            requested_output_names=["OUTPUT"],
        ).exec()
        if response.has_error():
            raise RuntimeError(f"postprocessing: {response.error().message()}")
        value = _output(response, "OUTPUT").reshape(-1)[0]
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def serve(self, request: Any, sender: Any) -> None:
        pre = self.preprocess(request)
        stream_tensor = _input(request, "stream")
        stream = bool(stream_tensor.as_numpy().reshape(-1)[0]) if stream_tensor is not None else False
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
        engine_request = pb_utils.InferenceRequest(
            model_name="tensorrt_llm",
            inputs=inputs,
            requested_output_names=["output_ids", "sequence_length", "cum_log_probs", "output_log_probs"],
        )
        ids: list[int] = []
        sent = ""
        cum_log_prob = 0.0
        responses = engine_request.exec(decoupled=True)
        for response in responses:
            if request.is_cancelled():
                # Stops the engine request; TensorRT-LLM drops it at its next cancellation check.
                if hasattr(responses, "cancel"):
                    responses.cancel()
                return
            if response.has_error():
                raise RuntimeError(f"tensorrt_llm: {response.error().message()}")
            output_ids = _output(response, "output_ids")
            if output_ids is None:
                continue  # the engine's empty final response
            length = int(_output(response, "sequence_length").reshape(-1)[0])
            new_ids = [int(t) for t in output_ids.reshape(-1)[:length]]
            log_probs = _output(response, "output_log_probs")
            cum = _output(response, "cum_log_probs")
            if cum is not None and cum.size:
                cum_log_prob = float(cum.reshape(-1)[0])
            ids.extend(new_ids)
            if not stream:
                continue
            text = self.detokenize(ids)
            if text.endswith("\ufffd") or not text.startswith(sent):
                continue  # incomplete UTF-8 at the end: wait for the rest
            delta, sent = text[len(sent) :], text
            if delta:
                sender.send(self.response(delta, log_probs, cum_log_prob))
        text = self.detokenize(ids)
        remainder = text[len(sent) :] if text.startswith(sent) else text
        if remainder or not stream:
            sender.send(self.response(remainder, None, cum_log_prob))

    @staticmethod
    def response(text: str, log_probs: np.ndarray | None, cum_log_prob: float) -> Any:
        if log_probs is None or not log_probs.size:
            log_probs = np.zeros((1, 1, 0), dtype=np.float32)
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("text_output", np.array([[text.encode("utf-8")]], dtype=np.object_)),
                pb_utils.Tensor("output_log_probs", log_probs.astype(np.float32).reshape(1, 1, -1)),
                pb_utils.Tensor("cum_log_probs", np.array([[cum_log_prob]], dtype=np.float32)),
            ]
        )
