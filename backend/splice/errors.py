"""Splice's one exception tree; each class carries the JSON-RPC error code it becomes on the wire.

    SpliceError                      -32603 InternalError
    ├── ProtocolError                -32600 InvalidRequest   (framing, malformed JSON-RPC)
    │   └── ParseError               -32700 ParseError       (body is not JSON)
    ├── InvalidParamsError           -32602 InvalidParams    (params fail validation)
    │   ├── UnknownDocumentError                             (URI never opened)
    │   ├── PositionOutOfRangeError                          (line/character past the document)
    │   └── DocumentRejectedError                            (over the size limit, binary content)
    │       └── DocumentStillRejectedError                   (a later message about a refused document)
    ├── ServerNotInitializedError    -32002
    ├── RequestCancelledError        -32800 RequestCancelled
    ├── EngineError                  -32603                  (an engine failed; callers may fall back)
    │   ├── EngineUnavailableError                           (cannot reach or not ready)
    │   └── EngineTimeoutError                               (deadline passed)
    └── RetrievalError               -32603                  (the repository index or an artifact)
        ├── IndexUnreadableError                             (missing, damaged or of another schema)
        ├── ArtifactError                                    (missing, corrupt, or not the tenant's)
        └── SourceError                                      (a repository to index is missing or unreadable)

Request failures become error responses through :func:`error_payload`; failures inside notifications are
logged, and shown to the person where they should know. The connection answers some messages before any
handler runs (an unreadable frame, an unknown method, a request before ``initialize``); the codes it
uses are the constants below, so every JSON-RPC code Splice sends is defined in this module.
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002


class SpliceError(Exception):
    """Base of every error Splice raises on purpose."""

    code: int = -32603

    def __init__(self, message: str, *, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class ProtocolError(SpliceError):
    code = -32600


class ParseError(ProtocolError):
    code = -32700


class InvalidParamsError(SpliceError):
    code = -32602


class UnknownDocumentError(InvalidParamsError):
    pass


class PositionOutOfRangeError(InvalidParamsError):
    pass


class DocumentRejectedError(InvalidParamsError):
    pass


class DocumentStillRejectedError(DocumentRejectedError):
    """A change, save or request for a document already refused: the person was told when it was."""


class ServerNotInitializedError(SpliceError):
    code = -32002


class RequestCancelledError(SpliceError):
    code = -32800


class EngineError(SpliceError):
    pass


class EngineUnavailableError(EngineError):
    pass


class EngineTimeoutError(EngineError):
    pass


class RetrievalError(SpliceError):
    pass


class IndexUnreadableError(RetrievalError):
    pass


class ArtifactError(RetrievalError):
    pass


class SourceError(RetrievalError):
    pass


def error_payload(exc: SpliceError) -> dict[str, Any]:
    """The JSON-RPC ``error`` member for ``exc``."""
    payload: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.data is not None:
        payload["data"] = exc.data
    return payload
