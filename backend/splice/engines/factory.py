"""Which engine serves, from settings: the embedded engine, or Triton with the embedded one as fallback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from splice.config import Settings, directory, tenant_task_ids
from splice.engines.base import Engine
from splice.engines.embedded import EmbeddedEngine

if TYPE_CHECKING:
    from splice.engines.embedded import ProjectCache

StatusCallback = Callable[[str, str | None], None]


def wants_triton(settings: Settings) -> bool:
    """Triton serves when it has a URL and the engine setting is ``auto`` or ``triton``."""
    return bool(settings.triton_url) and settings.engine in ("auto", "triton")


def create_engine(settings: Settings, workspace: Path | None, on_status: StatusCallback | None = None, *,
                  cache: ProjectCache | None = None) -> Engine:
    """The engine ``settings`` ask for. Nothing slow happens here; ``start()`` begins the indexing, from the
    embedded engine's stored project index when ``cache`` is given."""
    embedded = EmbeddedEngine(workspace=workspace, cache=cache)
    if settings.engine == "neural":
        return _neural(settings, embedded, on_status)
    if not wants_triton(settings):
        return embedded
    from splice.engines.fallback import FallbackEngine  # noqa: PLC0415 - grpc loads only when Triton serves
    from splice.engines.replicas import ReplicaSet, parse_endpoints  # noqa: PLC0415 - as above
    from splice.engines.triton import TritonEngine, TritonSettings  # noqa: PLC0415 - as above

    def replica(url: str) -> TritonEngine:
        return TritonEngine(TritonSettings(
            url=url, model=settings.triton_model, deadline_s=settings.deadline_ms / 1000,
            tenant_task_ids=tenant_task_ids(settings),
            lora_dir=directory(settings.triton_lora_dir) if settings.triton_lora_dir else None,
            request_style=settings.triton_request_style,
            perf_metrics=settings.triton_perf_metrics,
        ))

    fixed, dns_name = parse_endpoints(settings.triton_url)
    primary: Engine
    if dns_name is None and len(fixed) == 1:
        primary = replica(fixed[0])
    else:
        primary = ReplicaSet(settings.triton_url, replica, deadline_s=settings.deadline_ms / 1000)
    return FallbackEngine(primary, embedded, on_status=on_status or (lambda _state, _msg: None))


def _neural(settings: Settings, embedded: Engine, on_status: StatusCallback | None) -> Engine:
    """The in-process neural engine, the embedded one standing in while it loads or when it fails."""
    from splice.engines.fallback import FallbackEngine  # noqa: PLC0415 - torch loads only when asked for
    from splice.engines.neural import NeuralEngine, NeuralSettings  # noqa: PLC0415 - as above

    neural = NeuralEngine(NeuralSettings(
        model_path=settings.neural_model, adapter_path=settings.neural_adapter,
        family=settings.model_family, threads=settings.neural_threads,
    ))
    return FallbackEngine(neural, embedded, on_status=on_status or (lambda _state, _msg: None))
