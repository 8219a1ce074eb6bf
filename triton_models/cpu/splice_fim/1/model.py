"""Splice's fill-in-the-middle model for Triton's Python backend: the TensorRT-LLM contract on a CPU.

It owns the translation between Triton requests (a FIM-formatted ``text_input`` plus the ensemble's
optional controls) and Splice's embedded statistical engine, so a deployment without a GPU exposes the
same tensors as the TensorRT-LLM ensemble and one client serves both.

Requests are served concurrently on one asyncio loop in a background thread: ``execute`` hands each
request to the loop and returns at once (decoupled mode allows that), so a dynamically batched group
does not wait for its slowest member. Every request ends with the final-response flag exactly once, also
after an error or a client cancellation.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import json
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

# Family -> (before prefix, before suffix, before middle) in prefix-suffix-middle order. Only the markers
# matter here: the prompt was rendered by the client with the family's template.
FIM_MARKERS: dict[str, tuple[str, str, str]] = {
    "starcoder2": ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    "qwen2.5-coder": ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    "codegemma": ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    # Full-width bars and U+2581 (lower one-eighth block), spelled out so they are not mistaken for ASCII.
    "deepseek-coder": (
        "<\uff5cfim\u2581begin\uff5c>",
        "<\uff5cfim\u2581hole\uff5c>",
        "<\uff5cfim\u2581end\uff5c>",
    ),
    "codellama": ("<PRE> ", " <SUF>", " <MID>"),
}
# Multi-file markers that name the current file's path on the line after them.
FILE_MARKERS = ("<file_sep>", "<|file_sep|>", "<|file_separator|>")
# How often a request in generation is checked for client cancellation.
CANCEL_POLL_S = 0.01
# Word-ish pieces a candidate is streamed in: a run of whitespace stays with the word after it.
_PIECE = re.compile(r"\s*\S+|\s+")


class RequestError(Exception):
    """A request this model cannot serve; becomes an error response, not a crash."""


@dataclass(frozen=True)
class Settings:
    """The model's ``parameters`` from config.pbtxt, validated once."""

    fim_family: str
    artifacts_root: Path | None
    workspace: Path | None
    stream_chunks: int
    chunk_delay_s: float
    load_timeout_s: float
    engine: str
    lora_cache_adapters: int

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        raw = {key: value["string_value"] for key, value in config.get("parameters", {}).items()}
        family = raw.get("fim_family", "starcoder2")
        if family not in FIM_MARKERS:
            raise ValueError(f"fim_family {family!r} is not one of {sorted(FIM_MARKERS)}")
        root = os.environ.get("SPLICE_ARTIFACTS_ROOT") or raw.get("artifacts_root", "")
        workspace = raw.get("workspace", "")
        return cls(
            fim_family=family,
            artifacts_root=Path(root) if root else None,
            workspace=Path(workspace) if workspace else None,
            stream_chunks=max(1, int(raw.get("stream_chunks", "4"))),
            chunk_delay_s=max(0.0, float(raw.get("chunk_delay_ms", "0")) / 1000.0),
            load_timeout_s=float(raw.get("load_timeout_s", "120")),
            engine=raw.get("engine", "splice.engines.embedded:EmbeddedEngine"),
            lora_cache_adapters=max(1, int(raw.get("lora_cache_adapters", "8"))),
        )


@dataclass(frozen=True)
class FimRequest:
    """One request's inputs, decoded from tensors."""

    path: str
    prefix: str
    suffix: str
    max_tokens: int
    stop_words: tuple[str, ...]
    bad_words: tuple[str, ...]
    stream: bool
    tenant: int | None
    lora_weights: Any = None
    lora_config: Any = None
    # The prompt as sent: a language model reads it whole, repository context and sentinels included.
    text: str = ""


def fim_parts(text: str, family: str) -> tuple[str, str, str]:
    """(path, prefix, suffix) of a prompt rendered in ``family``'s prefix-suffix-middle template."""
    begin, hole, end = FIM_MARKERS[family]
    start = text.rfind(begin)
    hole_at = text.find(hole, start + len(begin)) if start >= 0 else -1
    end_at = text.find(end, hole_at + len(hole)) if hole_at >= 0 else -1
    if start < 0 or hole_at < 0 or end_at < 0:
        raise RequestError(f"text_input is not a {family} fill-in-the-middle prompt")
    prefix = text[start + len(begin) : hole_at]
    suffix = text[hole_at + len(hole) : end_at]
    # The repository context before the prefix marker ends with the current file's header line.
    path = ""
    context = text[:start]
    for marker in FILE_MARKERS:
        at = context.rfind(marker)
        if at >= 0:
            path = context[at + len(marker) :].split("\n", 1)[0].strip()
            if path:
                break
    return path, prefix, suffix


