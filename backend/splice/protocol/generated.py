"""Types of Splice's own protocol methods, generated from plugin-protocol/splice-protocol.schema.json.

Do not edit: run scripts/gen-protocol.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NotRequired, TypedDict


class DidShowCompletionParams(TypedDict):
    completionId: str
    displayedAt: NotRequired[float]


class DidAcceptCompletionParams(TypedDict):
    completionId: str
    acceptedLength: NotRequired[int]


class DidRejectCompletionParams(TypedDict):
    completionId: str
    reason: NotRequired[Literal["dismissed", "typedPast", "replaced"]]


class StatusParams(TypedDict):
    state: Literal["ready", "degraded", "offline"]
    engine: NotRequired[str]
    message: NotRequired[str]


METHOD_PARAMS: dict[str, str] = {
    "splice/didShowCompletion": "DidShowCompletionParams",
    "splice/didAcceptCompletion": "DidAcceptCompletionParams",
    "splice/didRejectCompletion": "DidRejectCompletionParams",
    "splice/status": "StatusParams"
}

SCHEMA: dict[str, Any] = json.loads(
'{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://splice.dev/plugin-protocol/v1", "title": "Splice plugin protocol", "description": "Splice\'s own JSON-RPC methods, beside standard LSP 3.18. Each entry of \'methods\' names a method, its direction and the schema of its params.", "methods": {"splice/didShowCompletion": {"direction": "clientToServer", "kind": "notification", "description": "The editor displayed a suggestion to the person.", "params": {"$ref": "#/$defs/DidShowCompletionParams"}}, "splice/didAcceptCompletion": {"direction": "clientToServer", "kind": "notification", "description": "The person accepted a suggestion; acceptedLength counts the characters kept for a partial (word or line) accept.", "params": {"$ref": "#/$defs/DidAcceptCompletionParams"}}, "splice/didRejectCompletion": {"direction": "clientToServer", "kind": "notification", "description": "The person dismissed a suggestion, or typed on past it.", "params": {"$ref": "#/$defs/DidRejectCompletionParams"}}, "splice/status": {"direction": "serverToClient", "kind": "notification", "description": "Where suggestions come from now: \'ready\' (configured engine), \'degraded\' (fallback engine), \'offline\' (none).", "params": {"$ref": "#/$defs/StatusParams"}}}, "$defs": {"CompletionId": {"type": "string", "minLength": 1, "maxLength": 128, "description": "The data.completionId of a suggestion item this server returned."}, "DidShowCompletionParams": {"type": "object", "required": ["completionId"], "properties": {"completionId": {"$ref": "#/$defs/CompletionId"}, "displayedAt": {"type": "number", "description": "Unix time in milliseconds."}}, "additionalProperties": false}, "DidAcceptCompletionParams": {"type": "object", "required": ["completionId"], "properties": {"completionId": {"$ref": "#/$defs/CompletionId"}, "acceptedLength": {"type": "integer", "minimum": 0, "description": "Characters accepted; absent means all."}}, "additionalProperties": false}, "DidRejectCompletionParams": {"type": "object", "required": ["completionId"], "properties": {"completionId": {"$ref": "#/$defs/CompletionId"}, "reason": {"type": "string", "enum": ["dismissed", "typedPast", "replaced"]}}, "additionalProperties": false}, "StatusParams": {"type": "object", "required": ["state"], "properties": {"state": {"type": "string", "enum": ["ready", "degraded", "offline"]}, "engine": {"type": "string"}, "message": {"type": "string"}}, "additionalProperties": false}}}'
)
