"""Session fixtures for the real-model tests: the SmolLM2 base, and two tenants' adapters trained once.

Each tenant's repository is tiny and holds the tenant's canary string where a fill-in-the-middle example
must produce it, so a few steps of training teach it; the adapters are trained as pure LoRA (the base's
FIM sentinels are part of the vocabulary, as in a code model), exported to TensorRT-LLM's layout under
``<lora_dir>/<task_id>/`` and shared by every test that serves them. torch runs on one thread.

Imports for the real model are made here, once, before any test module is collected: tests/triton, a
folder of tests on sys.path, would pass for the `triton` compiler package that torch probes for; torch,
peft and transformers' generation code are imported here without it, so the probe finds no compiler, as
outside the tests. Without the train extra nothing is imported and each module
skips itself, saying why.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from neural_support import HAVE_TRAIN, REPOSITORY_FILES, TENANTS, TenantAdapter, canary_examples

from splice.context.templates import template_for

TESTS = Path(__file__).resolve().parents[1]
if HAVE_TRAIN:
    # tests/ on sys.path makes tests/triton pass for the `triton` compiler package torch probes for (see
    # test_real_model.py); import torch and peft without it.
    _saved_path = list(sys.path)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != TESTS]
    try:
        import peft  # noqa: F401 - imported here for the reason above
        import torch
        import torch._dynamo
        import transformers.generation  # noqa: F401 - as above

        from splice.adapters.base_model import LoadedModel, bundled_model, load_model
        from splice.adapters.export import BaseShape, export_adapter
        from splice.adapters.training import TrainingPlan, train_adapter
    finally:
        sys.path[:] = _saved_path
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def template() -> Any:
    return template_for("starcoder2")


@pytest.fixture(scope="session")
def neural_base(template: Any) -> Any:
    """The bundled base with the StarCoder2 sentinels in its vocabulary."""
    return load_model(bundled_model(), template)


@pytest.fixture(scope="session")
def base_shape(neural_base: Any) -> Any:
    return BaseShape.from_config(neural_base.model.config)


@pytest.fixture(scope="session")
def tenant_adapters(neural_base: Any, base_shape: Any, template: Any,
                    tmp_path_factory: pytest.TempPathFactory) -> dict[str, TenantAdapter]:
    """Both tenants' adapters, trained for a few steps and exported into one ``lora_dir``."""
    lora_dir = tmp_path_factory.mktemp("lora")
    adapters = {}
    for tenant, (task_id, canary) in TENANTS.items():
        repository = tmp_path_factory.mktemp(f"repo-{tenant}")
        for name, text in REPOSITORY_FILES.items():
            (repository / name).write_text(text.format(canary=canary))
        examples = canary_examples(repository, canary, template)
        # added=(): the sentinels count as the base's own tokens, so the adapter is LoRA matrices only.
        plain = LoadedModel(model=copy.deepcopy(neural_base.model), tokenizer=neural_base.tokenizer, added=(),
                            source=neural_base.source)
        peft_dir = tmp_path_factory.mktemp(f"adapter-{tenant}")
        plan = TrainingPlan(max_steps=18, checkpoint_every=100, max_tokens=96, learning_rate=3e-3)
        train_adapter(plain, examples, peft_dir, plan, end_token=template.stop[0])
        export_adapter(peft_dir, lora_dir / str(task_id), base_shape)
        adapters[tenant] = TenantAdapter(tenant, task_id, canary, peft_dir, lora_dir)
    return adapters
