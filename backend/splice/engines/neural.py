"""The neural engine: a causal language model run in-process by torch, for machines without Triton.

Greedy decoding with the family's stop sequences, one candidate per request, with its mean log-probability
per token for the confidence filter. Prompts put the stable context first, so between keystrokes most of a
prompt's tokens are the previous prompt's: the engine keeps the key-value cache of the previous prompt and
computes only the tokens after the longest common token prefix. All model work runs on one worker thread;
a request that a newer one supersedes stops at its next token, so a stale request never holds up a fresh
one for longer than a token. torch is imported only when this engine is created.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from transformers import DynamicCache

from splice.adapters.base_model import LoadedModel, bundled_model, limit_threads, load_adapter, load_model
from splice.context.templates import template_for
from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.errors import EngineError, EngineUnavailableError
from splice.logging import get_logger

_log = get_logger()
_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class NeuralSettings:
    """Where the model is (empty: the bundled SmolLM2), an optional LoRA adapter, the family whose FIM
    template the prompts use, and how many CPU threads torch may take."""

    model_path: str = ""
    adapter_path: str = ""
    family: str = "starcoder2"
    threads: int = 2


@dataclass
class _Decoded:
    text: str
    mean_logprob: float
    new_prompt_tokens: int
    reused_tokens: int


class _Superseded(Exception):
    """A newer request arrived; this one's answer would be stale."""


