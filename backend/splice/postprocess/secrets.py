"""The last check on a suggestion: it must not carry a secret, wherever the engine found it.

Workspace text is redacted before any engine learns from it, but a suggestion can still complete a secret
from the live document, or echo the redaction marker where a secret was. The suggestion is judged on the
line it would make (the text before the cursor on its line, the suggestion, and what stays after it), since
``password = "`` plus ``hunter2"`` is a secret that neither half shows on its own; it is dropped when a
secret the redactor finds overlaps the inserted text.
"""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, DropSuggestion, Suggestion
from splice.secrets import REDACTED, findings


def drop_secrets(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Drop a suggestion that inserts a secret or the redaction marker."""
    if REDACTED in suggestion.text:
        raise DropSuggestion("repeats a redacted secret")
    before = context.prefix[context.prefix.rfind("\n") + 1:]
    rest = context.suffix[suggestion.replace_suffix:]
    after = rest[:rest.find("\n")] if "\n" in rest else rest
    line = before + suggestion.text + after
    start, end = len(before), len(before) + len(suggestion.text)
    if any(found.start < end and found.end > start for found in findings(line)):
        raise DropSuggestion("holds a secret")
    return suggestion
