"""Document synchronisation notifications: open, change (full and incremental), save, close."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splice.server.connection import notification_handler
from splice.server.params import field

if TYPE_CHECKING:
    from splice.server.app import LanguageServer


@notification_handler
async def did_open(server: LanguageServer, params: dict[str, Any]) -> None:
    """Track a newly opened document."""
    uri = field(params, "textDocument", "uri", kind=str)
    server.documents.open(
        uri,
        field(params, "textDocument", "languageId", kind=str, optional=True) or "plaintext",
        field(params, "textDocument", "version", kind=int, optional=True) or 0,
        field(params, "textDocument", "text", kind=str),
    )
    server.document_updated(uri)


@notification_handler
async def did_change(server: LanguageServer, params: dict[str, Any]) -> None:
    """Apply full or incremental changes in order."""
    uri = field(params, "textDocument", "uri", kind=str)
    version = field(params, "textDocument", "version", kind=int, optional=True) or 0
    changes = field(params, "contentChanges", kind=list)
    server.documents.change(uri, version, changes, server.encoding)
    server.document_updated(uri)


@notification_handler
async def did_save(server: LanguageServer, params: dict[str, Any]) -> None:
    """Refresh what the engine knows of the saved file."""
    uri = field(params, "textDocument", "uri", kind=str)
    text = field(params, "text", kind=str, optional=True)
    if not server.documents.knows(uri):
        # Editors announce saves of files they never opened here (VS Code does when it writes its own
        # settings file): there is no live text to update, only the file on disk, which the index reads.
        server.file_saved(uri)
        return
    if text is not None:
        server.documents.change(uri, server.documents.get(uri).version, [{"text": text}], server.encoding)
    server.document_updated(uri, saved=True)


@notification_handler
async def did_close(server: LanguageServer, params: dict[str, Any]) -> None:
    """Forget the document; the engine falls back to what is on disk."""
    uri = field(params, "textDocument", "uri", kind=str)
    server.documents.close(uri)
    server.document_closed(uri)


@notification_handler
async def did_change_configuration(server: LanguageServer, params: dict[str, Any]) -> None:
    """Apply new settings; invalid ones are shown and the previous value stays."""
    server.configure(params.get("settings"), source="workspace/didChangeConfiguration")
