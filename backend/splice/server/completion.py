"""``textDocument/inlineCompletion`` (LSP 3.18) and ``textDocument/completion`` handlers.

Both read the document at the cursor, run the shared pipeline, and shape its proposals for the wire. A new
request for a document supersedes the one still running for it (the server cancels that one). Every item
carries ``data.completionId`` so the editor's show/accept/reject notifications can name it, and
``data.confidence`` with ``data.confidenceFeatures``: how likely the person is to keep it and what that
estimate was made from, so that a show threshold can be fitted on what editors (or the typing replay) saw.
``data.engine`` names the engine that proposed it, and ``data.fallback`` says why the configured engine did
not when another stood in: an editor can say so, and an evaluation can refuse to credit the wrong engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splice.server.connection import request_handler
from splice.server.feedback import accept_command
from splice.server.params import field, position

if TYPE_CHECKING:
    from splice.server.app import IssuedCompletion, LanguageServer

INVOKED = 1
# A piece of code, not a word of prose: editors sort and mark Text items as plain words from the buffer.
COMPLETION_KIND_SNIPPET = 15
PLAIN_TEXT = 1


@request_handler
async def inline_completion(server: LanguageServer, params: dict[str, Any]) -> dict[str, Any]:
    """Suggest the middle at the cursor as inline (ghost) text."""
    uri = field(params, "textDocument", "uri", kind=str)
    line, character = position(params, "position")
    trigger = field(params, "context", "triggerKind", kind=int, optional=True) or INVOKED
    selected = field(params, "context", "selectedCompletionInfo", kind=dict, optional=True)
    selection = None
    if selected is not None:
        selection = (position(selected, "range", "start"), field(selected, "text", kind=str))
    outcome = await server.complete(uri, line, character, invoked=trigger == INVOKED, selection=selection)
    items = [
        {
            "insertText": item.insert_text,
            "range": item.range,
            "data": item_data(item),
        }
        for item in outcome
    ]
    return {"items": items}


@request_handler
async def completion(server: LanguageServer, params: dict[str, Any]) -> dict[str, Any]:
    """Offer the suggestion as a completion item with a ``textEdit``, for editors without inline text."""
    uri = field(params, "textDocument", "uri", kind=str)
    line, character = position(params, "position")
    trigger = field(params, "context", "triggerKind", kind=int, optional=True) or INVOKED
    outcome = await server.complete(uri, line, character, invoked=trigger == INVOKED, selection=None, word_start=True)
    items = []
    for rank, item in enumerate(outcome):
        first_line = item.insert_text.strip().splitlines()[0] if item.insert_text.strip() else item.insert_text
        items.append(
            {
                "label": first_line[:80],
                "kind": COMPLETION_KIND_SNIPPET,
                "detail": "Splice",
                "documentation": {"kind": "markdown", "value": f"```\n{item.insert_text}\n```"},
                "insertTextFormat": PLAIN_TEXT,
                "filterText": item.insert_text,
                "sortText": f"{rank:04d}",
                "textEdit": {"range": item.range, "newText": item.insert_text},
                "data": item_data(item),
                "command": accept_command(item.completion_id),
            }
        )
    # Incomplete: the next keystroke changes the prefix, and with it the suggestion.
    return {"isIncomplete": True, "items": items}


def item_data(item: IssuedCompletion) -> dict[str, Any]:
    """An item's ``data``: its id for feedback, its confidence with the inputs it came from, and its engine."""
    data: dict[str, Any] = {
        "completionId": item.completion_id, "confidence": round(item.confidence, 4),
        "confidenceFeatures": {name: round(value, 4) for name, value in item.features.items()},
        "engine": item.engine,
    }
    if item.fallback:
        data["fallback"] = item.fallback
    return data
