"""Rejecting suggestions that break the syntax of the code around them.

The check compares, rather than judges: code being typed is usually broken already (an open string, a call
without its arguments), so a suggestion is rejected only when the region around the cursor has more
tree-sitter ERROR and MISSING nodes with it than without it. Finishing ``greet("he`` with ``llo")`` removes
errors and passes; a stray ``)`` adds one and is dropped. Only the :class:`~.syntax.Window` around the
cursor is parsed, and the tree without the suggestion is cached across candidates, so the check costs about
a millisecond. A suggestion that ends by opening a bracket (``if (ready) {``) is checked as if that bracket
were closed, since the code that closes it is still to be written. The insertion overwrites
``replace_suffix`` characters exactly as the editor will, so this check runs after
:func:`~.suffix_overlap.dedupe_suffix`. Languages without a grammar pass through.
"""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, DropSuggestion, Suggestion
from splice.postprocess.brackets import closers_for, unclosed_openers
from splice.postprocess.syntax import document_window, edited_tree, error_count, window_tree

WIDER_SCALE = 4


def reject_parse_errors(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Drop the suggestion if inserting it adds syntax errors to the region around the cursor."""
    added = _added_errors(suggestion, context, scale=1)
    if added is not None and added[1] > added[0] and added[0] > 0:
        # The window was already broken, perhaps because it cut through a construct; before rejecting,
        # look again with wider bounds, where the parser has more to recover from.
        added = _added_errors(suggestion, context, scale=WIDER_SCALE)
    if added is not None and added[1] > added[0]:
        raise DropSuggestion(f"adds syntax errors ({added[0]} -> {added[1]})")
    return suggestion


def _closers_to_come(text: str, language: str) -> str:
    """Closers for the brackets ``text`` leaves open when it ends by opening one (``if (ready) {``,
    ``items.append(``): the person goes on to write the body, so the missing closer is not a fault."""
    code = text.rstrip()
    if not code or code[-1] not in "([{":
        return ""
    return closers_for(unclosed_openers(text, language))


def _added_errors(suggestion: Suggestion, context: CompletionContext, scale: int) -> tuple[int, int] | None:
    """Error counts of the window without and with the suggestion; None where no grammar ships."""
    window = document_window(context.prefix, context.suffix, scale)
    baseline = window_tree(context.language, window.source())
    if baseline is None:
        return None
    # The candidate's tree comes from the same cache: the mid-line step may have parsed this very text.
    insertion = suggestion.text + _closers_to_come(suggestion.text, context.language)
    candidate = edited_tree(context.language, window, insertion, suggestion.replace_suffix)
    if candidate is None:
        return None
    return error_count(baseline.root_node), error_count(candidate.root_node)
