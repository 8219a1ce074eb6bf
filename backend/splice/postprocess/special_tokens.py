"""Cutting a suggestion at leaked special tokens and configured stop strings.

When a model's end or FIM sentinel tokens come back decoded as text, everything after the first one is
unrelated output (a new file, the prompt's suffix replayed), so the suggestion is cut there rather than
the token alone being removed. The engine's stop strings (``context.stop``) are honoured the same way, in
case an engine did not stop on them itself. A token the document already contains literally is code (a
tokenizer's source, say) and is left alone.
"""

from __future__ import annotations

import re

from splice.context.templates import all_special_tokens
from splice.postprocess.base import CompletionContext, Suggestion

# Every sentinel and end token of every family Splice has a template for, spelled out, so a family's end
# token (CodeLlama's ``</s>``, CodeGemma's ``<eos>``) is cut even when the configured family is another.
# Besides them: anything shaped <|...|>, or the same between DeepSeek's full-width bars (U+FF5C), is a
# special token in every family that uses the shape, and StarCoder's training-data markers, which its FIM
# template never uses but the model emits. Other bare-angle shapes (<s>, <pre>) are ordinary markup.
_STARCODER_MARKERS = (
    "gh_stars", "filename", "reponame", "issue_start", "issue_comment", "issue_closed", "jupyter_start",
    "jupyter_text", "jupyter_code", "jupyter_output", "empty_output", "commit_before", "commit_msg",
    "commit_after", "fim_pad", "end_of_turn", "start_of_turn",
)
_SPECIAL_TOKEN = re.compile("|".join([
    r"<\|[^|<>\s]{1,48}\|>",
    "<\uff5c[^\uff5c<>\\s]{1,48}\uff5c>",
    *(re.escape(token) for token in sorted(all_special_tokens(), key=lambda t: (-len(t), t))),
    *(f"<{marker}>" for marker in _STARCODER_MARKERS),
]))


def strip_special_tokens(suggestion: Suggestion, context: CompletionContext) -> Suggestion:
    """Cut the suggestion at its first special token or stop string."""
    text = suggestion.text
    cut = len(text)
    for match in _SPECIAL_TOKEN.finditer(text):
        token = match.group()
        if token in context.prefix or token in context.suffix:
            continue
        cut = match.start()
        break
    for stop in context.stop:
        index = text.find(stop) if stop else -1
        if 0 <= index < cut:
            cut = index
    if cut == len(text):
        return suggestion
    return suggestion.with_text(text[:cut])
