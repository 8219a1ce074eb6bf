"""The default processor chain, in the order that makes each step's input what it expects.

1. :func:`strip_special_tokens` first: everything after a leaked end token is noise that no later step
   should reason about.
2. :func:`single_line` next, so single-line positions skip the multi-line steps' work.
3. :func:`remove_repetition` before anything measures blocks: a runaway line would otherwise pass as a
   well-indented body.
4. :func:`fix_indentation` before scope truncation, which reads depth from indentation: a body written with
   two-space steps into a four-space file would otherwise look as if it left the block at once.
5. :func:`truncate_to_scope` cuts what leaves the cursor's block.
6. :func:`dedupe_suffix` then trims what repeats the code below and sets ``replace_suffix``.
7. :func:`drop_trivial` discards what little may be left.
8. :func:`fit_mid_line` after the overwrite range is known: only the code still after the insertion can be
   glued to it or stranded behind it.
9. :func:`reject_parse_errors` next, being the only step that parses: it sees the text and overwrite range
   the editor will apply (a suggestion retyping an auto-closed ``")`` parses only once it overwrites it),
   and runs only for suggestions that survived the cheap checks.
10. :func:`drop_secrets` after everything that changes the text, so what it clears is exactly what the editor
    receives: no suggestion may carry a secret, whichever engine proposed it.
"""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, Processor
from splice.postprocess.mid_line import fit_mid_line
from splice.postprocess.parse_check import reject_parse_errors
from splice.postprocess.reindent import fix_indentation
from splice.postprocess.repetition import remove_repetition
from splice.postprocess.scope import truncate_to_scope
from splice.postprocess.secrets import drop_secrets
from splice.postprocess.single_line import single_line
from splice.postprocess.special_tokens import strip_special_tokens
from splice.postprocess.suffix_overlap import dedupe_suffix
from splice.postprocess.syntax import document_window, window_tree
from splice.postprocess.trivial import drop_trivial


def default_chain() -> tuple[Processor, ...]:
    """The processors every suggestion goes through, in order."""
    return (
        strip_special_tokens,
        single_line,
        remove_repetition,
        fix_indentation,
        truncate_to_scope,
        dedupe_suffix,
        drop_trivial,
        fit_mid_line,
        reject_parse_errors,
        drop_secrets,
    )


def prepare_chain(context: CompletionContext) -> None:
    """Parse ahead what the chain parses for every candidate at this cursor: the syntax window as it is,
    which scope truncation and the parse check compare each candidate against (:func:`~.syntax.window_tree`
    remembers it). The tree of a window costs about a millisecond, the largest part of post-processing."""
    window_tree(context.language, document_window(context.prefix, context.suffix).source())
