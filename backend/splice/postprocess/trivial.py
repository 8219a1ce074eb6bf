"""Dropping suggestions that would change nothing worth a keystroke.

After the other processors have cut and trimmed, what is left may be empty, only whitespace, exactly the
characters it overwrites, or a lone piece of punctuation (``)``, ``;``, ``,``) that the code after the
cursor already starts with. Showing any of these costs the user attention and buys nothing.
"""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, DropSuggestion, Suggestion


def drop_trivial(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Drop a suggestion that is blank, a no-op, or punctuation the suffix already has."""
    text = suggestion.text
    if not text.strip():
        raise DropSuggestion("blank")
    if text == context.suffix[: suggestion.replace_suffix]:
        raise DropSuggestion("overwrites the suffix with itself")
    content = text.strip()
    after = context.suffix[suggestion.replace_suffix :].lstrip(" \t")
    if not any(char.isalnum() or char == "_" for char in content) and after.startswith(content):
        raise DropSuggestion("punctuation the suffix already has")
    return suggestion
