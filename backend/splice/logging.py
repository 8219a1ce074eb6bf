"""Structured logs on stderr as JSON lines; stdout is reserved for protocol messages.

Each completion binds its own ``request_id`` through structlog's context variables, so every line a
completion produces can be grouped, and the final ``completion`` event carries per-stage timings.
"""

from __future__ import annotations

import logging as std_logging
import sys
from typing import Any, TextIO, cast


def _import_structlog_without_console_extras() -> Any:
    """structlog, imported so that its optional console renderers do not load ``rich`` or ``colorama``.

    structlog imports both at import time whenever they are installed (a development environment has rich
    through other tools; sacrebleu, for the evaluation, brings colorama), only for coloured console output
    and pretty tracebacks. Splice writes JSON lines with plain tracebacks, and loading rich and pygments
    costs the server about a fifth of its start-up (colorama a few milliseconds more), so both are hidden for
    the duration of this one import and visible again to anything imported later.
    """
    hidden = [name for name in ("rich", "colorama") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment] # makes ``import name`` raise ImportError
    try:
        import structlog  # noqa: PLC0415

        return structlog
    finally:
        for name in hidden:
            del sys.modules[name]


structlog = _import_structlog_without_console_extras()

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def configure(level: str = "info") -> None:
    """Send structlog and the standard library's logging to stderr as JSON lines at ``level``."""
    numeric = _LEVELS.get(level, 20)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (jsonrpcserver, grpc) must not reach stdout either.
    root = std_logging.getLogger()
    root.handlers[:] = [std_logging.StreamHandler(sys.stderr)]
    root.setLevel(max(numeric, std_logging.WARNING))


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the moment of writing, not the stream it was at configuration: a
    library embedding Splice (or a test runner) may swap and close streams after logging is set up."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def get_logger(**initial: Any) -> Any:
    """A bound structlog logger."""
    return structlog.get_logger(**initial)


def bind(**values: Any) -> None:
    """Add ``values`` to every line logged from the current task until :func:`unbind`."""
    structlog.contextvars.bind_contextvars(**values)


def unbind(*keys: str) -> None:
    """Stop adding ``keys`` to the current task's lines."""
    structlog.contextvars.unbind_contextvars(*keys)
