"""A CPU stand-in for TensorRT-LLM's ``tensorrt_llm`` model, for proving the GPU layout's wiring.

Same input/output names, dtypes and shapes as the rendered ``tensorrt_llm`` config (the test only switches
its backend to ``python``). It "generates" the token ids listed in ``<gpt_model_path>/standin.json``, one
every ``token_delay_s``: one token per response when streaming (new tokens only, as with
``exclude_input_in_output``), all of them in one response otherwise, stopping at ``request_output_len``,
the end id, a client cancellation, or a request with ``stop=true`` and the same request id (the
engine's cancellation contract). Each request runs on its own thread so a stop request is served while
the request it stops is generating. It appends what happened to ``<gpt_model_path>/events.jsonl``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from splice.engines.lora_cache import AdapterCache, AdapterError


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
            pb_utils.Tensor("kv_cache_alloc_new_blocks", np.array([[1]], dtype=np.int32)),
            pb_utils.Tensor("kv_cache_reused_blocks", np.array([[2]], dtype=np.int32)),
            pb_utils.Tensor("kv_cache_alloc_total_blocks", np.array([[3]], dtype=np.int32)),
        ]
    )


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        engine_dir = Path(config["parameters"]["gpt_model_path"]["string_value"])
        spec = json.loads((engine_dir / "standin.json").read_text())
        self.continuation = spec["continuation_ids"]
        self.token_delay_s = float(spec.get("token_delay_s", 0.0))
        self.events = engine_dir / "events.jsonl"
        self.lock = threading.Lock()
        self.stopped: set[str] = set()
        self.adapters = AdapterCache(int(spec.get("lora_cache_adapters", 4)))

    def record(self, **event: Any) -> None:
        with self.lock, self.events.open("a") as out:
            out.write(json.dumps(event) + "\n")

    def execute(self, requests: list[Any]) -> None:
        final = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        for request in requests:
            if bool(_scalar(request, "stop", False)):
                with self.lock:
                    self.stopped.add(request.request_id())
                self.record(event="stop", request_id=request.request_id())
                request.get_response_sender().send(flags=final)
                continue
            threading.Thread(target=self.generate, args=(request,), daemon=True).start()
        return None

    def generate(self, request: Any) -> None:
        sender = request.get_response_sender()
        input_ids = pb_utils.get_input_tensor_by_name(request, "input_ids").as_numpy()
        assert input_ids.dtype == np.int32 and input_ids.size > 0
        budget = int(_scalar(request, "request_output_len", 16))
        end_id = int(_scalar(request, "end_id", -1))
        streaming = bool(_scalar(request, "streaming", False))
        request_id = request.request_id()
        task_id = _scalar(request, "lora_task_id", None)
        if task_id is not None:
            weights = pb_utils.get_input_tensor_by_name(request, "lora_weights")
            config = pb_utils.get_input_tensor_by_name(request, "lora_config")
            try:
                with self.lock:
                    self.adapters.resolve(
                        int(task_id),
                        None if weights is None else weights.as_numpy(),
                        None if config is None else config.as_numpy(),
                    )
            except (LookupError, AdapterError) as exc:
                self.record(event="lora_refused", request_id=request_id, lora_task_id=task_id)
                sender.send(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc.args[0]))),
                            flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
                return
        ids: list[int] = []
        reason = "length"
        for token in self.continuation[:budget]:
            if self.token_delay_s:
                time.sleep(self.token_delay_s)
            with self.lock:
                stopped = request_id in self.stopped
            if stopped or request.is_cancelled():
                reason = "stopped" if stopped else "cancelled"
                break
            if token == end_id:
                reason = "end_id"
                break
            ids.append(token)
            if streaming:
                sender.send(_response([token]))
        if not streaming:
            sender.send(_response(ids))
        self.record(event="finished", request_id=request_id, tokens=len(ids), reason=reason,
                    lora_task_id=task_id,
                    lora_weights=pb_utils.get_input_tensor_by_name(request, "lora_weights") is not None)
        sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
