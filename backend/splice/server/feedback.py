"""Splice's own notifications about what the editor did with a suggestion: shown, accepted, rejected.

Each is validated against the schema in ``plugin-protocol/`` and must name a ``completionId`` this server
issued. They are logged, and handed to the telemetry recorder, which turns them into stored events.
Editors that show Splice through ``textDocument/completion`` send no such notification; their items carry
the command :data:`ACCEPT_COMMAND`, which the editor runs through ``workspace/executeCommand`` when the
person picks the item, and which is recorded as ``splice/didAcceptCompletion``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splice.errors import InvalidParamsError
from splice.logging import get_logger
from splice.protocol.schema import validate_params
from splice.server.connection import notification_handler, request_handler
from splice.server.params import field

if TYPE_CHECKING:
    from splice.server.app import LanguageServer

log = get_logger()

ACCEPT_COMMAND = "splice.acceptCompletion"


def _record(server: LanguageServer, method: str, params: dict[str, Any]) -> str:
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
async def did_show_completion(server: LanguageServer, params: dict[str, Any]) -> None:
    """The editor displayed a suggestion."""
    server.telemetry.shown(_record(server, "splice/didShowCompletion", params))


@notification_handler
async def did_accept_completion(server: LanguageServer, params: dict[str, Any]) -> None:
    """The person accepted a suggestion, wholly or ``acceptedLength`` characters of it."""
    server.telemetry.accepted(_record(server, "splice/didAcceptCompletion", params), params.get("acceptedLength"))


@notification_handler
async def did_reject_completion(server: LanguageServer, params: dict[str, Any]) -> None:
    """The person dismissed a suggestion or typed past it."""
    server.telemetry.rejected(_record(server, "splice/didRejectCompletion", params), params.get("reason"))


def accept_command(completion_id: str) -> dict[str, Any]:
    """The LSP ``Command`` a completion item carries so that picking it reports the accept."""
    return {"title": "Splice: suggestion accepted", "command": ACCEPT_COMMAND,
            "arguments": [{"completionId": completion_id}]}


@request_handler
async def execute_command(server: LanguageServer, params: dict[str, Any]) -> None:
    """Run a command of Splice's: the accept of a completion item, sent by completion-menu editors."""
    command = field(params, "command", kind=str)
    if command != ACCEPT_COMMAND:
        raise InvalidParamsError(f"unknown command {command!r}; this server runs {ACCEPT_COMMAND!r}")
    arguments = field(params, "arguments", kind=list)
    if len(arguments) != 1 or not isinstance(arguments[0], dict):
        raise InvalidParamsError(f"{ACCEPT_COMMAND} takes one argument, {{\"completionId\": ...}}")
    server.telemetry.accepted(_record(server, "splice/didAcceptCompletion", arguments[0]), None)
