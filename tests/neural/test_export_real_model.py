"""The GPU export of a real adapter, and its per-request application on the real base model.

The adapters (``conftest.tenant_adapters``) are trained on SmolLM2-135M and exported to TensorRT-LLM's
layout. The arrays must have the shapes the base configuration implies; read back into peft they must
give the adapter's outputs; and the CPU serving's own application of those arrays must give them too
(tenants served through the real server: ``test_triton_tenants.py``). Skipped without the ``train`` extra.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from neural_support import HAVE_TRAIN, PROBE_PREFIX, PROBE_SUFFIX, SKIP_REASON, TenantAdapter

if not HAVE_TRAIN:
    pytest.skip(SKIP_REASON, allow_module_level=True)

import torch
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

from splice.adapters.base_model import load_adapter
from splice.adapters.export import peft_tensors
from splice.engines.lora_cache import MODULE_IDS
from splice.engines.lora_cache import load_adapter as load_converted
from splice.engines.neural_tenants import AdapterBank


def _probe_logits(model: Any, tokenizer: Any, template: Any) -> torch.Tensor:
    text = template.render(path="vendor.py", language="python", prefix=PROBE_PREFIX, suffix=PROBE_SUFFIX)
    ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]], dtype=torch.long)
    with torch.inference_mode():
        return model(input_ids=ids).logits[0, -8:].float()


def test_the_exported_arrays_have_the_shapes_the_base_configuration_implies(
        tenant_adapters: dict[str, TenantAdapter], base_shape: Any) -> None:
    acme = tenant_adapters["acme"]
    entry = load_converted(acme.lora_dir, acme.task_id)
    rank = 8  # TrainingPlan's default
    rows = entry.config.reshape(-1, 3)
    assert (base_shape.hidden, base_shape.kv_heads * base_shape.head_dim, base_shape.layers) == (576, 192, 30)
    # attn_q and attn_v of every layer, in layer order, each with the trained rank.
    expected = [[MODULE_IDS[m], layer, rank] for layer in range(base_shape.layers) for m in ("attn_q", "attn_v")]
    assert rows.tolist() == expected
    assert entry.weights.dtype == np.float16 and entry.config.dtype == np.int32
    assert entry.weights.shape == (1, 2 * base_shape.layers, rank * (576 + 576))  # the widest: attn_q
    v_rows = entry.weights[0, 1::2]
    assert not v_rows[:, rank * (576 + 192):].any(), "attn_v rows are A [8, 576] + B [192, 8], then zeros"
    assert v_rows[:, : rank * (576 + 192)].any()


def test_a_round_trip_reproduces_the_adapters_outputs_on_the_real_model(
        neural_base: Any, tenant_adapters: dict[str, TenantAdapter], base_shape: Any, template: Any) -> None:
    acme = tenant_adapters["acme"]
    trained = _probe_logits(load_adapter(_copy(neural_base), acme.peft_dir), neural_base.tokenizer, template)
    base = _probe_logits(neural_base.model, neural_base.tokenizer, template)
    tensors = peft_tensors(load_converted(acme.lora_dir, acme.task_id), base_shape)
    # The scale is in B already: read back with alpha = rank, so peft multiplies by one.
    imported = get_peft_model(copy.deepcopy(neural_base.model),
                              LoraConfig(r=8, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    set_peft_model_state_dict(imported, {k: torch.from_numpy(v) for k, v in tensors.items()})
    imported.eval()
    again = _probe_logits(imported, neural_base.tokenizer, template)
    assert (again - trained).abs().max() < 0.05, "FP16 storage moves logits by rounding only"
    assert torch.equal(again.argmax(-1), trained.argmax(-1))
    assert (trained - base).abs().max() > 1.0, "the adapter changes the base's outputs"

    bank_model = copy.deepcopy(neural_base.model)
    bank = AdapterBank(bank_model)
    bank.activate(acme.task_id, load_converted(acme.lora_dir, acme.task_id))
    served = _probe_logits(bank_model, neural_base.tokenizer, template)
    assert (served - trained).abs().max() < 0.05, "the CPU serving applies the arrays as peft does"
    bank.activate(None, None)
    assert torch.allclose(_probe_logits(bank_model, neural_base.tokenizer, template), base, atol=1e-4)


def _copy(loaded: Any) -> Any:
    return type(loaded)(model=copy.deepcopy(loaded.model), tokenizer=loaded.tokenizer, added=loaded.added,
                        source=loaded.source)
