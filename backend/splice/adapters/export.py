"""A peft LoRA adapter converted to the arrays TensorRT-LLM serves it from, and back.

The GPU deployment takes a tenant's adapter as ``model.lora_weights.npy`` and ``model.lora_config.npy``
(in ``lora_prefetch_dir/<task_id>/``, or sent with a request as ``lora_weights``/``lora_config``), the
layout TensorRT-LLM's ``examples/hf_lora_convert.py`` writes. This module writes that layout itself, so an
adapter trained here converts without the TensorRT-LLM wheel, is checked against the base model it was
trained for before anything reaches a GPU, and can be read back (the CPU deployment serves the same
arrays, and the round trip is how the tests prove the conversion keeps the adapter's outputs).

Facts carried over from upstream (``hf_lora_convert.py`` and ``tensorrt_llm/lora_manager.py``,
``LoraManager.load_from_hf``; ``cpp/tensorrt_llm/runtime/loraModule.cpp`` for the dimensions):

- One row per (layer, module). ``lora_config`` row: ``[module_id, layer, rank]`` INT32, module ids from
  ``LoraManager.LORA_MODULE_IDS`` (:data:`splice.engines.lora_cache.MODULE_IDS`); 0.19's converter writes
  these three columns (later releases append an ``is_dora`` flag, which the ``[-1, 3]`` request tensor of
  the pinned backend does not carry).
- ``lora_weights`` row: peft's ``lora_A.weight`` (``[rank, in]``, "in") flattened row-major, then
  ``lora_B.weight`` (``[out, rank]``, "out") flattened row-major; neither is transposed for peft's
  orientation. Rows are zero-padded on the right to the widest row; shapes ``[1, N, W]`` and ``[1, N, 3]``.
- The scale ``alpha / rank`` (``alpha / sqrt(rank)`` with rsLoRA) is folded into B; the runtime applies
  none. So ``y = W x + B_scaled (A x)``.
- Weights are stored in the engine's dtype (float16 for the pinned deployment; TensorRT-LLM refuses
  another dtype than the engine's). No other cast, no transposes, no tensor-parallel split (the runtime
  splits per rank).
- Hugging Face names: q_proj -> attn_q, k_proj -> attn_k, v_proj -> attn_v, o_proj -> attn_dense,
  gate_proj -> mlp_h_to_4h, up_proj -> mlp_gate, down_proj -> mlp_4h_to_h
  (:data:`splice.adapters.targets.TARGET_MODULES`).
- Dimensions (in, out): attn_q ``hidden -> heads * head_dim``, attn_k/attn_v
  ``hidden -> kv_heads * head_dim``, attn_dense ``hidden -> hidden``, mlp_h_to_4h and mlp_gate
  ``hidden -> intermediate``, mlp_4h_to_h ``intermediate -> hidden``; layers ``0 .. layers - 1``.

What the layout cannot carry: embedding rows trained with the adapter (peft's trainable tokens, used
for FIM sentinels a base lacks) and DoRA magnitudes. A GPU code model has the sentinels in its vocabulary;
an adapter with trained token rows is refused unless the caller accepts dropping them.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from splice.adapters.targets import TARGET_MODULES
from splice.engines.lora_cache import CONFIG_FILE, MODULE_IDS, WEIGHTS_FILE, Adapter, AdapterError, adapter

Array = np.ndarray[Any, Any]
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_HF_TO_TRTLLM = {hf: trt for trt, hf in TARGET_MODULES.items()}
_KEY = re.compile(r"\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_(A|B)(?:\.[A-Za-z0-9_]+)?\.weight$")
_BLOCK = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
          "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}
_DTYPES = {"float16": np.float16, "float32": np.float32}


class ExportError(AdapterError):
    """An adapter that does not convert: unreadable, of a kind the layout lacks, or not for this base."""


@dataclass(frozen=True, kw_only=True)
class BaseShape:
    """The base model's dimensions an adapter must match (TensorRT-LLM's ``ModelConfig`` fields)."""

    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    layers: int

    @classmethod
    def from_config(cls, config: Any) -> BaseShape:
        """The shape of a Hugging Face model configuration (Llama-style field names)."""
        heads = int(config.num_attention_heads)
        head_dim = getattr(config, "head_dim", None) or int(config.hidden_size) // heads
        return cls(hidden=int(config.hidden_size), heads=heads,
                   kv_heads=int(getattr(config, "num_key_value_heads", None) or heads), head_dim=int(head_dim),
                   intermediate=int(config.intermediate_size), layers=int(config.num_hidden_layers))

    def dims(self, module: str) -> tuple[int, int]:
        """(in, out) features of the TensorRT-LLM module ``module`` (``loraModule.cpp``)."""
        q_out, kv_out = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return {
            "attn_q": (self.hidden, q_out), "attn_k": (self.hidden, kv_out), "attn_v": (self.hidden, kv_out),
            "attn_dense": (self.hidden, self.hidden), "mlp_h_to_4h": (self.hidden, self.intermediate),
            "mlp_gate": (self.hidden, self.intermediate), "mlp_4h_to_h": (self.intermediate, self.hidden),
        }[module]


@dataclass(frozen=True, kw_only=True)
class ExportReport:
    """What an export wrote: rows (layer x module), the widest row, modules, ranks and the dtype."""

    rows: int
    row_width: int
    modules: tuple[str, ...]
    ranks: tuple[int, ...]
    dtype: str
    dropped_token_rows: int


def read_adapter(directory: Path) -> tuple[dict[str, Any], dict[str, Array]]:
    """The peft configuration and tensors saved in ``directory`` (float32 numpy arrays)."""
    from safetensors.numpy import load_file  # noqa: PLC0415 - the train extra's; only an export needs it

    try:
        config: dict[str, Any] = json.loads((directory / ADAPTER_CONFIG).read_text())
        tensors = load_file(str(directory / ADAPTER_WEIGHTS))
    except (OSError, ValueError) as exc:
        raise ExportError(f"{directory} holds no readable peft adapter ({ADAPTER_CONFIG} and "
                          f"{ADAPTER_WEIGHTS}): {exc}") from exc
    return config, {key: np.asarray(value, dtype=np.float32) for key, value in tensors.items()}


def _scale(config: Mapping[str, Any], hf_module: str, rank: int) -> float:
    """peft's multiplier of B @ A for ``hf_module``: alpha (per-module pattern first) over rank or its root."""
    alpha = float(config.get("lora_alpha", rank))
    for pattern, value in (config.get("alpha_pattern") or {}).items():
        if re.search(rf"(^|\.){re.escape(pattern)}$", hf_module) or pattern == hf_module:
            alpha = float(value)
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def _refusals(config: Mapping[str, Any], tensors: Mapping[str, Array], drop_token_rows: bool) -> list[str]:
    problems = []
    if config.get("peft_type", "LORA") != "LORA":
        problems.append(f"the adapter is {config.get('peft_type')}, not LoRA")
    if config.get("use_dora"):
        problems.append("DoRA magnitudes have no place in TensorRT-LLM 0.19's lora_config")
    if config.get("fan_in_fan_out"):
        problems.append("fan_in_fan_out (Conv1D) adapters are not Llama-style; convert them upstream")
    if config.get("modules_to_save"):
        problems.append(f"modules_to_save {config['modules_to_save']} are whole modules, not LoRA rows")
    if any("token_adapter" in key for key in tensors) and not drop_token_rows:
        problems.append("the adapter trains embedding rows (FIM sentinels the base lacks), which the layout "
                        "cannot carry; serve it on a base that has them, or drop them (--drop-token-rows)")
    return problems


