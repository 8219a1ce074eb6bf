"""``initialize``, ``initialized``, ``shutdown`` and ``exit``: negotiation, the capabilities reply, and the end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splice import __version__
from splice.server.connection import notification_handler, request_handler
from splice.server.params import field

if TYPE_CHECKING:
    from splice.server.app import LanguageServer


def negotiate_encoding(params: dict[str, Any]) -> str:
    """UTF-8 when the client offers it (no conversion needed), otherwise the mandatory UTF-16."""
    offered = field(params, "capabilities", "general", "positionEncodings", kind=list, optional=True) or []
    return "utf-8" if "utf-8" in offered else "utf-16"


@request_handler
async def initialize(server: LanguageServer, params: dict[str, Any]) -> dict[str, Any]:
    """Negotiate encodings, read initialization options, and start the engine."""
    encoding = negotiate_encoding(params)
    await server.initialize(params, encoding)
    # The capabilities come from the connection's feature set: what is advertised is what is served.
    assert server.connection is not None  # a request arrives only through a connection
    capabilities = server.connection.features.capabilities(encoding)
    return {"capabilities": capabilities, "serverInfo": {"name": "splice", "version": __version__}}


@notification_handler
async def initialized(server: LanguageServer, params: dict[str, Any]) -> None:
    """Flush messages queued while initializing (configuration problems, for instance)."""
    server.on_initialized()


@request_handler
async def shutdown(server: LanguageServer, params: dict[str, Any]) -> None:
    """Stop accepting requests; ``exit`` follows."""
    await server.shutdown()


@notification_handler
async def exit_(server: LanguageServer, params: dict[str, Any]) -> None:
    """Leave with 0 after ``shutdown``, 1 otherwise, as the specification says."""
    server.exit()
