"""Tokenizes requests for the tensorrt_llm model: prompt ids, lengths, and stop/bad word lists.

It owns the conversion from the text contract to TensorRT-LLM's id tensors, using the model's own
``tokenizer.json`` (Hugging Face ``tokenizers``) so FIM markers map to the model's special tokens. Word lists
use TensorRT-LLM's ``[2, L]`` layout: row 0 the concatenated ids, row 1 each word's end offset, padded -1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils
from tokenizers import Tokenizer


def _strings(request: Any, name: str) -> list[list[str]]:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return []
    rows = tensor.as_numpy()
    return [[v.decode() if isinstance(v, bytes) else str(v) for v in row.reshape(-1) if v] for row in rows]


def _ints(request: Any, name: str) -> np.ndarray | None:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return None if tensor is None else tensor.as_numpy().astype(np.int32).reshape(-1, 1)


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config["parameters"].items()}
        self.tokenizer = Tokenizer.from_file(str(Path(params["tokenizer_dir"]) / "tokenizer.json"))
        # The family's BOS (CodeLlama, DeepSeek-Coder, CodeGemma) comes from the tokenizer's own
        # post-processor; stop and bad words never get one.
        self.add_special = params.get("add_special_tokens", "false").lower() == "true"
        end_token = params.get("end_token", "<|endoftext|>")
        end_id = self.tokenizer.token_to_id(end_token)
        if end_id is None:
            raise pb_utils.TritonModelException(f"end_token {end_token!r} is not in the tokenizer")
        self.end_id = end_id
        # Models without a pad token pad with the end token, as TensorRT-LLM's own preprocessing does.
        self.pad_id = end_id

    def word_list(self, words: list[str]) -> np.ndarray:
        ids: list[int] = []
        offsets: list[int] = []
        for word in words:
            ids.extend(self.tokenizer.encode(word, add_special_tokens=False).ids)
            offsets.append(len(ids))
        if not ids:
            return np.array([[0], [-1]], dtype=np.int32)
        width = max(len(ids), len(offsets))
        out = np.full((2, width), -1, dtype=np.int32)
        out[0, : len(ids)] = ids
        out[0, len(ids) :] = 0
        out[1, : len(offsets)] = offsets
        return out

    @staticmethod
    def stack(lists: list[np.ndarray]) -> np.ndarray:
        width = max(item.shape[1] for item in lists)
        padded = []
        for item in lists:
            pad = np.full((2, width - item.shape[1]), -1, dtype=np.int32)
            pad[0, :] = 0
            padded.append(np.concatenate([item, pad], axis=1))
        return np.stack(padded)

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            queries = [row[0] for row in _strings(request, "QUERY")]
            batch = len(queries)
            encoded = [self.tokenizer.encode(query, add_special_tokens=self.add_special).ids for query in queries]
            width = max((len(ids) for ids in encoded), default=0)
            input_ids = np.full((batch, max(1, width)), self.pad_id, dtype=np.int32)
            for row, ids in enumerate(encoded):
                input_ids[row, : len(ids)] = ids
            lengths = np.array([[len(ids)] for ids in encoded], dtype=np.int32)
            stop = _strings(request, "STOP_WORDS_DICT") or [[] for _ in range(batch)]
            bad = _strings(request, "BAD_WORDS_DICT") or [[] for _ in range(batch)]
            end_id = _ints(request, "END_ID")
            pad_id = _ints(request, "PAD_ID")
            output_len = pb_utils.get_input_tensor_by_name(request, "REQUEST_OUTPUT_LEN").as_numpy()
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor("INPUT_ID", input_ids),
                        pb_utils.Tensor("REQUEST_INPUT_LEN", lengths),
                        pb_utils.Tensor("BAD_WORDS_IDS", self.stack([self.word_list(w) for w in bad])),
                        pb_utils.Tensor("STOP_WORDS_IDS", self.stack([self.word_list(w) for w in stop])),
                        pb_utils.Tensor("REQUEST_OUTPUT_LEN", output_len.astype(np.int32)),
                        pb_utils.Tensor(
                            "OUT_END_ID",
                            end_id if end_id is not None else np.full((batch, 1), self.end_id, np.int32),
                        ),
                        pb_utils.Tensor(
                            "OUT_PAD_ID",
                            pad_id if pad_id is not None else np.full((batch, 1), self.pad_id, np.int32),
                        ),
                    ]
                )
            )
        return responses
