"""The export of peft adapters to TensorRT-LLM's lora_weights/lora_config layout, on small made-up tensors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from splice.adapters.export import BaseShape, ExportError, convert, export_adapter, peft_tensors
from splice.engines.lora_cache import CONFIG_FILE, WEIGHTS_FILE, load_adapter

SHAPE = BaseShape(hidden=8, heads=4, kv_heads=2, head_dim=2, intermediate=12, layers=2)
CONFIG = {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj", "down_proj"]}


def _key(layer: int, block: str, module: str, which: str) -> str:
    return f"base_model.model.model.layers.{layer}.{block}.{module}.lora_{which}.weight"


def _tensors(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    tensors = {}
    for layer in (1, 0):  # out of order on purpose: rows come out sorted by layer, then module id
        for block, module, fan_in, fan_out in (("mlp", "down_proj", 12, 8), ("self_attn", "v_proj", 8, 4),
                                               ("self_attn", "q_proj", 8, 8)):
            tensors[_key(layer, block, module, "A")] = rng.normal(size=(2, fan_in)).astype(np.float32)
            tensors[_key(layer, block, module, "B")] = rng.normal(size=(fan_out, 2)).astype(np.float32)
    return tensors


def test_rows_are_a_then_scaled_b_per_layer_and_module_padded_to_the_widest() -> None:
    tensors = _tensors()
    entry, report = convert(CONFIG, tensors, SHAPE, dtype="float32")
    rows = entry.config.reshape(-1, 3).tolist()
    # attn_q = 1, attn_v = 3, mlp_4h_to_h = 6 (TensorRT-LLM's LORA_MODULE_IDS)
    assert rows == [[1, 0, 2], [3, 0, 2], [6, 0, 2], [1, 1, 2], [3, 1, 2], [6, 1, 2]]
    assert entry.weights.shape == (1, 6, 2 * (12 + 8)) and entry.weights.dtype == np.float32
    v_row = entry.weights[0, 1]
    a, b = tensors[_key(0, "self_attn", "v_proj", "A")], tensors[_key(0, "self_attn", "v_proj", "B")]
    assert np.array_equal(v_row[:16], a.reshape(-1))
    assert np.allclose(v_row[16:24], (b * 2.0).reshape(-1))  # alpha / rank = 4 / 2 folded into B
    assert not v_row[24:].any(), "the padding is zeros"
    assert (report.rows, report.modules, report.ranks) == (6, ("attn_q", "attn_v", "mlp_4h_to_h"), (2,))


def test_rslora_and_alpha_patterns_set_the_scale() -> None:
    tensors = _tensors()
    b = tensors[_key(0, "self_attn", "q_proj", "B")]
    rslora, _ = convert({**CONFIG, "use_rslora": True}, tensors, SHAPE, dtype="float32")
    assert np.allclose(rslora.weights[0, 0, 16:32], (b * 4 / np.sqrt(2)).reshape(-1))
    patterned, _ = convert({**CONFIG, "alpha_pattern": {"q_proj": 8}}, tensors, SHAPE, dtype="float32")
    assert np.allclose(patterned.weights[0, 0, 16:32], (b * 4.0).reshape(-1))


def test_reading_back_gives_the_matrices_with_the_scale_in_b() -> None:
    tensors = _tensors()
    entry, _ = convert(CONFIG, tensors, SHAPE, dtype="float32")
    back = peft_tensors(entry, SHAPE)
    assert set(back) == set(tensors)
    for key, value in tensors.items():
        expected = value * 2.0 if key.endswith("lora_B.weight") else value
        assert np.allclose(back[key], expected), key


def test_the_default_dtype_is_the_fp16_request_tensor() -> None:
    entry, report = convert(CONFIG, _tensors(), SHAPE)
    assert entry.weights.dtype == np.float16 and entry.config.dtype == np.int32 and report.dtype == "float16"


@pytest.mark.parametrize(("shape", "message"), [
    (BaseShape(hidden=8, heads=4, kv_heads=4, head_dim=2, intermediate=12, layers=2),
     r"layer 0 attn_v: A \[2, 8\] and B \[4, 2\] do not fit the base model's \[2, 8\] and \[8, 2\]"),
    (BaseShape(hidden=8, heads=4, kv_heads=2, head_dim=2, intermediate=16, layers=2), "mlp_4h_to_h"),
    (BaseShape(hidden=8, heads=4, kv_heads=2, head_dim=2, intermediate=12, layers=1), "has 1 layers"),
])
def test_an_adapter_for_another_base_is_refused_by_shape(shape: BaseShape, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        convert(CONFIG, _tensors(), shape)


def test_what_the_layout_cannot_carry_is_refused_with_the_reason() -> None:
    tokens = {**_tensors(), "base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta":
              np.ones((3, 8), np.float32)}
    with pytest.raises(ExportError, match="embedding rows"):
        convert(CONFIG, tokens, SHAPE)
    _, report = convert(CONFIG, tokens, SHAPE, drop_token_rows=True)
    assert report.dropped_token_rows == 3
    with pytest.raises(ExportError, match="DoRA"):
        convert({**CONFIG, "use_dora": True}, _tensors(), SHAPE)
    with pytest.raises(ExportError, match="not a LoRA matrix"):
        convert(CONFIG, {"base_model.model.lm_head.lora_A.weight": np.ones((2, 8), np.float32)}, SHAPE)
    missing_b = {k: v for k, v in _tensors().items() if not k.endswith("q_proj.lora_B.weight")}
    with pytest.raises(ExportError, match="lora_A and lora_B must both be present"):
        convert(CONFIG, missing_b, SHAPE)


def test_export_writes_the_pair_the_cache_and_the_client_read(tmp_path: Path) -> None:
    save_file = pytest.importorskip("safetensors.numpy", reason="safetensors comes with the train extra").save_file
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps(CONFIG))
    save_file(_tensors(), str(adapter / "adapter_model.safetensors"))
    report = export_adapter(adapter, tmp_path / "lora" / "7", SHAPE)
    assert sorted(p.name for p in (tmp_path / "lora" / "7").iterdir()) == sorted([WEIGHTS_FILE, CONFIG_FILE])
    entry = load_adapter(tmp_path / "lora", 7)
    assert entry.weights.shape == (1, report.rows, report.row_width)
    with pytest.raises(ExportError, match="no readable peft adapter"):
        export_adapter(tmp_path, tmp_path / "out", SHAPE)
