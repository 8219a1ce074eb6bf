"""Detokenizes output ids (``[batch, beam, tokens]`` with per-beam lengths) into text.

It owns the ids-to-text step of the ensemble and of the BLS model; given accumulated ids it returns the
whole text so far, which is what keeps spaces intact when streaming.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils
from tokenizers import Tokenizer


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config["parameters"].items()}
        self.tokenizer = Tokenizer.from_file(str(Path(params["tokenizer_dir"]) / "tokenizer.json"))
        self.skip_special = params.get("skip_special_tokens", "true").lower() == "true"

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            tokens = pb_utils.get_input_tensor_by_name(request, "TOKENS_BATCH").as_numpy()
            lengths = pb_utils.get_input_tensor_by_name(request, "SEQUENCE_LENGTH").as_numpy()
            texts = []
            for batch_tokens, batch_lengths in zip(tokens, lengths, strict=True):
                for beam_tokens, length in zip(batch_tokens, batch_lengths.reshape(-1), strict=True):
                    ids = [int(t) for t in beam_tokens[: int(length)]]
                    text = self.tokenizer.decode(ids, skip_special_tokens=self.skip_special)
                    texts.append(text.encode("utf-8"))
            output = np.array(texts, dtype=np.object_).reshape(tokens.shape[0], -1)
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("OUTPUT", output)]))
        return responses
