"""Splice's own notifications about what the editor did with a suggestion: shown, accepted, rejected.

Each is validated against the schema in ``plugin-protocol/`` and must name a ``completionId`` this server
issued. They are logged, and handed to the telemetry recorder, which turns them into stored events.
"""

from __future__ import annotations

from typing import Any

from splice.errors import InvalidParamsError
from splice.logging import get_logger
from splice.protocol.schema import validate_params
from splice.server.connection import notification_handler

log = get_logger()


def _record(server: Any, method: str, params: dict[str, Any]) -> str:
    validate_params(method, params)
    completion_id = params["completionId"]
    issued = server.issued.get(completion_id)
    if issued is None:
        raise InvalidParamsError(f"{method}: unknown completionId {completion_id!r}")
    event: dict[str, Any] = {k: v for k, v in params.items() if k != "completionId"}
    log.info("completion_feedback", method=method, completion_id=completion_id, uri=issued.uri,
             suggested_length=len(issued.insert_text), **event)
    return str(completion_id)


@notification_handler
async def did_show_completion(server: Any, params: dict[str, Any]) -> None:
    """The editor displayed a suggestion."""
    server.telemetry.shown(_record(server, "splice/didShowCompletion", params))


@notification_handler
async def did_accept_completion(server: Any, params: dict[str, Any]) -> None:
    """The person accepted a suggestion, wholly or ``acceptedLength`` characters of it."""
    server.telemetry.accepted(_record(server, "splice/didAcceptCompletion", params), params.get("acceptedLength"))


@notification_handler
async def did_reject_completion(server: Any, params: dict[str, Any]) -> None:
    """The person dismissed a suggestion or typed past it."""
    server.telemetry.rejected(_record(server, "splice/didRejectCompletion", params), params.get("reason"))
