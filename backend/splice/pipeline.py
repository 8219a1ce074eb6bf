"""One completion, from document and cursor to suggestions: context, engine, post-processing.

The LSP handlers and ``splice complete`` both call :class:`CompletionPipeline`, so what a person sees on
the command line is exactly what an editor would show. Every stage is timed; the timings travel back with
the result for logs and ``--explain``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from splice.confidence import confidence, evidence, features, named
from splice.config import Settings
from splice.context.builder import Cursor, PromptBuilder
from splice.context.prompt import FimPrompt
from splice.context.sources import SnippetQuery, SnippetSource, collect
from splice.context.tokens import TokenCounter
from splice.documents import indent_unit, lf_line_ends
from splice.engines.base import Candidate, Engine, GenerationRequest
from splice.postprocess.base import CompletionContext, Processor, Suggestion, apply_chain
from splice.postprocess.chain import default_chain, prepare_chain
from splice.postprocess.mode import is_multiline_position
from splice.typeahead import Remembered, TypeaheadCache

_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# What may follow the cursor on its line for an automatic suggestion: closers and separators that the
# suggestion can complete or overwrite. Anything else means the person is editing inside a line.
_CLOSING_TAIL = frozenset(")]}>\"'`;:,. \t")
_PREPARED_DOCUMENTS = 8  # cursors prepared ahead, one per recently edited document


@dataclass(frozen=True, kw_only=True)
class _Prepared:
    """A request's prompt and post-processing context made before it arrived, for exactly this text."""

    path: str
    language: str
    repo: str
    prefix: str
    suffix: str
    prompt: asyncio.Future[FimPrompt]
    context: CompletionContext  # its ``stop`` comes with the prompt

    def serves(self, request: CompletionInput, prefix: str, suffix: str) -> bool:
        return (request.path == self.path and request.language == self.language and request.repo == self.repo
                and prefix == self.prefix and suffix == self.suffix)


@dataclass(frozen=True, kw_only=True)
class CompletionInput:
    """A request for suggestions at one cursor. ``prefix``/``suffix`` keep the document's own line ends."""

    path: str
    language: str
    prefix: str
    suffix: str
    eol: str = "\n"
    invoked: bool = False  # the person asked explicitly, rather than typing
    repo: str = ""
    document_path: str | None = None  # absolute path on disk, for engines that index the workspace
    key: str = ""  # the document's key among the open ones (its URI in the server); else its path

    @property
    def document(self) -> str:
        """What the pipeline's per-document memory is keyed by: ``key``, else the path on disk or shown."""
        return self.key or self.document_path or self.path

    def normalised(self) -> tuple[str, str]:
        """``prefix`` and ``suffix`` with ``\\n`` line ends, as every stage reads them."""
        return lf_line_ends(self.prefix), lf_line_ends(self.suffix)


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """A suggestion ready for the editor: text with the document's line ends, replacing
    ``replace_suffix`` characters (code points) after the cursor."""

    text: str
    replace_suffix: int
    score: float
    # How likely the person is to keep it (``splice.confidence``), and the inputs that said so, by name.
    confidence: float = 1.0
    features: dict[str, float] = field(default_factory=dict)


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
    candidates: tuple[str, ...] = ()  # what the engine proposed, before post-processing (for evaluation)


