"""LoRA adapter training on FIM examples: deterministic by seed, bounded by steps or seconds, resumable.

Loss counts the middle only (the prompt is context, not something to learn to write). Target modules are
named as TensorRT-LLM's ``--lora_target_modules`` names them and mapped onto the checkpoint's module names
here, so the adapter trained on a CPU converts for the GPU deployment unchanged. FIM sentinels the base
lacked are trained with the adapter (peft's trainable token rows), which keeps the adapter small. A
checkpoint (adapter, optimizer, step) is written every ``checkpoint_every`` steps by renaming a complete
directory into place, so an interrupted run keeps the last whole one and the next run resumes from it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
from safetensors.torch import load_file

from splice.adapters.base_model import LoadedModel
from splice.adapters.examples import FimExample
from splice.adapters.targets import TARGET_MODULES, target_modules

CHECKPOINT = "checkpoint"
STATE = "training-state.json"
# Plan fields a resumed run may change: they bound the run or its checkpoints, not what it learns.
_BUDGET = ("max_steps", "max_seconds", "checkpoint_every")

Progress = Callable[["TrainingProgress"], None]


@dataclass(frozen=True, kw_only=True)
class TrainingPlan:
    """How to train. ``max_seconds`` 0 means the step budget alone bounds the run."""

    rank: int = 8
    alpha: int = 16
    targets: tuple[str, ...] = ("attn_q", "attn_v")
    seed: int = 0
    max_steps: int = 100
    max_seconds: float = 0.0
    learning_rate: float = 5e-4
    max_tokens: int = 384
    checkpoint_every: int = 10


@dataclass(frozen=True, kw_only=True)
class TrainingProgress:
    """Where a run is: steps and tokens so far (resumed ones included), the latest loss and the speed."""

    step: int
    max_steps: int
    tokens: int
    loss: float
    tokens_per_second: float
    remaining_s: float


@dataclass(frozen=True, kw_only=True)
class TrainingReport:
    """What a run did: ``resumed_from`` is the checkpoint's step (0 for a fresh run)."""

    steps: int
    tokens: int
    seconds: float
    tokens_per_second: float
    final_loss: float
    resumed_from: int
    interrupted: bool


def lora_config(plan: TrainingPlan, loaded: LoadedModel) -> LoraConfig:
    """The peft configuration of ``plan``; ValueError for a target module name TensorRT-LLM lacks."""
    target_modules(",".join(plan.targets))
    token_ids = [int(i) for i in loaded.tokenizer.convert_tokens_to_ids(list(loaded.added))]
    return LoraConfig(
        r=plan.rank, lora_alpha=plan.alpha, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
        target_modules=[TARGET_MODULES[t] for t in plan.targets],
        trainable_token_indices={"embed_tokens": token_ids} if token_ids else None,
    )