def _strings(request: Any, name: str) -> tuple[str, ...]:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return ()
    values = tensor.as_numpy().reshape(-1)
    return tuple(v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values if v)


def _scalar(request: Any, name: str) -> Any:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return None
    values = tensor.as_numpy().reshape(-1)
    return values[0].item() if values.size else None


def _array(request: Any, name: str) -> Any:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return None if tensor is None else tensor.as_numpy()


def decode_request(request: Any, family: str) -> FimRequest:
    """The inputs of ``request``; raises :class:`RequestError` on a malformed one."""
    texts = _strings(request, "text_input")
    if not texts:
        raise RequestError("text_input is required")
    path, prefix, suffix = fim_parts(texts[0], family)
    max_tokens = _scalar(request, "max_tokens")
    if max_tokens is None or int(max_tokens) <= 0:
        raise RequestError("max_tokens must be a positive INT32")
    stream = _scalar(request, "stream")
    tenant = _scalar(request, "lora_task_id")
    return FimRequest(
        path=path,
        prefix=prefix,
        suffix=suffix,
        max_tokens=int(max_tokens),
        stop_words=_strings(request, "stop_words"),
        bad_words=_strings(request, "bad_words"),
        stream=bool(stream) if stream is not None else False,
        tenant=int(tenant) if tenant is not None else None,
        lora_weights=_array(request, "lora_weights"),
        lora_config=_array(request, "lora_config"),
        text=texts[0],
    )


def cut_at_stop(text: str, stop_words: tuple[str, ...]) -> str:
    """``text`` up to (not including) the earliest stop word."""
    cut = len(text)
    for word in stop_words:
        at = text.find(word)
        if 0 <= at < cut:
            cut = at
    return text[:cut]


