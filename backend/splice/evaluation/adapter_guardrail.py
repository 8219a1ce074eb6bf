"""The check before an adapter is published: does base + adapter measurably beat the base model?

An adapter is trained on a tenant's code minus files held out by a hash of their path
(:mod:`splice.adapters.training_data`). The guardrail samples hidden-line tasks from those held-out files
only, and runs them twice through the evaluation's in-process pipeline (:mod:`splice.evaluation.harness`,
the assembly ``splice complete`` and the server use) with ``engine: neural`` on the same base model: once
without the adapter and once with it. Nothing else differs. Exact match, edit similarity and the other
metrics get paired bootstrap intervals, and :func:`splice.evaluation.guardrail.verdict` decides as it does
for retrieval artifacts: refused when no task could be evaluated, when the adapter changed no suggestion,
when it does worse, or when the 95% interval of the edit-similarity lift includes zero ("no measurable
lift"). Before any model is loaded, a missing adapter or an empty one (every LoRA ``B`` matrix zero, which is
what a run of 0 steps leaves: the base model exactly) is refused, saying which. A run where the fallback
engine answered any task in place of the neural one is refused too: it would measure the wrong engine.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from splice.config import Settings
from splice.evaluation.guardrail import verdict
from splice.evaluation.harness import EvalOptions, run_ablation
from splice.evaluation.report import Report
from splice.evaluation.sampling import sample_tasks

BASE = "base"
ADAPTED = "adapter"
DEFAULT_ABLATION = "infile"  # prefix and suffix of the document: what the adapter was trained to complete
WEIGHTS = "adapter_model.safetensors"


def adapter_problem(adapter: Path) -> str | None:
    """Why ``adapter`` cannot be judged (missing, or empty), or None. Reads only the weight file."""
    if not adapter.is_dir():
        return f"the adapter is missing: {adapter} is not a directory"
    if not (adapter / "adapter_config.json").is_file():
        return f"the adapter is missing: {adapter} has no adapter_config.json"
    weights = adapter / WEIGHTS
    if not weights.is_file() or weights.stat().st_size == 0:
        return f"the adapter is empty: {adapter} has no {WEIGHTS}"
    from safetensors.numpy import load_file  # noqa: PLC0415 - with the train extra only

    try:
        tensors = load_file(str(weights))
    except (OSError, ValueError) as exc:
        return f"the adapter is unreadable: {weights}: {exc}"
    lora_b = [t for name, t in tensors.items() if "lora_B" in name]
    if not lora_b:
        return f"the adapter is empty: {weights} holds no LoRA matrices"
    if not any(t.any() for t in lora_b):
        return ("the adapter is empty: every LoRA B matrix is zero, so it leaves the base model unchanged "
                "(trained for 0 steps?)")
    return None


def _fallbacks(report: Report, ablation: str) -> list[str]:
    return [o.fallback for o in report.outcomes.get(ablation, {}).values() if o.fallback]


async def evaluate_adapter(adapter: Path, held_out: Mapping[str, Sequence[str]], settings: Settings, *,
                           tasks: int = 30, seed: int = 0, ablation: str = DEFAULT_ABLATION) -> dict[str, Any]:
    """The guardrail's metrics for ``adapter`` on hidden lines of the ``held_out`` files (repository path ->
    paths inside it); ``refused`` says why when it must not be published. ``settings`` give the base model,
    family, threads and token budgets; engine, adapter and tenant are set here."""
    problem = adapter_problem(adapter)
    if problem is not None:
        return {"refused": problem, "tasks": 0}
    allowed = {Path(repo).resolve(): set(paths) for repo, paths in held_out.items() if paths}
    if not allowed:
        return {"refused": "no held-out files to measure on (train with --holdout-share above 0)", "tasks": 0}
    sample = sample_tasks(sorted(allowed), tasks, seed, eligible=lambda root, path: path in allowed.get(root, ()))
    if not sample.tasks:
        return {"refused": "no held-out line could be sampled from the held-out files: "
                           + "; ".join(sample.problems or ["none has a line of five tokens"]), "tasks": 0}
    outcomes: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    from splice.adapters.base_model import shared_bases  # noqa: PLC0415 - torch, only for this check

    # Both runs copy one load of the base, and mask into one directory: a document's path is part of its
    # prompt, so the two rows must see the same paths for the adapter to be the only difference.
    with shared_bases(), tempfile.TemporaryDirectory(prefix="splice-adapter-guardrail-") as workdir:
        options = EvalOptions(tasks=len(sample.tasks), seed=seed, workdir=Path(workdir))
        for name, path in ((BASE, ""), (ADAPTED, str(adapter))):
            started = time.perf_counter()
            chosen = dataclasses.replace(settings, engine="neural", neural_adapter=path, tenant="")
            report = await run_ablation(ablation, sample.tasks, sample.files, options=options, settings=chosen)
            seconds[name] = round(time.perf_counter() - started, 1)
            stood_in = _fallbacks(report, ablation)
            if stood_in or ablation in report.unavailable:
                reason = stood_in[0] if stood_in else report.unavailable[ablation]
                return {"refused": f"the {name} run was not answered by the neural model on "
                                   f"{len(stood_in)} of {len(sample.tasks)} held-out lines: {reason}",
                        "tasks": len(sample.tasks)}
            outcomes[name] = report.outcomes[ablation]
    paired = Report(tasks=sample.tasks, ablations=[BASE, ADAPTED], outcomes=outcomes, seed=seed)
    metrics = verdict(paired, seed, baseline=BASE, candidate=ADAPTED, subject="the adapter")
    metrics.update({"ablation": ablation, "seconds": seconds, "held_out_files": sum(map(len, allowed.values())),
                    "settings": {"threads": settings.neural_threads, "max_new_tokens": settings.max_new_tokens,
                                 "context_tokens": settings.context_tokens}})
    return metrics
