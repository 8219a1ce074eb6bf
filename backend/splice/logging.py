"""Structured logs on stderr as JSON lines; stdout is reserved for protocol messages.

Each completion binds its own ``request_id`` through structlog's context variables, so every line a
completion produces can be grouped, and the final ``completion`` event carries per-stage timings.
"""

from __future__ import annotations

import logging as std_logging
import sys
from typing import Any, TextIO, cast

import structlog

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