class CompletionPipeline:
    """Context → engine → processor chain for one configuration.

    ``sources`` are searched for every request that reaches the engine: each search starts before the
    windows are laid out and is awaited under the retrieval deadline, so a slow one costs its snippets,
    never the completion. Their order is the order their snippets claim the budget."""

    def __init__(self, settings: Settings, builder: PromptBuilder, engine: Engine,
                 chain: tuple[Processor, ...] | None = None, *, sources: Sequence[SnippetSource] = ()) -> None:
        self.settings = settings
        self.builder = builder
        self.engine = engine
        self.chain = chain if chain is not None else default_chain()
        self.sources = tuple(sources)
        self.typeahead = TypeaheadCache()
        self._prepared: OrderedDict[str, _Prepared] = OrderedDict()

    def prepare(self, request: CompletionInput) -> None:
        """Do now what a request at this cursor will need, so that it finds the work done.

        Editors send a change, wait for a pause in typing (50-150 ms), then ask for a suggestion where the
        change left the cursor. Nothing but the engine's answer depends on more than the text and the
        cursor, so the prompt (the sources' searches, the windows, the snippets' budget), the multi-line
        decision and the syntax window the chain compares candidates against are all made in that pause.
        A request uses them only if its document is still exactly this text (the other open documents'
        snippets are as they were at the change); any other request builds its own."""
        prefix, suffix = request.normalised()
        key = request.document
        self._prepared.pop(key, None)
        if _skip_reason(prefix, suffix) is not None or self.typeahead.lookup(key, prefix, suffix) is not None:
            return  # that request will not reach the engine
        context = self._context(prefix, suffix, request.language, ())
        prepare_chain(context)
        prompt = asyncio.ensure_future(self._prompt(request, key, prefix, suffix))
        # One nobody awaits in the end must not log an unretrieved exception.
        prompt.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._prepared[key] = _Prepared(path=request.path, language=request.language, repo=request.repo,
                                        prefix=prefix, suffix=suffix, prompt=prompt, context=context)
        while len(self._prepared) > _PREPARED_DOCUMENTS:
            self._prepared.popitem(last=False)[1].prompt.cancel()

    def forget(self, document: str) -> None:
        """Drop what is kept for a closed document: the suggestions it could be typed through and its
        prepared cursor."""
        self.typeahead.forget(document)
        prepared = self._prepared.pop(document, None)
        if prepared is not None:
            prepared.prompt.cancel()

    async def complete(self, request: CompletionInput) -> CompletionResult:
        """Suggestions for ``request``; raises ``EngineError`` if the engine fails."""
        started = time.perf_counter()
        prefix, suffix = request.normalised()
        result = CompletionResult(engine=self.engine.name)
        skipped = None if request.invoked else _skip_reason(prefix, suffix)
        if skipped is not None:
            result.skipped = skipped
            return result
        key = request.document
        # Asked for explicitly, the person wants the engine's answer now, not a remembered one.
        if not request.invoked and self._typed_ahead(result, key, prefix, suffix, request, started):
            return result
        prepared = self._prepared.pop(key, None)
        if prepared is not None and prepared.serves(request, prefix, suffix):
            # The very strings the chain's window caches saw when the cursor was prepared.
            prefix, suffix = prepared.prefix, prepared.suffix
            prompt = await prepared.prompt
            context = dataclasses.replace(prepared.context, stop=prompt.stop)
        else:
            if prepared is not None:
                prepared.prompt.cancel()
            prompt = await self._prompt(request, key, prefix, suffix)
            context = self._context(prefix, suffix, request.language, prompt.stop)
        multiline = context.multiline
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
        result.candidates = tuple(candidate.text for candidate in candidates)
        result.engine, result.fallback = self.engine.answered_by()
        if candidates and candidates[0].origin:
            result.engine, result.fallback = candidates[0].origin, candidates[0].fallback

        remembered = self._post_process(result, candidates, context, request)
        self.typeahead.remember(key, prefix, suffix, remembered, engine=result.engine, sources=result.sources,
                                multiline=multiline, fallback=result.fallback)
        done = time.perf_counter()
        result.timings_ms = {
            "context": round((built - started) * 1000, 3),
            "engine": round((generated - built) * 1000, 3),
            "postprocess": round((done - generated) * 1000, 3),
            "total": round((done - started) * 1000, 3),
        }
        return result

    def _typed_ahead(self, result: CompletionResult, key: str, prefix: str, suffix: str, request: CompletionInput,
                     started: float) -> bool:
        """Fill ``result`` from the rest of the previous suggestion when the person is typing it."""
        remainder = self.typeahead.lookup(key, prefix, suffix)
        if remainder is None:
            return False
        eol, language = request.eol, request.language
        result.engine, result.sources, result.multiline = remainder.engine, remainder.sources, remainder.multiline
        result.fallback = remainder.fallback
        result.typed_ahead = True
        # The rest of a suggestion the person is typing through stays on screen whatever its confidence:
        # they have read it already, and hiding it mid-word would make it flicker.
        for text, replace, score, found in remainder.proposals[:1]:
            values = features(found, text, replace, prefix, suffix, language, typeahead=True)
            result.proposals.append(Proposal(text=_with_eol(text, eol), replace_suffix=replace, score=score,
                                             confidence=confidence(values), features=named(values)))
        # The same stages as every answer (dashboards compare them), those that did not run at zero.
        result.timings_ms = {"context": 0.0, "engine": 0.0, "postprocess": 0.0,
                             "total": round((time.perf_counter() - started) * 1000, 3)}
        return True

    @staticmethod
    def _context(prefix: str, suffix: str, language: str, stop: tuple[str, ...]) -> CompletionContext:
        return CompletionContext(prefix=prefix, suffix=suffix, language=language,
                                 multiline=is_multiline_position(prefix, suffix, language),
                                 indent_unit=indent_unit(prefix[-2500:] + suffix[:1500]), stop=stop)

    async def _prompt(self, request: CompletionInput, key: str, prefix: str, suffix: str) -> FimPrompt:
        """The prompt: the sources search while the windows are laid out, then fill what budget is left."""
        query = SnippetQuery(key=key, path=request.path, text=prefix + suffix, offset=len(prefix),
                             limit=self.settings.max_snippets)
        searches = [source.search(query) for source in self.sources] if query.limit > 0 else []
        draft = self.builder.draft(Cursor(path=request.path, language=request.language, prefix=prefix, suffix=suffix))
        snippets = await collect(searches, self.settings.retrieval_deadline_ms / 1000)
        return self.builder.finish(draft, snippets, repo=request.repo)

    def _post_process(self, result: CompletionResult, candidates: Sequence[Candidate], context: CompletionContext,
                      request: CompletionInput) -> list[Remembered]:
        """Run each candidate through the chain into ``result.proposals``; what the typeahead remembers.

        An automatic suggestion under ``min_confidence`` is not shown, and nothing after it is: the next
        candidate is what the engine ranked below it, so showing that instead would show something less
        likely still. An explicit request shows whatever survives the chain: the person asked for a
        suggestion and reads it anyway."""
        seen: set[str] = set()
        remembered: list[Remembered] = []
        limit = 3 if request.invoked else 1
        threshold = self.settings.min_mean_logprob
        floor = 0.0 if request.invoked else self.settings.min_confidence
        for index, candidate in enumerate(candidates):
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
            found = evidence(candidates, index)
            values = features(found, suggestion.text, suggestion.replace_suffix, context.prefix, context.suffix,
                              request.language, typeahead=False)
            likely = confidence(values)
            if likely < floor:
                result.dropped.append(f"confidence {likely:.2f} below minConfidence {floor:.2f}")
                break
            result.proposals.append(Proposal(text=_with_eol(suggestion.text, request.eol),
                                             replace_suffix=suggestion.replace_suffix, score=candidate.score,
                                             confidence=likely, features=named(values)))
            remembered.append((suggestion.text, suggestion.replace_suffix, candidate.score, found))
            if len(result.proposals) >= limit:
                break
        return remembered


def _skip_reason(prefix: str, suffix: str) -> str | None:
    """Why an automatic request is not worth the engine's time here, or None."""
    if suffix[:1] in _WORD_CHARS and prefix[-1:] in _WORD_CHARS:
        return "cursor inside a word"
    line_end = suffix.find("\n")
    if not set(suffix[: line_end if line_end >= 0 else len(suffix)]) <= _CLOSING_TAIL:
        return "code after the cursor on its line"
    return None


def _with_eol(text: str, eol: str) -> str:
    return text if eol == "\n" else text.replace("\n", eol)


def build_pipeline(settings: Settings, engine: Engine, counter: TokenCounter, *,
                   sources: Sequence[SnippetSource] = (), chain: tuple[Processor, ...] | None = None,
                   ) -> CompletionPipeline:
    """The pipeline every entry point runs (the server, ``splice complete``, replay, the evaluation): the
    same prompt builder and chain for ``settings``, with the snippet sources the caller has, in the order
    their snippets claim the budget (repository, tenant artifact, open documents)."""
    return CompletionPipeline(settings, PromptBuilder(settings, counter), engine, chain, sources=sources)