def _pairs(tensors: Mapping[str, Array]) -> dict[tuple[int, str], dict[str, Array]]:
    """(layer, TensorRT-LLM module) -> {"A": ..., "B": ...} from peft's tensor names."""
    pairs: dict[tuple[int, str], dict[str, Array]] = {}
    for key, value in tensors.items():
        if "token_adapter" in key:
            continue
        match = _KEY.search(key)
        if match is None or match.group(3) not in _HF_TO_TRTLLM:
            raise ExportError(f"tensor {key} is not a LoRA matrix of a module TensorRT-LLM maps "
                              f"({', '.join(_HF_TO_TRTLLM)})")
        pairs.setdefault((int(match.group(1)), _HF_TO_TRTLLM[match.group(3)]), {})[match.group(4)] = value
    return pairs


def _row(config: Mapping[str, Any], layer: int, module: str, pair: Mapping[str, Array],
         shape: BaseShape) -> tuple[Array, int]:
    """One weights row (A flat, then scaled B flat) and its rank, checked against the base's dimensions."""
    if set(pair) != {"A", "B"}:
        raise ExportError(f"layer {layer} {module}: lora_A and lora_B must both be present")
    a, b = pair["A"], pair["B"]
    if layer >= shape.layers:
        raise ExportError(f"layer {layer} {module}: the base model has {shape.layers} layers")
    fan_in, fan_out = shape.dims(module)
    rank = int(a.shape[0])
    if a.ndim != 2 or b.ndim != 2 or a.shape != (rank, fan_in) or b.shape != (fan_out, rank):
        raise ExportError(f"layer {layer} {module}: A {list(a.shape)} and B {list(b.shape)} do not fit the base "
                          f"model's [{rank}, {fan_in}] and [{fan_out}, {rank}]")
    scaled = b * _scale(config, TARGET_MODULES[module], rank)
    return np.concatenate([a.reshape(-1), scaled.reshape(-1)]), rank