class NeuralEngine(RemoteEngine):
    """An :class:`~splice.engines.base.Engine` over a local checkpoint, with a prompt-prefix KV cache."""

    name = "neural"

    def __init__(self, settings: NeuralSettings) -> None:
        self.settings = settings
        self._template = template_for(settings.family)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="splice-neural")
        self._loading: Future[LoadedModel] | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._cached_ids: list[int] = []
        self._cache: Any = None
        self._latest = 0
        # (tokens taken from the kept cache, prompt tokens) of the latest request: the incremental cost.
        self.last_reuse = (0, 0)
        self._lock = threading.Lock()

    async def start(self) -> None:
        """Begin loading the model on the worker thread and return at once."""
        self._begin_loading()

    def _begin_loading(self) -> Future[LoadedModel]:
        if self._loading is None:
            self._loading = self._worker.submit(self._load)
        return self._loading

    def _load(self) -> LoadedModel:
        limit_threads(self.settings.threads)
        path = Path(self.settings.model_path).expanduser() if self.settings.model_path else bundled_model()
        started = time.perf_counter()
        loaded = load_model(path, self._template)
        model = loaded.model
        if self.settings.adapter_path:
            model = load_adapter(loaded, Path(self.settings.adapter_path).expanduser())
        self._model, self._tokenizer = model, loaded.tokenizer
        _log.info("neural.loaded", model=str(path), adapter=self.settings.adapter_path or None,
                  seconds=round(time.perf_counter() - started, 2))
        return loaded

    def wait_until_ready(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for the model to load."""
        try:
            self._begin_loading().result(timeout=timeout)
        except TimeoutError:
            return False
        except (OSError, ValueError):
            return True  # settled: generate() reports why, and a fallback answers meanwhile
        return True

    def starting(self) -> str | None:
        """While the model loads, that it does; None once it has loaded or failed to."""
        return None if self._begin_loading().done() else "the neural model is loading"

    async def probe(self) -> bool:
        """Serving once the model has loaded: the fallback engine reports ``ready`` again without a request."""
        loading = self._begin_loading()
        return loading.done() and loading.exception() is None

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        """The greedy continuation of the prompt up to a stop sequence, as one candidate."""
        return await self._generate(lambda ticket: self._decode(request, ticket))

    def _stale(self, ticket: int) -> bool:
        """Whether the request holding ``ticket`` should stop: a newer request superseded it."""
        return ticket != self._latest

    async def score(self, request: GenerationRequest, texts: Sequence[str]) -> list[float]:
        """The mean log-probability per token of each of ``texts`` as the continuation of ``request``'s
        prompt (a single line's end included): the model judging candidates another engine proposed, as a
        reranker, instead of writing its own. Empty when a newer request superseded this one."""
        scored = await self._on_worker(lambda ticket: self._scored(request, texts, ticket))
        return scored or []

    async def _on_worker(self, work: Callable[[int], _T]) -> _T | None:
        """Run ``work`` (given its ticket) on the worker thread once the model is in; None if superseded."""
        loading = self._begin_loading()
        if not loading.done():
            raise EngineUnavailableError("the neural model is still loading")
        try:
            loading.result()
        except (OSError, ValueError) as exc:
            raise EngineError(f"the neural model did not load: {exc}") from exc
        with self._lock:
            self._latest += 1
            ticket = self._latest
        try:
            return await asyncio.wrap_future(self._worker.submit(work, ticket))
        except _Superseded:
            return None
        except (RuntimeError, ValueError) as exc:  # torch reports shape and memory problems as these
            raise EngineError(f"the neural model failed: {exc}") from exc

    async def _generate(self, work: Callable[[int], _Decoded]) -> list[Candidate]:
        """Run ``work`` on the worker thread, as candidates."""
        decoded = await self._on_worker(work)
        if decoded is None or not decoded.text.strip():
            return []
        return [Candidate(text=decoded.text, score=decoded.mean_logprob, origin=self.name,
                          mean_logprob=decoded.mean_logprob)]

    def _prompt_ids(self, request: GenerationRequest) -> list[int]:
        ids: list[int] = self._tokenizer(request.prompt.text, add_special_tokens=False)["input_ids"]
        limit = int(getattr(self._model.config, "max_position_embeddings", 2048)) - request.max_new_tokens - 1
        return ids[-limit:]

    def _reuse(self, ids: list[int]) -> int:
        """Crop the kept cache to the longest common token prefix with ``ids``; how many tokens it keeps.
        At least one token is always fed again, since its logits pick the first new token."""
        common = 0
        for old, new in zip(self._cached_ids, ids, strict=False):
            if old != new:
                break
            common += 1
        common = min(common, len(ids) - 1)
        if self._cache is None or common <= 0:
            self._cache, common = DynamicCache(), 0
        else:
            _crop(self._cache, common)
        return common

    def _stop_ids(self, stop: tuple[str, ...]) -> set[int]:
        """The ids of the stop sequences that are single tokens of this vocabulary, and end-of-sequence."""
        vocab = self._tokenizer.get_vocab()
        ids = {int(vocab[s]) for s in stop if s in vocab}
        if self._tokenizer.eos_token_id is not None:
            ids.add(int(self._tokenizer.eos_token_id))
        return ids

    def _decode(self, request: GenerationRequest, ticket: int) -> _Decoded:
        with torch.inference_mode():
            return self._greedy(request, ticket)

    def _greedy(self, request: GenerationRequest, ticket: int) -> _Decoded:
        ids = self._prompt_ids(request)
        if not ids:
            return _Decoded("", 0.0, 0, 0)
        reused = self._reuse(ids)
        self._cached_ids = ids[:reused]  # what the cache holds, should this request stop part-way
        feed = torch.tensor([ids[reused:]], dtype=torch.long)
        logprobs: list[float] = []
        generated: list[int] = []
        text = ""
        stops = self._stop_ids(request.prompt.stop or self._template.stop)
        for step in range(request.max_new_tokens):
            out = self._model(input_ids=feed, past_key_values=self._cache, use_cache=True)
            self._cache = out.past_key_values
            if step == 0:
                self._cached_ids = list(ids)
            if self._stale(ticket):
                raise _Superseded
            scores = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            token = int(torch.argmax(scores))
            if token in stops:
                break
            logprobs.append(float(scores[token]))
            generated.append(token)
            text = self._tokenizer.decode(generated, skip_special_tokens=False)
            if _finished(text, request.multiline, request.prompt.stop):
                break
            feed = torch.tensor([[token]], dtype=torch.long)
        _crop(self._cache, len(ids))  # keep the prompt only: the next keystroke's prompt starts like it
        text = _cut(text, request.multiline, request.prompt.stop)
        mean = sum(logprobs) / len(logprobs) if logprobs else -math.inf
        self.last_reuse = (reused, len(ids))
        return _Decoded(text, mean, len(ids) - reused, reused)

    def _scored(self, request: GenerationRequest, texts: Sequence[str], ticket: int) -> list[float]:
        """Each text's mean log-probability after the prompt, which is computed once (from the kept cache)
        and kept for the next keystroke; each text's own tokens are dropped from the cache again."""
        ids = self._prompt_ids(request)
        if not ids:
            return [-math.inf] * len(texts)
        with torch.inference_mode():
            reused = self._reuse(ids)
            self._cached_ids = ids[:reused]
            out = self._model(input_ids=torch.tensor([ids[reused:]], dtype=torch.long), past_key_values=self._cache,
                              use_cache=True)
            self._cache, self._cached_ids = out.past_key_values, list(ids)
            first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            scores = []
            for text in texts:
                if self._stale(ticket):
                    raise _Superseded
                scores.append(self._continuation_logprob(first, text if request.multiline else text + "\n",
                                                         len(ids)))
        self.last_reuse = (reused, len(ids))
        return scores

    def _continuation_logprob(self, first: Any, text: str, prompt_length: int) -> float:
        tokens: list[int] = self._tokenizer(text, add_special_tokens=False)["input_ids"]
        if not tokens:
            return -math.inf
        total = float(first[tokens[0]])
        if len(tokens) > 1:
            out = self._model(input_ids=torch.tensor([tokens[:-1]], dtype=torch.long), past_key_values=self._cache,
                              use_cache=True)
            self._cache = out.past_key_values
            logprobs = torch.log_softmax(out.logits[0].float(), dim=-1)
            total += float(logprobs[torch.arange(len(tokens) - 1), torch.tensor(tokens[1:])].sum())
            _crop(self._cache, prompt_length)
        return total / len(tokens)

    async def aclose(self) -> None:
        """Stop the worker thread; a load or request in progress finishes first."""
        self._latest += 1
        await asyncio.to_thread(self._worker.shutdown, wait=True, cancel_futures=True)


def _crop(cache: Any, length: int) -> None:
    """Keep the first ``length`` positions of ``cache`` (its ``crop`` takes how many to drop, negated)."""
    surplus = int(cache.get_seq_length()) - length
    if surplus > 0:
        cache.crop(-surplus)


def _finished(text: str, multiline: bool, stop: tuple[str, ...]) -> bool:
    """Whether generation can stop: a stop sequence appeared, or the line (or block) is complete."""
    if any(s and s in text for s in stop):
        return True
    body = text.lstrip("\n")
    if not multiline:
        return "\n" in body
    return "\n\n" in body


def _cut(text: str, multiline: bool, stop: tuple[str, ...]) -> str:
    """``text`` up to its first stop sequence and, for a single line, its first line end after content."""
    for s in stop:
        if s and s in text:
            text = text[:text.index(s)]
    if not multiline:
        lead = len(text) - len(text.lstrip("\n"))
        end = text.find("\n", lead)
        if end >= 0:
            text = text[:end]
    elif "\n\n" in text.lstrip("\n"):
        lead = len(text) - len(text.lstrip("\n"))
        text = text[:text.index("\n\n", lead)]
    return text
