"""A CPU stand-in for TensorRT-LLM's ``tensorrt_llm`` model, for proving the GPU layout's wiring.

Same input/output names, dtypes and shapes as the rendered ``tensorrt_llm`` config (the test only switches
its backend to ``python``). It "generates" the token ids listed in ``<gpt_model_path>/standin.json``: one
token per response when streaming (new tokens only, as with ``exclude_input_in_output``), all of them in one
response otherwise, stopping at ``request_output_len`` or the end id, and honouring cancellation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils


def _scalar(request: Any, name: str, default: Any) -> Any:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return default if tensor is None else tensor.as_numpy().reshape(-1)[0].item()


def _response(ids: list[int]) -> Any:
    return pb_utils.InferenceResponse(
        output_tensors=[
            pb_utils.Tensor("output_ids", np.array([[ids]], dtype=np.int32)),
            pb_utils.Tensor("sequence_length", np.array([[len(ids)]], dtype=np.int32)),
            pb_utils.Tensor("cum_log_probs", np.array([[-0.5 * len(ids)]], dtype=np.float32)),
            pb_utils.Tensor("output_log_probs", np.full((1, 1, len(ids)), -0.5, dtype=np.float32)),
        ]
    )


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        engine_dir = Path(config["parameters"]["gpt_model_path"]["string_value"])
        self.continuation = json.loads((engine_dir / "standin.json").read_text())["continuation_ids"]
        self.requests_seen: list[dict[str, Any]] = []

    def execute(self, requests: list[Any]) -> None:
        final = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        for request in requests:
            sender = request.get_response_sender()
            input_ids = pb_utils.get_input_tensor_by_name(request, "input_ids").as_numpy()
            assert input_ids.dtype == np.int32 and input_ids.size > 0
            budget = int(_scalar(request, "request_output_len", 16))
            end_id = int(_scalar(request, "end_id", -1))
            streaming = bool(_scalar(request, "streaming", False))
            ids: list[int] = []
            for token in self.continuation[:budget]:
                if token == end_id or request.is_cancelled():
                    break
                ids.append(token)
                if streaming:
                    sender.send(_response([token]))
            if not streaming:
                sender.send(_response(ids))
            sender.send(flags=final)
        return None
