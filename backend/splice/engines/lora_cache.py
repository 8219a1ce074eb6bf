"""The LoRA adapter cache contract of TensorRT-LLM, shared by the client and the CPU model that mimics it.

TensorRT-LLM keeps adapters in a cache keyed by ``lora_task_id``. A request carrying an id the cache does
not hold, and no weights, fails with the exact message in :data:`NOT_CACHED` (``PeftCacheManager`` in
TensorRT-LLM); the client then sends the request once more with the adapter's ``lora_weights`` and
``lora_config`` (the output of TensorRT-LLM's ``hf_lora_convert.py``: ``model.lora_weights.npy`` and
``model.lora_config.npy``), and the id alone afterwards. Evicted adapters fail the same way, so the flow
repeats as needed.

This module owns that message, the on-disk layout of a converted adapter (``<root>/<task_id>/``, the
same as the engine's ``lora_prefetch_dir``), the shape checks, and an id -> adapter LRU cache that the CPU
model uses to answer exactly like the engine does. It knows nothing about what the weights mean.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

NOT_CACHED = "LoRA task {task_id} not found in cache. Please send LoRA weights with request"
_NOT_CACHED = re.compile(r"LoRA task (\d+) not found in cache\. Please send LoRA weights with request")
WEIGHTS_FILE = "model.lora_weights.npy"
Array = np.ndarray[Any, Any]
# Module ids of lora_config's first column (TensorRT-LLM's LoraManager.LORA_MODULE_IDS).
MODULE_IDS = {
    "attn_qkv": 0, "attn_q": 1, "attn_k": 2, "attn_v": 3, "attn_dense": 4,
    "mlp_h_to_4h": 5, "mlp_4h_to_h": 6, "mlp_gate": 7,
}
CONFIG_FILE = "model.lora_config.npy"


class AdapterError(ValueError):
    """An adapter that cannot be used: missing files or tensors of the wrong shape or type."""


@dataclass(frozen=True)
class Adapter:
    """One converted adapter, shaped as the request tensors: weights ``[1, N, W]`` FP16, config
    ``[1, N, 3]`` INT32 (module id, layer, rank), one row per module and layer."""

    weights: Array
    config: Array


def not_cached_task(message: str) -> int | None:
    """The task id when ``message`` is the engine's "not found in cache" error, else None."""
    match = _NOT_CACHED.search(message)
    return int(match.group(1)) if match else None


def adapter(weights: Array, config: Array) -> Adapter:
    """``weights`` and ``config`` checked and shaped for a request; AdapterError saying why not."""
    if weights.ndim == 2:
        weights = weights[np.newaxis]
    if config.ndim == 2:
        config = config[np.newaxis]
    if weights.ndim != 3 or weights.shape[0] != 1 or weights.shape[1] == 0:
        raise AdapterError(f"lora_weights must be [N, W] or [1, N, W]; got shape {list(weights.shape)}")
    if config.ndim != 3 or config.shape[0] != 1 or config.shape[2] != 3:
        raise AdapterError(f"lora_config must be [N, 3] or [1, N, 3]; got shape {list(config.shape)}")
    if config.shape[1] != weights.shape[1]:
        raise AdapterError(
            f"lora_config has {config.shape[1]} rows but lora_weights has {weights.shape[1]}: one per module and layer"
        )
    if not np.issubdtype(weights.dtype, np.floating) or not np.issubdtype(config.dtype, np.integer):
        kinds = f"{weights.dtype}, {config.dtype}"
        raise AdapterError(f"lora_weights must be floating point and lora_config integer; got {kinds}")
    # TensorRT-LLM refuses weights of another dtype than the engine; the request tensor is FP16.
    return Adapter(weights=weights.astype(np.float16), config=config.astype(np.int32))


def load_adapter(root: Path, task_id: int) -> Adapter:
    """The converted adapter of ``task_id`` under ``root``; AdapterError when it is missing or malformed."""
    directory = root / str(task_id)
    try:
        weights = np.load(directory / WEIGHTS_FILE, allow_pickle=False)
        config = np.load(directory / CONFIG_FILE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise AdapterError(f"no converted adapter for task {task_id} in {directory}: {exc}") from exc
    return adapter(weights, config)


def engine_mismatches(entry: Adapter, rank: int, target_modules: list[str]) -> list[str]:
    """Why ``entry`` does not fit an engine built with ``rank`` and ``target_modules`` (empty: it fits)."""
    allowed = {MODULE_IDS[name] for name in target_modules if name in MODULE_IDS}
    rows = entry.config.reshape(-1, 3)
    problems = []
    if rows.size and int(rows[:, 2].max()) > rank:
        problems.append(f"adapter rank {int(rows[:, 2].max())} exceeds the engine's max LoRA rank {rank}")
    extra = sorted({int(module) for module in rows[:, 0]} - allowed)
    if extra:
        names = [name for name, ident in MODULE_IDS.items() if ident in extra] or [str(e) for e in extra]
        problems.append(f"adapter targets modules the engine was not built for: {', '.join(names)}")
    return problems


class AdapterCache:
    """Adapters by task id, least recently used evicted first, answering as TensorRT-LLM's cache does."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._entries: OrderedDict[int, Adapter] = OrderedDict()

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._entries

    def put(self, task_id: int, entry: Adapter) -> None:
        self._entries[task_id] = entry
        self._entries.move_to_end(task_id)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def resolve(self, task_id: int, weights: Array | None, config: Array | None) -> Adapter:
        """The adapter a request for ``task_id`` uses, caching the one it carries.

        Raises LookupError with :data:`NOT_CACHED` when the id is unknown and the request carries no
        weights, and AdapterError when the weights it carries are malformed."""
        if weights is not None and config is not None:
            entry = adapter(weights, config)
            self.put(task_id, entry)
            return entry
        if weights is not None or config is not None:
            raise AdapterError("lora_weights and lora_config must be sent together")
        if task_id not in self._entries:
            raise LookupError(NOT_CACHED.format(task_id=task_id))
        self._entries.move_to_end(task_id)
        return self._entries[task_id]
