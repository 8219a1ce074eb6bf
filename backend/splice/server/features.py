"""Every method Splice serves, declared once: its handler, how it runs, and what it advertises.

The dispatch table, the set of requests that run as cancellable tasks, and the capabilities in the
``initialize`` reply are all derived from :data:`FEATURES` (as pygls registers each feature once), so a
method cannot be served without being advertised, or advertised without being served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from splice import __version__
from splice.server import completion, feedback, lifecycle, textsync
from splice.server.connection import Handler

TEXT_DOCUMENT_SYNC_INCREMENTAL = 2
# Sent by the server, so no handler declares it; listed among Splice's own methods for clients.
SERVER_NOTIFICATIONS = ("splice/status",)


@dataclass(frozen=True, kw_only=True)
class Feature:
    """One method: its handler; ``concurrent`` requests run as cancellable tasks in a map by id (they may
    take long) instead of in arrival order; ``capability`` is merged into the server's capabilities."""

    method: str
    handler: Handler
    concurrent: bool = False
    capability: Mapping[str, Any] | None = None


class Features:
    """A set of :class:`Feature` and everything derived from it."""

    def __init__(self, features: tuple[Feature, ...]) -> None:
        self.all = features
        self.methods: dict[str, Handler] = {f.method: f.handler for f in features}
        self.concurrent = frozenset(f.method for f in features if f.concurrent)

    def capabilities(self, encoding: str) -> dict[str, Any]:
        """What Splice offers, in LSP 3.18 terms, with the negotiated position encoding."""
        merged: dict[str, Any] = {"positionEncoding": encoding}
        for feature in self.all:
            if feature.capability is not None:
                _merge(merged, feature.capability)
        own = sorted(m for m in self.methods if m.startswith("splice/"))
        merged["experimental"] = {"splice": {"version": __version__,
                                             "notifications": [*own, *SERVER_NOTIFICATIONS]}}
        return merged


def _merge(into: dict[str, Any], fragment: Mapping[str, Any]) -> None:
    for key, value in fragment.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


FEATURES = Features((
    Feature(method="initialize", handler=lifecycle.initialize,
            capability={"workspace": {"workspaceFolders": {"supported": True, "changeNotifications": False}}}),
    Feature(method="initialized", handler=lifecycle.initialized),
    Feature(method="shutdown", handler=lifecycle.shutdown),
    Feature(method="exit", handler=lifecycle.exit_),
    Feature(method="textDocument/didOpen", handler=textsync.did_open,
            capability={"textDocumentSync": {"openClose": True}}),
    Feature(method="textDocument/didChange", handler=textsync.did_change,
            capability={"textDocumentSync": {"change": TEXT_DOCUMENT_SYNC_INCREMENTAL}}),
    Feature(method="textDocument/didSave", handler=textsync.did_save,
            capability={"textDocumentSync": {"save": {"includeText": False}}}),
    Feature(method="textDocument/didClose", handler=textsync.did_close),
    Feature(method="workspace/didChangeConfiguration", handler=textsync.did_change_configuration),
    Feature(method="textDocument/inlineCompletion", handler=completion.inline_completion, concurrent=True,
            capability={"inlineCompletionProvider": {"workDoneProgress": False}}),
    # No space among the triggers: a request after every word is nearly always unwanted.
    Feature(method="textDocument/completion", handler=completion.completion, concurrent=True,
            capability={"completionProvider": {"resolveProvider": False, "triggerCharacters": [".", "("]}}),
    Feature(method="splice/didShowCompletion", handler=feedback.did_show_completion),
    Feature(method="splice/didAcceptCompletion", handler=feedback.did_accept_completion),
    Feature(method="splice/didRejectCompletion", handler=feedback.did_reject_completion),
    # Completion-menu editors (Neovim, Emacs, Helix) report an accept by running the item's command.
    Feature(method="workspace/executeCommand", handler=feedback.execute_command,
            capability={"executeCommandProvider": {"commands": [feedback.ACCEPT_COMMAND]}}),
))