def convert(config: Mapping[str, Any], tensors: Mapping[str, Array], shape: BaseShape, *,
            dtype: str = "float16", drop_token_rows: bool = False) -> tuple[Adapter, ExportReport]:
    """The request tensors of a peft adapter for a base of ``shape``; ExportError saying why not."""
    if dtype not in _DTYPES:
        raise ExportError(f"dtype {dtype!r} is not one of {', '.join(_DTYPES)}")
    problems = _refusals(config, tensors, drop_token_rows)
    if problems:
        raise ExportError("; ".join(problems))
    pairs = _pairs(tensors)
    if not pairs:
        raise ExportError("the adapter holds no LoRA matrices")
    order = sorted(pairs, key=lambda key: (key[0], MODULE_IDS[key[1]]))
    rows, ranks, configs = [], [], []
    for layer, module in order:
        row, rank = _row(config, layer, module, pairs[(layer, module)], shape)
        rows.append(row)
        ranks.append(rank)
        configs.append([MODULE_IDS[module], layer, rank])
    width = max(row.size for row in rows)
    weights = np.zeros((1, len(rows), width), dtype=_DTYPES[dtype])
    for index, row in enumerate(rows):
        weights[0, index, : row.size] = row
    entry = adapter(weights, np.array([configs], dtype=np.int32))
    dropped = sum(int(v.shape[0]) for k, v in tensors.items() if "token_adapter" in k)
    modules = tuple(sorted({module for _, module in order}, key=MODULE_IDS.__getitem__))
    report = ExportReport(rows=len(rows), row_width=width, modules=modules, ranks=tuple(sorted(set(ranks))),
                          dtype=dtype, dropped_token_rows=dropped)
    # The request tensor is FP16; a float32 export keeps its own dtype on disk for an FP32 engine.
    return Adapter(weights=weights if dtype != "float16" else entry.weights, config=entry.config), report


def peft_tensors(entry: Adapter, shape: BaseShape) -> dict[str, Array]:
    """The converted ``entry`` as peft tensors (float32) for an adapter whose alpha equals its rank: B holds
    the scale already, so the adapter read back multiplies by 1."""
    weights = entry.weights.reshape(-1, entry.weights.shape[-1]).astype(np.float32)
    tensors: dict[str, Array] = {}
    names = {ident: name for name, ident in MODULE_IDS.items()}
    for row, (module_id, layer, rank) in zip(weights, entry.config.reshape(-1, 3).tolist(), strict=True):
        module = names.get(int(module_id))
        if module not in TARGET_MODULES:
            raise ExportError(f"module id {module_id} has no Llama-style Hugging Face module")
        fan_in, fan_out = shape.dims(module)
        if rank * (fan_in + fan_out) > row.size:
            raise ExportError(f"layer {layer} {module}: a rank-{rank} row needs {rank * (fan_in + fan_out)} values, "
                              f"the weights hold {row.size}")
        hf = TARGET_MODULES[module]
        prefix = f"base_model.model.model.layers.{layer}.{_BLOCK[hf]}.{hf}"
        split = rank * fan_in
        tensors[f"{prefix}.lora_A.weight"] = row[:split].reshape(rank, fan_in).copy()
        tensors[f"{prefix}.lora_B.weight"] = row[split : split + rank * fan_out].reshape(fan_out, rank).copy()
    return tensors


def base_shape(model: Path) -> BaseShape:
    """The shape of the base model at ``model`` (a checkpoint directory or a ``.gguf`` file)."""
    from transformers import AutoConfig  # noqa: PLC0415 - the train extra's; reads the configuration only

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local path only: never reach for a model hub
    if not model.exists():
        raise ExportError(f"base model {model} does not exist")
    where, options = (model.parent, {"gguf_file": model.name}) if model.is_file() else (model, {})
    try:
        return BaseShape.from_config(AutoConfig.from_pretrained(where, **options))
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise ExportError(f"cannot read a model configuration from {model}: {exc}") from exc


def export_adapter(adapter_dir: Path, out_dir: Path, shape: BaseShape, *, dtype: str = "float16",
                   drop_token_rows: bool = False) -> ExportReport:
    """Convert the peft adapter in ``adapter_dir`` into ``out_dir`` (a ``<lora_dir>/<task_id>/`` directory).

    Each file is written beside its final name and renamed into place, so a reader (the server's
    prefetch, the client's resend) sees the old pair or the new one, never half a file."""
    config, tensors = read_adapter(adapter_dir)
    entry, report = convert(config, tensors, shape, dtype=dtype, drop_token_rows=drop_token_rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, value in ((WEIGHTS_FILE, entry.weights), (CONFIG_FILE, entry.config)):
        partial = out_dir / f".{name}.partial"
        with partial.open("wb") as handle:
            np.save(handle, value, allow_pickle=False)
        os.replace(partial, out_dir / name)
    return report
