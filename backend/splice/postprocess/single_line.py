"""Keeping a suggestion to the cursor's line where the position calls for a single line.

Outside an empty block (see :mod:`.mode`) the engine is asked for one line, but models often run on. The
text after the first newline is cut. When nothing but whitespace precedes that newline, the model wanted to
leave the cursor's line as it is and write on the next one; that cannot be shown as a one-line suggestion,
so the suggestion is dropped rather than moved to a line it was not written for.
"""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, DropSuggestion, Suggestion


def single_line(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Cut the suggestion at its first newline unless the position allows several lines."""
    if context.multiline:
        return suggestion
    newline = suggestion.text.find("\n")
    if newline < 0:
        return suggestion
    kept = suggestion.text[:newline].rstrip()
    if not kept:
        raise DropSuggestion("nothing on the cursor's line")
    return suggestion.with_text(kept)
