"""The signature every processor shares, the value it transforms, and the sentinel that drops it.

A processor is a plain callable ``(Suggestion, CompletionContext) -> Suggestion``; it raises
:class:`DropSuggestion` to discard the suggestion (as structlog processors raise ``DropEvent``). The chain
is an ordered tuple of them, applied by :func:`apply_chain`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True, kw_only=True)
class CompletionContext:
    """What processors may look at. Text uses ``\\n`` line ends; ``prefix``/``suffix`` are the whole
    document before and after the cursor."""

    prefix: str
    suffix: str
    language: str
    multiline: bool
    indent_unit: str = "    "
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """The text to insert at the cursor. ``replace_suffix`` is how many characters of the suffix, all on
    the cursor's line, the insertion overwrites (the editor's ``range`` end)."""

    text: str
    replace_suffix: int = 0

    def with_text(self, text: str) -> Suggestion:
        return replace(self, text=text)


class DropSuggestion(Exception):
    """Raised by a processor to discard the suggestion; ``reason`` goes to the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Processor = Callable[[Suggestion, CompletionContext], Suggestion]


def apply_chain(
    chain: Sequence[Processor], suggestion: Suggestion, context: CompletionContext
) -> tuple[Suggestion | None, str | None]:
    """Run ``suggestion`` through ``chain``; returns the result, or None with the reason it was dropped."""
    for processor in chain:
        try:
            suggestion = processor(suggestion, context)
        except DropSuggestion as drop:
            return None, f"{getattr(processor, '__name__', type(processor).__name__)}: {drop.reason}"
    return suggestion, None
