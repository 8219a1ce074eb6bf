"""Building completion contexts and running one processor, shared by the processor tests."""

from __future__ import annotations

from splice.postprocess.base import CompletionContext, DropSuggestion, Processor, Suggestion


def context(
    prefix: str,
    suffix: str = "\n",
    language: str = "python",
    *,
    multiline: bool = False,
    indent_unit: str = "    ",
    stop: tuple[str, ...] = (),
) -> CompletionContext:
    return CompletionContext(
        prefix=prefix, suffix=suffix, language=language, multiline=multiline, indent_unit=indent_unit,
        stop=stop,
    )


def run(
    processor: Processor, text: str, ctx: CompletionContext, replace_suffix: int = 0
) -> Suggestion | None:
    """The processor's output, or None when it drops the suggestion."""
    try:
        return processor(Suggestion(text, replace_suffix), ctx)
    except DropSuggestion:
        return None


def text_of(processor: Processor, text: str, ctx: CompletionContext) -> str | None:
    result = run(processor, text, ctx)
    return None if result is None else result.text
