"""A CPU stand-in for TensorRT-LLM's LLM API model (``all_models/llmapi/tensorrt_llm``), for the client.

Same tensor names and shapes as the upstream config at tensorrtllm_backend v0.19.0: no batch dimension,
``sampling_param_*`` inputs, and a streamed ``text_output`` that holds the whole text so far (the LLM API's
``output.text``), plus ``cumulative_logprob`` when asked. It "generates" the words of
``parameters.continuation`` one response each, up to ``sampling_param_max_tokens`` words, and stops early
when the client cancels.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils


def _scalar(request: Any, name: str, default: Any) -> Any:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return default if tensor is None else tensor.as_numpy().reshape(-1)[0].item()


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        self.words = re.findall(r"\s*\S+", config["parameters"]["continuation"]["string_value"])

    def execute(self, requests: list[Any]) -> None:
        for request in requests:
            sender = request.get_response_sender()
            text_input = pb_utils.get_input_tensor_by_name(request, "text_input").as_numpy()
            assert text_input.shape == (1,), text_input.shape  # no batch dimension in this contract
            budget = int(_scalar(request, "sampling_param_max_tokens", 16))
            logprob = bool(_scalar(request, "return_cumulative_logprob", False))
            text = ""
            for index, word in enumerate(self.words[:budget]):
                if request.is_cancelled():
                    break
                text += word
                tensors = [pb_utils.Tensor("text_output", np.array([text.encode()], dtype=np.object_))]
                if logprob:
                    tensors.append(pb_utils.Tensor("cumulative_logprob", np.array([-0.25 * (index + 1)], np.float32)))
                sender.send(pb_utils.InferenceResponse(output_tensors=tensors))
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        return None
