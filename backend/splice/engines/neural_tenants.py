"""One neural base model serving many tenants, each request with its own tenant's LoRA adapter.

This is the CPU counterpart of TensorRT-LLM's multi-LoRA serving, plugged into the Triton CPU model
(``engine`` parameter ``splice.engines.neural_tenants:TenantNeuralEngine``): the base is loaded once, and
each request names its adapter by ``lora_task_id`` with the same converted arrays the GPU engine takes
(:mod:`splice.engines.lora_cache`, :mod:`splice.adapters.export`). The adapter is applied the way the
engine's LoRA plugin applies it, ``y = W x + B (A x)`` with the scale already folded into ``B``, by forward
hooks on the base's projection layers that read the adapter of the request being decoded.

Tenants stay apart because nothing is shared between requests but the base weights: all model work runs
on the engine's one worker thread, a request sets its adapter (or none) before its first forward pass
and holds the thread until its last, and the prompt's key-value cache is kept only for the next request
of the same task (another tenant's cached keys were computed with another adapter). Requests are served
in turn, never superseded: a newer request from another tenant is not a reason to drop this one.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from splice.adapters.targets import TARGET_MODULES
from splice.engines.base import Candidate, GenerationRequest
from splice.engines.lora_cache import MODULE_IDS, Adapter, AdapterError
from splice.engines.neural import NeuralEngine, NeuralSettings, _Decoded

_HF_TO_ID = {hf: MODULE_IDS[name] for name, hf in TARGET_MODULES.items()}
_LAYER_MODULE = re.compile(r"\.layers\.(\d+)\.(?:self_attn|mlp)\.([a-z_]+)$")
Matrices = dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]]


class AdapterBank:
    """Hooks on every LoRA-capable projection of a Llama-style model, adding the active adapter's term.

    Converted adapters are turned into (A, B) float32 tensors once and kept by task id (least recently
    used dropped first), so a tenant's later requests cost only the two small matrix products per hooked
    layer."""

    def __init__(self, model: Any, capacity: int = 8) -> None:
        self._linears: dict[tuple[int, int], Any] = {}
        for name, module in model.named_modules():
            match = _LAYER_MODULE.search(name)
            if match is not None and match.group(2) in _HF_TO_ID and isinstance(module, torch.nn.Linear):
                key = (int(match.group(1)), _HF_TO_ID[match.group(2)])
                self._linears[key] = module
                module.register_forward_hook(self._hook(key))
        if not self._linears:
            raise ValueError("the model has no Llama-style projection layers (q_proj, v_proj, ...) to adapt")
        self._active: Matrices = {}
        self._converted: OrderedDict[int, tuple[Adapter, Matrices]] = OrderedDict()
        self._capacity = capacity

    def _hook(self, key: tuple[int, int]) -> Any:
        def add_adapter(_module: Any, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
            pair = self._active.get(key)
            if pair is None:
                return output
            a, b = pair
            return output + (inputs[0] @ a.T) @ b.T

        return add_adapter

    def matrices(self, entry: Adapter) -> Matrices:
        """(layer, module id) -> (A [rank, in], B [out, rank]) of ``entry``; AdapterError when a row names a
        module the model lacks or holds fewer values than its rank needs."""
        weights = torch.from_numpy(entry.weights.reshape(-1, entry.weights.shape[-1]).astype("float32"))
        matrices: Matrices = {}
        for row, (module_id, layer, rank) in zip(weights, entry.config.reshape(-1, 3).tolist(), strict=True):
            linear = self._linears.get((int(layer), int(module_id)))
            if linear is None:
                raise AdapterError(f"lora_config names module {module_id} of layer {layer}, which this base "
                                   "model does not have")
            fan_in, fan_out = int(linear.in_features), int(linear.out_features)
            if rank <= 0 or rank * (fan_in + fan_out) > row.numel():
                raise AdapterError(f"lora_weights row for module {module_id} of layer {layer} holds {row.numel()} "
                                   f"values; rank {rank} needs {max(rank, 0) * (fan_in + fan_out)}")
            split = rank * fan_in
            a = row[:split].reshape(rank, fan_in).contiguous()
            b = row[split : split + rank * fan_out].reshape(fan_out, rank).contiguous()
            matrices[(int(layer), int(module_id))] = (a, b)
        return matrices

    def activate(self, task_id: int | None, entry: Adapter | None) -> None:
        """Apply ``entry`` (the adapter of ``task_id``) to the following forward passes; None: the base."""
        if task_id is None or entry is None:
            self._active = {}
            return
        kept = self._converted.get(task_id)
        if kept is None or kept[0] is not entry:
            kept = (entry, self.matrices(entry))
            self._converted[task_id] = kept
        self._converted.move_to_end(task_id)
        while len(self._converted) > self._capacity:
            self._converted.popitem(last=False)
        self._active = kept[1]


class TenantNeuralEngine(NeuralEngine):
    """The neural engine with per-request adapters, as the Triton CPU model constructs it.

    Settings come from Splice's own (``SPLICE_NEURAL_MODEL``, ``SPLICE_NEURAL_THREADS``) and the model's
    ``fim_family``; the workspace is unused (a tenant's customization is its adapter)."""

    name = "neural"
    applies_adapters = True

    def __init__(self, workspace: Path | None = None, *, family: str = "starcoder2",
                 settings: NeuralSettings | None = None) -> None:
        if settings is None:
            from splice.config import from_environment  # noqa: PLC0415 - only this constructor needs it

            configured, _problems = from_environment()
            settings = NeuralSettings(model_path=configured.neural_model, family=family,
                                      threads=configured.neural_threads)
        super().__init__(settings)
        self._bank: AdapterBank | None = None
        self._cache_task: int | None = None
        # Tickets whose caller went away (a cancelled Triton request), and whether the engine is closing:
        # those requests stop at their next token instead of holding the worker for other tenants.
        self._abandoned: set[int] = set()
        self._closing = False

    def _load(self) -> Any:
        loaded = super()._load()
        self._bank = AdapterBank(self._model)
        return loaded

    def check_adapter(self, entry: Adapter) -> None:
        """Refuse (AdapterError) an adapter whose rows do not fit the loaded base, before it is cached, as
        TensorRT-LLM validates request tensors before its cache takes them."""
        if self._bank is None:
            raise AdapterError("the neural model has not loaded yet")
        self._bank.matrices(entry)

    def _stale(self, ticket: int) -> bool:
        # Requests of many tenants are served in turn: none supersedes another, only its own caller's
        # cancellation or the engine closing stops it.
        return self._closing or ticket in self._abandoned

    async def generate_with_adapter(self, request: GenerationRequest, task_id: int | None,
                                    entry: Adapter | None) -> list[Candidate]:
        """The greedy continuation of the prompt with ``entry`` (``task_id``'s adapter) applied, or the base."""
        tickets: list[int] = []

        def work(ticket: int) -> _Decoded:
            tickets.append(ticket)
            try:
                return self._decode_for(request, ticket, task_id, entry)
            finally:
                self._abandoned.discard(ticket)

        try:
            return await self._generate(work)
        except asyncio.CancelledError:
            self._abandoned.update(tickets)  # empty when it had not started: the executor drops it
            raise

    async def aclose(self) -> None:
        """Stop a request in progress at its next token, then the worker."""
        self._closing = True
        await super().aclose()

    def _decode_for(self, request: GenerationRequest, ticket: int, task_id: int | None,
                    entry: Adapter | None) -> _Decoded:
        assert self._bank is not None, "the model loads before any request runs"
        key = task_id if entry is not None else None
        if key != self._cache_task:
            # The kept keys and values were computed with another adapter: never reuse them.
            self._cache, self._cached_ids, self._cache_task = None, [], key
        self._bank.activate(key, entry)
        try:
            return self._decode(request, ticket)
        finally:
            self._bank.activate(None, None)
