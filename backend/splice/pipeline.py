"""One completion, from document and cursor to suggestions: context, engine, post-processing.

The LSP handlers and ``splice complete`` both call :class:`CompletionPipeline`, so what a person sees on
the command line is exactly what an editor would show. Every stage is timed; the timings travel back with
the result for logs and ``--explain``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field

from splice.config import Settings
from splice.context.builder import Cursor, PromptBuilder
from splice.context.prompt import Snippet
from splice.context.snippets import SourceDocument
from splice.documents import indent_unit
from splice.engines.base import Engine, GenerationRequest
from splice.engines.fallback import FallbackEngine
from splice.postprocess.base import CompletionContext, Processor, Suggestion, apply_chain
from splice.postprocess.chain import default_chain
from splice.postprocess.mode import is_multiline_position
from splice.typeahead import TypeaheadCache

_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# What may follow the cursor on its line for an automatic suggestion: closers and separators that the
# suggestion can complete or overwrite. Anything else means the person is editing inside a line.
_CLOSING_TAIL = frozenset(")]}>\"'`;:,. \t")


@dataclass(frozen=True, kw_only=True)
class CompletionInput:
    """A request for suggestions at one cursor. ``prefix``/``suffix`` keep the document's own line ends."""

    path: str
    language: str
    prefix: str
    suffix: str
    eol: str = "\n"
    invoked: bool = False  # the person asked explicitly, rather than typing
    others: tuple[SourceDocument, ...] = ()
    extra_snippets: tuple[Snippet, ...] = ()
    repo: str = ""
    document_path: str | None = None  # absolute path on disk, for engines that index the workspace
    # Snippets still being searched for (repository retrieval on a worker thread), awaited once the rest of
    # the prompt is ready.
    pending_snippets: Awaitable[tuple[Snippet, ...]] | None = None


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """A suggestion ready for the editor: text with the document's line ends, replacing
    ``replace_suffix`` characters (code points) after the cursor."""

    text: str
    replace_suffix: int
    score: float


@dataclass(kw_only=True)
class CompletionResult:
    """Suggestions, best first, and how they were made."""

    proposals: list[Proposal] = field(default_factory=list)
    engine: str = ""  # a short name; one row per engine in reports
    fallback: str = ""  # why the preferred engine did not answer, when ``engine`` stood in for it
    prompt_tokens: int = 0
    sources: tuple[str, ...] = ()
    multiline: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    skipped: str | None = None
    typed_ahead: bool = False  # served from the rest of the previous suggestion


