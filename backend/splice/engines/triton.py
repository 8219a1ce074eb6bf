"""The Triton engine: streamed fill-in-the-middle generation from a Triton Inference Server over gRPC.

It owns everything between a :class:`GenerationRequest` and the server's tensor contract (documented in
``triton_models/README.md``; the same for the CPU model and the TensorRT-LLM ensemble/BLS): one long-lived
aio gRPC channel, a deadline per request, retries of connection failures that happen before the first
token (and only inside that deadline), a circuit breaker, stopping the stream as soon as the answer is
complete, cancelling upstream when the caller is cancelled, and turning vendor exceptions into
:mod:`splice.errors` at this boundary so the caller can fall back without knowing tritonclient.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]  # grpcio ships no type information
import tritonclient.grpc.aio as grpcclient  # type: ignore[import-untyped]  # untyped vendor package
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from tritonclient.utils import InferenceServerException  # type: ignore[import-untyped]

from splice.engines.base import Candidate, GenerationRequest, RemoteEngine
from splice.engines.breaker import BreakerState, CircuitBreaker
from splice.engines.lora_cache import Adapter, AdapterError, load_adapter, not_cached_task
from splice.engines.request_styles import request_style
from splice.errors import EngineError, EngineTimeoutError, EngineUnavailableError

# gRPC status codes that mean "the server could not be reached", as opposed to "it answered no".
_UNREACHABLE = frozenset({grpc.StatusCode.UNAVAILABLE})
# Phrases in Triton's error messages that mean the model cannot serve right now (unloaded, loading).
_NOT_SERVING = ("unknown model", "is not ready", "is not found", "unavailable", "not loaded")

ShouldStop = Callable[[str], bool]


@dataclass(frozen=True, kw_only=True)
class TritonSettings:
    """Where the server is and how patient to be with it."""

    url: str = "127.0.0.1:8001"
    model: str = "splice_fim"
    deadline_s: float = 1.5
    connect_attempts: int = 3
    retry_initial_backoff_s: float = 0.02
    # Reconnect quickly once the server is back; gRPC's default backoff grows to two minutes.
    reconnect_backoff_ms: int = 250
    max_reconnect_backoff_ms: int = 2_000
    # Tenant name -> lora_task_id; a tenant made of digits is its own id.
    tenant_task_ids: Mapping[str, int] = field(default_factory=dict)
    # Converted adapters, <lora_dir>/<task_id>/model.lora_weights.npy and model.lora_config.npy (the
    # layout of the engine's lora_prefetch_dir), sent once when the server's cache lacks the task.
    lora_dir: Path | None = None
    # HTTP/2 keepalive pings on an idle channel. Triton's defaults refuse pings without calls and count
    # pings closer than 5 minutes as abuse; scripts/triton-cpu and deploy/ start the server with
    # --grpc-keepalive-permit-without-calls and a minimum ping interval below this one.
    # How long an adapter upload (the resend with lora_weights) may take; it is not bound by deadline_s.
    adapter_upload_timeout_s: float = 60.0
    keepalive_time_ms: int = 30_000
    keepalive_timeout_ms: int = 10_000
    # Tensor names and shapes of the model (splice.engines.request_styles): "inflight_batcher" for the
    # ensemble/BLS and the CPU model, "llmapi" for TensorRT-LLM's LLM API (PyTorch backend) model.
    request_style: str = "inflight_batcher"
    # Ask the engine for per-request KV-cache counters (TensorRT-LLM models only; the CPU model has none):
    # ``last_reused_blocks`` then says how many prompt blocks the latest request reused.
    perf_metrics: bool = False


class _ConnectionFailure(Exception):
    """Could not reach the server before the first token: the only failure worth retrying."""


class _AdapterMiss(Exception):
    """The server's LoRA cache lacks the task: resend once with the adapter's weights."""

    def __init__(self, task_id: int) -> None:
        super().__init__(task_id)
        self.task_id = task_id


@dataclass
class _Generated:
    text: str
    score: float
    tokens: int = 0


def stop_index(text: str, *, multiline: bool, stop: tuple[str, ...]) -> int | None:
    """Where ``text`` must be cut because the answer is complete, or None to keep streaming."""
    cuts = [text.find(word) for word in stop if word]
    if not multiline:
        cuts.append(text.find("\n"))
    found = [cut for cut in cuts if cut >= 0]
    return min(found) if found else None


class TritonEngine(RemoteEngine):
    """Implements :class:`splice.engines.base.Engine` against a Triton server (one candidate a request)."""

    name = "triton"

    def __init__(
        self,
        settings: TritonSettings | None = None,
        *,
        breaker: CircuitBreaker | None = None,
        should_stop: ShouldStop | None = None,
    ) -> None:
        self.settings = settings or TritonSettings()
        self.breaker = breaker or CircuitBreaker()
        self._should_stop = should_stop
        self._client: Any = None
        self._adapters: dict[int, Adapter] = {}
        self._uploads: dict[int, asyncio.Future[_Generated]] = {}
        self._style = request_style(self.settings.request_style, perf_metrics=self.settings.perf_metrics)
        self.last_reused_blocks: int | None = None
        # How many requests went out again with adapter weights (the server had evicted or never seen them).
        self.adapter_uploads = 0

    def _connection(self) -> Any:
        # Created lazily: an aio channel belongs to the event loop it was made on.
        if self._client is None:
            settings = self.settings
            self._client = grpcclient.InferenceServerClient(
                settings.url,
                channel_args=[
                    ("grpc.max_send_message_length", 2**31 - 1),
                    ("grpc.max_receive_message_length", 2**31 - 1),
                    ("grpc.keepalive_time_ms", settings.keepalive_time_ms),
                    ("grpc.keepalive_timeout_ms", settings.keepalive_timeout_ms),
                    ("grpc.keepalive_permit_without_calls", 1),
                    ("grpc.http2.max_pings_without_data", 0),
                    ("grpc.initial_reconnect_backoff_ms", settings.reconnect_backoff_ms),
                    ("grpc.min_reconnect_backoff_ms", settings.reconnect_backoff_ms),
                    ("grpc.max_reconnect_backoff_ms", settings.max_reconnect_backoff_ms),
                ],
            )
        return self._client

    async def generate(self, request: GenerationRequest, *, deadline_s: float | None = None) -> list[Candidate]:
        """Stream one candidate from the server within the deadline (``deadline_s`` overrides it)."""
        if not self.breaker.allow():
            raise EngineUnavailableError(f"triton: circuit of {self.settings.url} open after repeated failures")
        healthy: bool | None = None
        budget = self.settings.deadline_s if deadline_s is None else deadline_s
        try:
            async with asyncio.timeout(budget):
                generated = await self._generate_retrying(request)
            healthy = True
        except TimeoutError as exc:
            healthy = False
            raise EngineTimeoutError(f"triton: no answer within {budget:.2f}s") from exc
        except EngineUnavailableError:
            healthy = False
            raise
        except EngineError:
            healthy = True  # the server answered; the request itself was refused
            raise
        finally:
            if healthy is True:
                self.breaker.record_success()
            elif healthy is False:
                self.breaker.record_failure()
            else:
                self.breaker.release()  # cancelled by the caller: says nothing about the server
        if not generated.text:
            return []  # the model had nothing to propose
        mean = generated.score / generated.tokens if request.want_logprobs and generated.tokens else None
        return [Candidate(text=generated.text, score=generated.score, origin=self.name, mean_logprob=mean)]

    async def probe(self) -> bool:
        """Whether the model is ready, asked through the breaker (a half-open probe when it is open)."""
        if self.breaker.state is not BreakerState.CLOSED and not self.breaker.allow():
            return False
        try:
            async with asyncio.timeout(self.settings.deadline_s):
                ready = bool(await self._connection().is_model_ready(self.settings.model))
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except (TimeoutError, InferenceServerException, grpc.RpcError):
            ready = False
        if ready:
            self.breaker.record_success()
        else:
            self.breaker.record_failure()
        return ready

    async def aclose(self) -> None:
        for upload in self._uploads.values():
            upload.cancel()
        self._uploads.clear()
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def _generate_retrying(self, request: GenerationRequest) -> _Generated:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_ConnectionFailure),
            stop=stop_after_attempt(max(1, self.settings.connect_attempts)),
            wait=wait_exponential(multiplier=self.settings.retry_initial_backoff_s, max=0.2),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._stream_with_adapter(request)
        except _ConnectionFailure as exc:
            raise EngineUnavailableError(f"triton: cannot reach {self.settings.url}: {exc}") from exc
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    async def _stream_with_adapter(self, request: GenerationRequest) -> _Generated:
        """Stream by task id; on the engine's "not found in cache", once more with the adapter itself.

        The resend runs as its own task with ``adapter_upload_timeout_s``, shielded from this request's
        deadline: a large adapter may take longer to send than a completion may wait, and an upload cut
        short would leave the server without it forever. Requests for the same task meanwhile wait for
        that upload and then go by id."""
        try:
            return await self._stream(request, None)
        except _AdapterMiss as miss:
            task_id = miss.task_id
        upload = self._uploads.get(task_id)
        if upload is not None and not upload.done():
            await asyncio.shield(upload)
            return await self._stream(request, None)
        upload = asyncio.ensure_future(self._upload(request, self._adapter(task_id)))
        upload.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved either way
        self._uploads[task_id] = upload
        self.adapter_uploads += 1
        return await asyncio.shield(upload)

    async def _upload(self, request: GenerationRequest, entry: Adapter) -> _Generated:
        try:
            async with asyncio.timeout(self.settings.adapter_upload_timeout_s):
                return await self._stream(request, entry)
        except _AdapterMiss as again:
            raise EngineError(f"triton: the server refused the adapter of task {again.task_id}") from again
        except TimeoutError as exc:
            raise EngineTimeoutError("triton: adapter upload timed out") from exc

    @property
    def pending_uploads(self) -> int:
        """Adapter uploads still under way (they outlive the request that started them)."""
        return sum(1 for upload in self._uploads.values() if not upload.done())

    def _adapter(self, task_id: int) -> Adapter:
        entry = self._adapters.get(task_id)
        if entry is not None:
            return entry
        if self.settings.lora_dir is None:
            raise EngineError(f"triton: LoRA task {task_id} is not cached on the server and no lora_dir is set")
        try:
            entry = load_adapter(self.settings.lora_dir, task_id)
        except AdapterError as exc:
            raise EngineError(f"triton: {exc}") from exc
        self._adapters[task_id] = entry
        return entry

    def _task_id(self, tenant: str | None) -> int | None:
        if tenant is None:
            return None
        if tenant in self.settings.tenant_task_ids:
            return self.settings.tenant_task_ids[tenant]
        if tenant.isdigit():
            return int(tenant)
        raise EngineError(f"triton: tenant {tenant!r} has no lora_task_id")

    async def _stream(self, request: GenerationRequest, adapter: Adapter | None) -> _Generated:
        payload = {
            "model_name": self.settings.model,
            "inputs": self._style.inputs(request, self._task_id(request.tenant), adapter),
            # Unique across clients: the server keys cancellation (stop requests) by it.
            "request_id": uuid.uuid4().hex,
        }

        async def one_request() -> AsyncIterator[dict[str, Any]]:
            # Ending the request iterator half-closes the stream, so the server ends the call after
            # the final response: end of iteration is the end of the answer.
            yield payload

        call = self._connection().stream_infer(one_request())
        reader = self._style.reader()
        pieces: list[str] = []
        score = 0.0
        tokens = 0
        finished = False
        try:
            async for result, error in call:
                if error is not None:
                    raise self._refusal(error, first=not "".join(pieces)) from error
                piece, log_prob, counted = reader.read(result)
                self.last_reused_blocks = reader.reused_blocks
                pieces.append(piece)
                score += log_prob
                tokens += counted
                so_far = "".join(pieces)
                cut = stop_index(so_far, multiline=request.multiline, stop=request.prompt.stop)
                if cut is not None:
                    return _Generated(so_far[:cut], score, tokens)
                if self._should_stop is not None and self._should_stop(so_far):
                    return _Generated(so_far, score, tokens)
            finished = True
            return _Generated("".join(pieces), score, tokens)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _UNREACHABLE and not "".join(pieces):
                raise _ConnectionFailure(exc.details() or str(exc.code())) from exc
            if exc.code() == grpc.StatusCode.CANCELLED:
                raise EngineUnavailableError("triton: stream cancelled by the server") from exc
            detail = f"{exc.code().name}: {exc.details()}"
            raise EngineUnavailableError(f"triton: stream failed: {detail}") from exc
        except InferenceServerException as exc:
            raise self._refusal(exc, first=not "".join(pieces)) from exc
        finally:
            if not finished:
                # Early stop, error or the caller's cancellation: tell the server to stop generating.
                call.cancel()

    def _refusal(self, error: InferenceServerException, *, first: bool = False) -> Exception:
        message = str(error.message() if hasattr(error, "message") else error)
        missing = not_cached_task(message)
        if missing is not None and first:
            return _AdapterMiss(missing)
        if any(phrase in message.lower() for phrase in _NOT_SERVING):
            return EngineUnavailableError(f"triton: model {self.settings.model} not serving: {message}")
        return EngineError(f"triton: {message}")