def stream_pieces(text: str, chunks: int) -> list[str]:
    """``text`` split into at most ``chunks`` consecutive pieces on word boundaries."""
    words = _PIECE.findall(text)
    if not words:
        return [text] if text else []
    per_piece = -(-len(words) // chunks)
    return ["".join(words[i : i + per_piece]) for i in range(0, len(words), per_piece)]


def _response(text: str, log_prob: float) -> Any:
    return pb_utils.InferenceResponse(
        output_tensors=[
            # Leading 1: the batch dimension (max_batch_size > 0); one request per response.
            pb_utils.Tensor("text_output", np.array([[text.encode("utf-8")]], dtype=np.object_)),
            pb_utils.Tensor("output_log_probs", np.array([[[log_prob]]], dtype=np.float32)),
            pb_utils.Tensor("cum_log_probs", np.array([[log_prob]], dtype=np.float32)),
        ]
    )


def _ensure_splice_importable(model_repository: str) -> None:
    """Make ``splice`` importable when the stub's Python has not installed it (a source checkout)."""
    try:
        importlib.import_module("splice")
    except ImportError:
        # scripts/triton-cpu names the checkout's backend/; otherwise assume the model sits in it at
        # triton_models/cpu/splice_fim.
        in_checkout = Path(model_repository).resolve().parents[2] / "backend"
        sys.path.insert(0, os.environ.get("SPLICE_SOURCE") or str(in_checkout))


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def start_engine(factory: str, workspace: Path | None, timeout: float, family: str = "starcoder2") -> Any:
    """Construct the engine named ``module:attr`` and wait until its data is loaded. An engine that takes
    a ``family`` (a language model reading the prompt's sentinels) is told the model's ``fim_family``."""
    module_name, _, attr = factory.rpartition(":")
    if module_name.endswith(".py"):
        # A file path: lets a deployment (or a test) plug in an engine that is not an installed module.
        spec = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load engine module {module_name}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    engine_type = getattr(module, attr)
    options = {"family": family} if "family" in inspect.signature(engine_type).parameters else {}
    engine = engine_type(workspace=workspace, **options)
    if hasattr(engine, "start"):
        await _maybe_await(engine.start())
    if hasattr(engine, "wait_until_ready"):
        wait = engine.wait_until_ready
        # A blocking wait runs in a thread so other tenants' requests keep being served meanwhile.
        if inspect.iscoroutinefunction(wait):
            ready = await wait(timeout)
        else:
            ready = await asyncio.to_thread(wait, timeout)
        if ready is False:
            raise RuntimeError(f"engine for {workspace or 'no workspace'} not ready after {timeout:.0f}s")
    return engine


async def generate_middle(engine: Any, fim: FimRequest, adapter: Any = None) -> tuple[str, float]:
    """The one call into the engine: the best candidate middle for ``fim`` and its score. An engine that
    applies adapters itself (``applies_adapters``) gets the request's resolved adapter, None for the base."""
    # Imported here: splice becomes importable only once initialize() has located it.
    from splice.context.prompt import FimPrompt  # noqa: PLC0415
    from splice.engines.base import GenerationRequest  # noqa: PLC0415
    from splice.languages import language_for_path  # noqa: PLC0415

    prompt = FimPrompt(
        path=fim.path,
        language=language_for_path(fim.path) if fim.path else "",
        prefix=fim.prefix,
        suffix=fim.suffix,
        stop=fim.stop_words,
        text=fim.text,
    )
    request = GenerationRequest(
        prompt=prompt,
        document_prefix=fim.prefix,
        document_suffix=fim.suffix,
        # A newline stop word is how the contract asks for a single line.
        multiline="\n" not in fim.stop_words,
        max_new_tokens=fim.max_tokens,
        num_candidates=max(1, len(fim.bad_words) + 1),
    )
    if getattr(engine, "applies_adapters", False):
        candidates = await engine.generate_with_adapter(request, fim.tenant, adapter)
    else:
        candidates = await engine.generate(request)
    for candidate in candidates:
        if not any(word in candidate.text for word in fim.bad_words):
            return candidate.text, float(candidate.score)
    return "", 0.0


class TritonPythonModel:
    """Triton's entry points; the work happens on ``self._loop``."""

    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        if not pb_utils.using_decoupled_model_transaction_policy(config):
            raise pb_utils.TritonModelException("splice_fim streams: set model_transaction_policy decoupled")
        self._settings = Settings.from_config(config)
        _ensure_splice_importable(args["model_repository"])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="splice-fim", daemon=True)
        self._thread.start()
        self._engines: dict[int | None, Any] = {}
        self._engine_locks: dict[int | None, asyncio.Lock] = {}
        self._inflight: set[asyncio.Future[None]] = set()
        from splice.engines.lora_cache import AdapterCache  # noqa: PLC0415 - splice is importable now

        self._adapters = AdapterCache(self._settings.lora_cache_adapters)
        # Triton marks the model ready only after initialize returns, so loading the default engine here
        # keeps the model (and /v2/health/ready) not-ready until its data is in memory.
        loaded = asyncio.run_coroutine_threadsafe(self._engine_for(None), self._loop)
        loaded.result(timeout=self._settings.load_timeout_s + 5)

    def execute(self, requests: list[Any]) -> None:
        for request in requests:
            future = asyncio.run_coroutine_threadsafe(self._serve(request), self._loop)
            self._inflight.add(future)
            future.add_done_callback(self._inflight.discard)
        return None

    def finalize(self) -> None:
        for future in list(self._inflight):
            future.cancel()
        closing = asyncio.run_coroutine_threadsafe(self._close_engines(), self._loop)
        try:
            closing.result(timeout=10)
        except Exception as exc:  # shutdown must finish; the log says why
            pb_utils.Logger.log_warn(f"splice_fim: closing engines failed: {exc!r}")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _close_engines(self) -> None:
        for engine in self._engines.values():
            if hasattr(engine, "aclose"):
                await engine.aclose()
        self._engines.clear()

    def _tenant_directory(self, tenant: int) -> Path | None:
        root = self._settings.artifacts_root
        directory = None if root is None else root / str(tenant)
        return directory if directory is not None and directory.is_dir() else None

    def _adapter_tenant(self, fim: FimRequest) -> int | None:
        """Apply TensorRT-LLM's adapter cache contract to ``fim``; the tenant whose engine serves it.

        A tenant directory works as the engine's ``lora_prefetch_dir/<id>/``: its adapter is cached on
        first use. Any other id must have been sent with its weights (or be sent with them now);
        otherwise the answer is the engine's own "not found in cache" error, word for word, and the client
        resends with the weights. The directory's engine serves the request, else the default one."""
        tenant = fim.tenant
        if tenant is None:
            return None
        from splice.engines import lora_cache  # noqa: PLC0415 - importable once initialize() ran

        directory = self._tenant_directory(tenant)
        carries = fim.lora_weights is not None or fim.lora_config is not None
        if directory is not None and tenant not in self._adapters and not carries:
            try:
                entry = lora_cache.load_adapter(directory.parent, tenant)
            except lora_cache.AdapterError:
                entry = lora_cache.Adapter(np.zeros((1, 0, 0), np.float16), np.zeros((1, 0, 3), np.int32))
            self._adapters.put(tenant, entry)
        try:
            self._adapters.resolve(tenant, fim.lora_weights, fim.lora_config)
        except (LookupError, lora_cache.AdapterError) as exc:
            raise RequestError(str(exc.args[0])) from exc
        return tenant if directory is not None else None

    def _request_adapter(self, engine: Any, fim: FimRequest) -> Any:
        """The adapter ``fim`` asks for, for an engine that applies adapters per request (None: the base).

        The cache answers as TensorRT-LLM's does: an id sent with weights caches them, a cached id needs
        none, ``<artifacts_root>/<id>/`` holding converted arrays is prefetched on first use, and any other
        id is "not found in cache"."""
        if fim.tenant is None:
            return None
        from splice.engines import lora_cache  # noqa: PLC0415 - importable once initialize() ran

        carries = fim.lora_weights is not None or fim.lora_config is not None
        directory = self._tenant_directory(fim.tenant)
        prefetched = directory is not None and (directory / lora_cache.WEIGHTS_FILE).is_file()
        try:
            if prefetched and directory is not None and fim.tenant not in self._adapters and not carries:
                entry = lora_cache.load_adapter(directory.parent, fim.tenant)
                engine.check_adapter(entry)
                self._adapters.put(fim.tenant, entry)
            if fim.lora_weights is not None and fim.lora_config is not None:
                # Checked against the base before the cache takes it: a bad upload is refused, not kept.
                engine.check_adapter(lora_cache.adapter(fim.lora_weights, fim.lora_config))
            return self._adapters.resolve(fim.tenant, fim.lora_weights, fim.lora_config)
        except (LookupError, lora_cache.AdapterError) as exc:
            raise RequestError(str(exc.args[0])) from exc

    async def _engine_for(self, tenant: int | None) -> Any:
        """The engine for ``tenant`` (None: the default), loaded once and shared by its requests."""
        engine = self._engines.get(tenant)
        if engine is not None:
            return engine
        workspace = self._settings.workspace if tenant is None else self._tenant_directory(tenant)
        if tenant is not None and workspace is None:
            raise RequestError(f"lora_task_id {tenant}: no customization directory")
        lock = self._engine_locks.setdefault(tenant, asyncio.Lock())
        async with lock:
            if tenant not in self._engines:
                self._engines[tenant] = await start_engine(
                    self._settings.engine, workspace, self._settings.load_timeout_s, self._settings.fim_family
                )
        return self._engines[tenant]

    async def _serve(self, request: Any) -> None:
        sender = request.get_response_sender()
        final = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        try:
            fim = decode_request(request, self._settings.fim_family)
            engine = self._engines[None]
            if getattr(engine, "applies_adapters", False):
                adapter = self._request_adapter(engine, fim)
            else:
                adapter, engine = None, await self._engine_for(self._adapter_tenant(fim))
            generation = asyncio.ensure_future(generate_middle(engine, fim, adapter))
            # Generation runs without a Triton callback, so poll for cancellation beside it.
            while not generation.done():
                await asyncio.wait({generation}, timeout=CANCEL_POLL_S)
                if request.is_cancelled():
                    generation.cancel()
                    sender.send(flags=final)
                    return
            middle, score = generation.result()
            middle = cut_at_stop(middle, fim.stop_words)
            pieces = stream_pieces(middle, self._settings.stream_chunks) if fim.stream else [middle]
            share = score / max(1, len(pieces))
            for piece in pieces:
                if self._settings.chunk_delay_s:
                    await asyncio.sleep(self._settings.chunk_delay_s)
                if request.is_cancelled():
                    break
                sender.send(_response(piece, share))
            sender.send(flags=final)
        except RequestError as exc:
            sender.send(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))), flags=final)
        except Exception as exc:  # any failure must still close the request
            pb_utils.Logger.log_error(f"splice_fim: generation failed: {exc!r}")
            sender.send(
                pb_utils.InferenceResponse(error=pb_utils.TritonError(f"generation failed: {exc}")),
                flags=final,
            )
