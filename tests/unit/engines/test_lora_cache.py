"""The LoRA adapter cache contract: TensorRT-LLM's error text, shape checks, eviction order."""

from __future__ import annotations

import numpy as np
import pytest

from splice.engines.lora_cache import NOT_CACHED, AdapterCache, AdapterError, adapter, not_cached_task


def _weights(rows: int = 2) -> np.ndarray:
    return np.ones((rows, 8), dtype=np.float32)


def _config(rows: int = 2) -> np.ndarray:
    return np.array([[1, layer, 4] for layer in range(rows)], dtype=np.int64)


def test_the_error_text_is_the_engines_and_is_recognised() -> None:
    message = NOT_CACHED.format(task_id=42)
    assert message == "LoRA task 42 not found in cache. Please send LoRA weights with request"
    assert not_cached_task(f"in ensemble 'x': {message}") == 42
    assert not_cached_task("LoRA task 42 failed") is None


def test_unknown_id_without_weights_is_refused_then_cached_once_sent() -> None:
    cache = AdapterCache(2)
    with pytest.raises(LookupError, match="LoRA task 5 not found in cache"):
        cache.resolve(5, None, None)
    sent = cache.resolve(5, _weights(), _config())
    assert sent.weights.dtype == np.float16 and sent.weights.shape == (1, 2, 8)
    assert sent.config.dtype == np.int32 and sent.config.shape == (1, 2, 3)
    assert cache.resolve(5, None, None) is sent


def test_least_recently_used_adapter_is_evicted() -> None:
    cache = AdapterCache(2)
    for task in (1, 2):
        cache.resolve(task, _weights(), _config())
    cache.resolve(1, None, None)  # 1 is now the most recent
    cache.resolve(3, _weights(), _config())
    assert 1 in cache and 3 in cache and 2 not in cache


@pytest.mark.parametrize(
    ("weights", "config", "says"),
    [
        (np.ones((2, 8)), np.ones((3, 3), dtype=np.int32), "3 rows"),
        (np.ones((2, 8)), np.ones((2, 4), dtype=np.int32), "lora_config must be"),
        (np.ones((8,)), np.ones((1, 3), dtype=np.int32), "lora_weights must be"),
        (np.ones((2, 8), dtype=np.int32), np.ones((2, 3), dtype=np.int32), "floating point"),
    ],
)
def test_malformed_adapters_are_refused_with_a_reason(weights: np.ndarray, config: np.ndarray, says: str) -> None:
    with pytest.raises(AdapterError, match=says):
        adapter(weights, config)


def test_weights_without_config_are_refused() -> None:
    with pytest.raises(AdapterError, match="together"):
        AdapterCache(1).resolve(1, _weights(), None)