def example_tensors(example: FimExample, tokenizer: Any, max_tokens: int, end_token: str) -> tuple[Any, Any]:
    """Input ids and labels (-100 on the prompt) of one example, the prompt cut from the left to fit."""
    vocab = tokenizer.get_vocab()
    end = vocab.get(end_token, tokenizer.eos_token_id)
    middle = list(tokenizer(example.middle, add_special_tokens=False)["input_ids"])[: max_tokens // 2]
    middle.append(int(end))
    prompt = list(tokenizer(example.prompt, add_special_tokens=False)["input_ids"])
    prompt = prompt[-(max_tokens - len(middle)):]
    ids = torch.tensor([prompt + middle], dtype=torch.long)
    labels = torch.tensor([[-100] * len(prompt) + middle], dtype=torch.long)
    return ids, labels


def _save_checkpoint(out: Path, model: Any, optimizer: Any, state: dict[str, Any]) -> None:
    """Write the checkpoint beside the current one, then swap it in: a crash leaves one whole checkpoint."""
    fresh, current, old = out / f"{CHECKPOINT}.new", out / CHECKPOINT, out / f"{CHECKPOINT}.old"
    shutil.rmtree(fresh, ignore_errors=True)
    model.save_pretrained(fresh)
    torch.save(optimizer.state_dict(), fresh / "optimizer.pt")
    (fresh / STATE).write_text(json.dumps(state, indent=2))
    if current.exists():
        os.replace(current, old)
    os.replace(fresh, current)
    shutil.rmtree(old, ignore_errors=True)


def _resume(out: Path, model: Any, optimizer: Any, plan: TrainingPlan) -> dict[str, Any]:
    """Load the checkpoint in ``out`` when it was made by the same plan; its state, or a fresh one."""
    state_file = out / CHECKPOINT / STATE
    if not state_file.is_file():
        return {"step": 0, "tokens": 0, "seconds": 0.0, "plan": asdict(plan)}
    state: dict[str, Any] = json.loads(state_file.read_text())
    saved = {k: v for k, v in state["plan"].items() if k not in _BUDGET}
    wanted = {k: v for k, v in json.loads(json.dumps(asdict(plan))).items() if k not in _BUDGET}
    if saved != wanted:
        raise ValueError(f"the checkpoint in {out} was made with other settings ({saved}); "
                         "use another --out or the same settings")
    set_peft_model_state_dict(model, load_file(str(out / CHECKPOINT / "adapter_model.safetensors")))
    optimizer.load_state_dict(torch.load(out / CHECKPOINT / "optimizer.pt", weights_only=True))
    state["plan"] = asdict(plan)
    return state


def train_adapter(loaded: LoadedModel, examples: Sequence[FimExample], out: Path, plan: TrainingPlan, *,
                  end_token: str, progress: Progress | None = None,
                  cancelled: Callable[[], bool] = lambda: False) -> tuple[Any, TrainingReport]:
    """Train a LoRA adapter on ``examples`` and save it in ``out``; the peft model and what the run did."""
    if not examples:
        raise ValueError("no training examples: the selection holds no readable source files")
    random.seed(plan.seed)
    torch.manual_seed(plan.seed)
    model = get_peft_model(loaded.model, lora_config(plan, loaded))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=plan.learning_rate)
    out.mkdir(parents=True, exist_ok=True)
    state = _resume(out, model, optimizer, plan)
    resumed, started, loss_value = int(state["step"]), time.perf_counter(), 0.0
    run_tokens, interrupted = 0, False
    while state["step"] < plan.max_steps:
        if cancelled() or (plan.max_seconds and time.perf_counter() - started >= plan.max_seconds):
            interrupted = cancelled()
            break
        ids, labels = example_tensors(examples[state["step"] % len(examples)], loaded.tokenizer,
                                      plan.max_tokens, end_token)
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = float(loss.detach())
        state["step"] += 1
        state["tokens"] += int(ids.shape[1])
        run_tokens += int(ids.shape[1])
        elapsed = time.perf_counter() - started
        if state["step"] % plan.checkpoint_every == 0:
            _save_checkpoint(out, model, optimizer, {**state, "seconds": state["seconds"] + elapsed})
        if progress is not None:
            speed = run_tokens / elapsed if elapsed > 0 else 0.0
            per_step = elapsed / (state["step"] - resumed)
            progress(TrainingProgress(step=state["step"], max_steps=plan.max_steps, tokens=state["tokens"],
                                      loss=loss_value, tokens_per_second=speed,
                                      remaining_s=per_step * (plan.max_steps - state["step"])))
    elapsed = time.perf_counter() - started
    state["seconds"] += elapsed
    _save_checkpoint(out, model, optimizer, state)
    model.eval()
    model.save_pretrained(out)
    loaded.tokenizer.save_pretrained(out)
    return model, TrainingReport(
        steps=int(state["step"]), tokens=int(state["tokens"]), seconds=round(elapsed, 3),
        tokens_per_second=round(run_tokens / elapsed, 1) if elapsed > 0 else 0.0, final_loss=loss_value,
        resumed_from=resumed, interrupted=interrupted,
    )
