"""Rejecting suggestions that break the syntax of the code around them.

The check compares, rather than judges: code being typed is usually broken already (an open string, a call
without its arguments), so a suggestion is rejected only when the region around the cursor has more
tree-sitter ERROR and MISSING nodes with it than without it. Finishing ``print("he`` with ``llo")`` removes
errors and passes; a stray ``)`` adds one and is dropped. Only the :class:`~.syntax.Window` around the
cursor is parsed, and the tree without the suggestion is cached across candidates, so the check costs about
a millisecond. The insertion overwrites ``replace_suffix`` characters exactly as the editor will, so this
check runs after :func:`~.suffix_overlap.dedupe_suffix`. Languages without a grammar pass through.
"""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, DropSuggestion, Suggestion
from splice.postprocess.syntax import document_window, error_count, parse, window_tree


def reject_parse_errors(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Drop the suggestion if inserting it adds syntax errors to the region around the cursor."""
    window = document_window(context.prefix, context.suffix)
    baseline = window_tree(context.language, window.source())
    if baseline is None:
        return suggestion
    inserted = window.source(suggestion.text, suggestion.replace_suffix)
    # The candidate's own tree is not cached: it is parsed once and never asked for again.
    candidate = parse(context.language, inserted)
    if candidate is None:
        return suggestion
    before = error_count(baseline.root_node)
    after = error_count(candidate.root_node)
    if after > before:
        raise DropSuggestion(f"adds syntax errors ({before} -> {after})")
    return suggestion