class CompletionPipeline:
    """Context → engine → processor chain for one configuration."""

    def __init__(self, settings: Settings, builder: PromptBuilder, engine: Engine,
                 chain: tuple[Processor, ...] | None = None) -> None:
        self.settings = settings
        self.builder = builder
        self.engine = engine
        self.chain = chain if chain is not None else default_chain()
        self.typeahead = TypeaheadCache()

    async def complete(self, request: CompletionInput) -> CompletionResult:
        """Suggestions for ``request``; raises ``EngineError`` if the engine fails."""
        try:
            return await self._complete(request)
        finally:
            # A search the request did not wait for (skipped, typed ahead, failed) is closed here once.
            _discard(request.pending_snippets)

    async def _complete(self, request: CompletionInput) -> CompletionResult:
        result = CompletionResult(engine=self.engine.name)
        started = time.perf_counter()
        prefix = request.prefix.replace("\r\n", "\n")
        suffix = request.suffix.replace("\r\n", "\n")
        if not request.invoked:
            if suffix[:1] in _WORD_CHARS and prefix[-1:] in _WORD_CHARS:
                result.skipped = "cursor inside a word"
                return result
            line_end = suffix.find("\n")
            if not set(suffix[: line_end if line_end >= 0 else len(suffix)]) <= _CLOSING_TAIL:
                result.skipped = "code after the cursor on its line"
                return result
        key = request.document_path or request.path
        # Asked for explicitly, the person wants the engine's answer now, not a remembered one.
        remainder = None if request.invoked else self.typeahead.lookup(key, prefix, suffix)
        if remainder is not None:
            # The person is typing what the last suggestion proposed: the rest of it still stands.
            result.engine, result.sources, result.multiline = remainder.engine, remainder.sources, remainder.multiline
            result.typed_ahead = True
            for text, replace, score in remainder.proposals[: 3 if request.invoked else 1]:
                result.proposals.append(
                    Proposal(text=_with_eol(text, request.eol), replace_suffix=replace, score=score)
                )
            # The same stages as every answer (dashboards compare them), those that did not run at zero.
            result.timings_ms = {"context": 0.0, "engine": 0.0, "postprocess": 0.0,
                                 "total": round((time.perf_counter() - started) * 1000, 3)}
            return result
        multiline = is_multiline_position(prefix, suffix, request.language)
        cursor = Cursor(path=request.path, language=request.language, prefix=prefix, suffix=suffix)
        draft = self.builder.draft(cursor, request.others)
        extra = request.extra_snippets
        if request.pending_snippets is not None:
            # A repository search started before this call ran beside the work above.
            extra = (*extra, *await request.pending_snippets)
        prompt = self.builder.finish(draft, extra, repo=request.repo)
        result.multiline, result.prompt_tokens, result.sources = multiline, prompt.prompt_tokens, prompt.sources
        built = time.perf_counter()

        generation = GenerationRequest(
            prompt=prompt, document_prefix=prefix, document_suffix=suffix, multiline=multiline,
            max_new_tokens=self.settings.max_new_tokens, num_candidates=self.settings.num_candidates,
            tenant=self.settings.tenant or None, want_logprobs=self.settings.min_mean_logprob < 0,
            document_path=request.document_path,
        )
        candidates = await self.engine.generate(generation)
        generated = time.perf_counter()
        if isinstance(self.engine, FallbackEngine):
            result.engine = candidates[0].origin if candidates else self.engine.last_origin
            result.fallback = candidates[0].fallback if candidates else self.engine.last_fallback

        context = CompletionContext(
            prefix=prefix, suffix=suffix, language=request.language, multiline=multiline,
            indent_unit=indent_unit(prefix[-2500:] + suffix[:1500]), stop=prompt.stop,
        )
        seen: set[str] = set()
        remembered: list[tuple[str, int, float]] = []
        limit = 3 if request.invoked else 1
        threshold = self.settings.min_mean_logprob
        for candidate in candidates:
            if threshold < 0 and candidate.mean_logprob is not None and candidate.mean_logprob < threshold:
                result.dropped.append(f"low confidence: mean log-probability {candidate.mean_logprob:.2f}")
                continue
            suggestion, reason = apply_chain(self.chain, Suggestion(candidate.text), context)
            if suggestion is None:
                result.dropped.append(reason or "dropped")
                continue
            if suggestion.text in seen:
                continue
            seen.add(suggestion.text)
            result.proposals.append(Proposal(text=_with_eol(suggestion.text, request.eol),
                                             replace_suffix=suggestion.replace_suffix, score=candidate.score))
            remembered.append((suggestion.text, suggestion.replace_suffix, candidate.score))
            if len(result.proposals) >= limit:
                break
        self.typeahead.remember(key, prefix, suffix, remembered, engine=result.engine, sources=result.sources,
                                multiline=multiline)
        done = time.perf_counter()
        result.timings_ms = {
            "context": round((built - started) * 1000, 3),
            "engine": round((generated - built) * 1000, 3),
            "postprocess": round((done - generated) * 1000, 3),
            "total": round((done - started) * 1000, 3),
        }
        return result


def _discard(pending: Awaitable[object] | None) -> None:
    """Close a search nobody waited for (a coroutine never awaited warns when collected); closing one that
    already ran does nothing."""
    close = getattr(pending, "close", None)
    if callable(close):
        close()


def _with_eol(text: str, eol: str) -> str:
    return text if eol == "\n" else text.replace("\n", eol)


def source_documents(items: Iterable[tuple[str, str, int, str]]) -> tuple[SourceDocument, ...]:
    """Snippet sources from ``(key, path, version, text)`` tuples."""
    return tuple(SourceDocument(key=k, path=p, version=v, text=t) for k, p, v, t in items)
