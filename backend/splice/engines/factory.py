"""Which engine serves, from settings: the embedded engine, Triton or the neural engine with the embedded one
as fallback; a neural engine with a tenant set loads the adapter published for that tenant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from splice.config import Settings, directory, tenant_task_ids
from splice.engines.base import Engine
from splice.engines.embedded import EmbeddedEngine

if TYPE_CHECKING:
    from splice.engines.embedded import ProjectCache

StatusCallback = Callable[[str, str | None], None]
_log = structlog.get_logger()


def wants_triton(settings: Settings) -> bool:
    """Triton serves when it has a URL and the engine setting is ``auto`` or ``triton``."""
    return bool(settings.triton_url) and settings.engine in ("auto", "triton")


def configured_engine(settings: Settings) -> str:
    """The name of the engine ``settings`` ask for (``auto`` resolved), for reports and logs."""
    if settings.engine == "neural":
        return "neural"
    return "triton" if wants_triton(settings) else "embedded"


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
        model_path=settings.neural_model, adapter_path=settings.neural_adapter or tenant_adapter(settings),
        family=settings.model_family, threads=settings.neural_threads,
    ))
    return FallbackEngine(neural, embedded, on_status=on_status or (lambda _state, _msg: None))


def tenant_adapter(settings: Settings) -> str:
    """The adapter version published for the settings' tenant under ``artifacts_dir`` (``splice
    publish-adapter``), resolved now so a later publish or rollback reaches a new engine, never a running
    one; "" when there is none, or when it is damaged, foreign or for another prompt format (logged)."""
    if not settings.tenant or not settings.artifacts_dir:
        return ""
    from splice.errors import ArtifactError  # noqa: PLC0415 - only with a neural engine and a tenant
    from splice.retrieval.artifact import current_adapter, read_adapter_manifest  # noqa: PLC0415 - as above

    try:
        version = current_adapter(Path(settings.artifacts_dir).expanduser(), settings.tenant)
        if version is None:
            return ""
        manifest = read_adapter_manifest(version, settings.tenant)
    except ArtifactError as exc:
        _log.warning("tenant_adapter_unusable", tenant=settings.tenant, problem=exc.message)
        return ""
    if manifest.get("family") != settings.model_family:
        _log.warning("tenant_adapter_unusable", tenant=settings.tenant,
                     problem=f"trained for the {manifest.get('family')} prompt format, not {settings.model_family}")
        return ""
    return str(version)
