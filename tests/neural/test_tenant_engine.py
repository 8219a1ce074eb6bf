"""The per-request adapter engine on a tiny randomly initialised Llama: fast checks of what the real-model
tests cannot isolate (tenants apart in turn, the key-value cache never crossing tasks, cancellation,
refused rows). The model is a real transformers model, only small; the tokenizer maps characters to ids.
Skipped without the ``train`` extra.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from neural_support import HAVE_TRAIN, SKIP_REASON

if not HAVE_TRAIN:
    pytest.skip(SKIP_REASON, allow_module_level=True)

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from splice.context.prompt import FimPrompt
from splice.engines.base import GenerationRequest
from splice.engines.lora_cache import MODULE_IDS, Adapter, AdapterError
from splice.engines.neural import NeuralSettings
from splice.engines.neural_tenants import AdapterBank, TenantNeuralEngine

HIDDEN, LAYERS, VOCAB = 32, 2, 64


class CharTokenizer:
    """Characters as ids (code points modulo the vocabulary); enough for greedy decoding."""

    eos_token_id = None

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [ord(c) % VOCAB for c in text]}

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return "".join(chr(65 + i % 26) for i in ids)

    def get_vocab(self) -> dict[str, int]:
        return {}


class TinyTenantEngine(TenantNeuralEngine):
    """The engine with the tiny model in place of a checkpoint."""

    def _load(self) -> Any:
        torch.manual_seed(0)
        config = LlamaConfig(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=LAYERS,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)
        self._model, self._tokenizer = LlamaForCausalLM(config).eval(), CharTokenizer()
        self.forward_passes = 0
        self._model.register_forward_hook(lambda *_: setattr(self, "forward_passes", self.forward_passes + 1))
        self._bank = AdapterBank(self._model)
        return self._model


def _adapter(seed: int, rank: int = 2) -> Adapter:
    """A strong random adapter on attn_q and attn_v of both layers, as export writes it."""
    rng = np.random.default_rng(seed)
    width = rank * (HIDDEN + HIDDEN)
    rows, configs = [], []
    for layer in range(LAYERS):
        for module, fan_out in (("attn_q", HIDDEN), ("attn_v", 16)):
            row = np.zeros(width, np.float16)
            row[: rank * (HIDDEN + fan_out)] = rng.normal(0, 3, rank * (HIDDEN + fan_out))
            rows.append(row)
            configs.append([MODULE_IDS[module], layer, rank])
    return Adapter(weights=np.array([rows]), config=np.array([configs], np.int32))


def _request(text: str = "def vendor_name():\n    return ", tokens: int = 6) -> GenerationRequest:
    prompt = FimPrompt(path="a.py", language="python", prefix=text, suffix="", text=text)
    return GenerationRequest(prompt=prompt, document_prefix=text, document_suffix="", multiline=True,
                             max_new_tokens=tokens)


async def _answer(engine: TenantNeuralEngine, task: int | None, entry: Adapter | None) -> str:
    candidates = await engine.generate_with_adapter(_request(), task, entry)
    return candidates[0].text if candidates else ""


@pytest.fixture
async def engine() -> Any:
    served = TinyTenantEngine(settings=NeuralSettings(threads=1))
    await served.start()
    assert await asyncio.to_thread(served.wait_until_ready, 60)
    yield served
    await served.aclose()


async def test_each_request_sees_only_its_own_adapter_and_the_base_stays_the_base(engine: Any) -> None:
    acme, globex = _adapter(1), _adapter(2)
    alone = {None: await _answer(engine, None, None), 1: await _answer(engine, 1, acme),
             2: await _answer(engine, 2, globex)}
    assert len(set(alone.values())) == 3, alone
    order = [1, 2, None, 2, 1, None, 1]
    together = await asyncio.gather(*(_answer(engine, t, {1: acme, 2: globex}.get(t or 0)) for t in order))
    assert together == [alone[t] for t in order]


async def test_the_kept_cache_never_serves_another_task(engine: Any) -> None:
    await _answer(engine, None, None)
    await _answer(engine, None, None)
    assert engine.last_reuse[0] > 0, "the same task reuses its prompt's keys and values"
    await _answer(engine, 1, _adapter(1))
    assert engine.last_reuse[0] == 0, "another task starts cold"


async def test_a_cancelled_request_stops_at_its_next_token_and_the_next_one_is_served(engine: Any) -> None:
    long = asyncio.ensure_future(engine.generate_with_adapter(_request(tokens=3000), 1, _adapter(1)))
    while engine.forward_passes < 3:  # generating
        await asyncio.sleep(0.005)
    long.cancel()
    with pytest.raises(asyncio.CancelledError):
        await long
    assert await asyncio.wait_for(_answer(engine, None, None), timeout=60)
    assert engine.forward_passes < 1000, "the cancelled request stopped long before its 3000 tokens"


def test_rows_that_do_not_fit_the_model_are_refused() -> None:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=LAYERS,
                         num_attention_heads=4, num_key_value_heads=2)
    bank = AdapterBank(LlamaForCausalLM(config))
    good = _adapter(1)
    with pytest.raises(AdapterError, match="module 0 of layer 0"):
        bank.matrices(Adapter(weights=good.weights, config=np.where(good.config == 1, 0, good.config)))
    with pytest.raises(AdapterError, match="layer 7"):
        bank.matrices(Adapter(weights=good.weights[:, :1], config=np.array([[[1, 7, 2]]], np.int32)))
    with pytest.raises(AdapterError, match="rank 9 needs"):
        bank.matrices(Adapter(weights=good.weights[:, :1], config=np.array([[[1, 0, 9]]], np.int32)))
