"""Assembles a :class:`FimPrompt` from the cursor's surroundings under one token budget.

Order of spending: the new tokens are reserved first, then the prefix window (about 60%), the suffix window
(10-15%), and whatever remains, including what the windows left unused, goes to snippets. Snippets that do
not fit whole are left out rather than cut mid-thought.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from splice.config import Settings
from splice.context.prompt import FimPrompt, Snippet
from splice.context.templates import template_for
from splice.context.tokens import TokenCounter
from splice.context.windows import prefix_window, suffix_window

_TEMPLATE_OVERHEAD = 24  # sentinels, path header, separators


@dataclass(frozen=True, kw_only=True)
class Cursor:
    """The document around the cursor, ``\\n`` line ends."""

    path: str
    language: str
    prefix: str
    suffix: str


class PromptBuilder:
    """Builds prompts for one configuration; cheap to keep, since the token counter caches make keystrokes cheap."""

    def __init__(self, settings: Settings, counter: TokenCounter) -> None:
        self.settings = settings
        self.counter = counter

    def build(self, cursor: Cursor, snippets: Iterable[Snippet] = (), *, repo: str = "") -> FimPrompt:
        """The prompt for ``cursor`` with as many of ``snippets`` (best first) as the budget allows."""
        return self.finish(self.draft(cursor), snippets, repo=repo)

    def draft(self, cursor: Cursor) -> Draft:
        """The windows: the part of the prompt that needs nothing from the snippet sources, laid out while
        their searches run (:mod:`splice.context.sources`)."""
        s = self.settings
        total = max(64, s.context_tokens - s.max_new_tokens - _TEMPLATE_OVERHEAD)
        prefix, prefix_used = prefix_window(cursor.prefix, int(total * s.prefix_share), self.counter)
        suffix, suffix_used = suffix_window(cursor.suffix, int(total * s.suffix_share), self.counter)
        return Draft(cursor=cursor, prefix=prefix, suffix=suffix, total=total,
                     remaining=total - prefix_used - suffix_used)

    def finish(self, draft: Draft, snippets: Iterable[Snippet] = (), *, repo: str = "") -> FimPrompt:
        """The prompt: ``snippets`` in the order given, each whole or not at all, as the budget allows."""
        s = self.settings
        prefix, suffix, remaining = draft.prefix, draft.suffix, draft.remaining
        sources: list[str] = ["prefix", "suffix"] if suffix.strip() else ["prefix"]
        chosen: list[Snippet] = []
        offered = list(snippets) if s.max_snippets > 0 else []
        # One batch for whatever is not counted yet (open documents' lines and retrieval's snippets are
        # counted ahead, on background threads).
        costs = self.counter.count_snippets(offered)
        for snippet, counted in zip(offered, costs, strict=True):
            if remaining <= 0 or len(chosen) >= s.max_snippets:
                break
            cost = counted + 4
            if cost <= remaining and not _overlaps_window(snippet, prefix, suffix):
                chosen.append(snippet)
                remaining -= cost
        # Stable order for KV-cache reuse: snippets sorted by where they come from, not by score, so a
        # small change in scores does not reorder the prompt's leading blocks.
        chosen.sort(key=lambda sn: (sn.source, sn.path, sn.start_line))
        for source in dict.fromkeys(sn.source for sn in chosen):
            sources.append(source)

        cursor = draft.cursor
        template = template_for(s.model_family)
        text = template.render(
            path=cursor.path, language=cursor.language, prefix=prefix, suffix=suffix,
            snippets=chosen, mode=s.fim_mode, repo=repo,
        )
        return FimPrompt(
            path=cursor.path, language=cursor.language, prefix=prefix, suffix=suffix,
            snippets=tuple(chosen), text=text, stop=template.stop,
            prompt_tokens=draft.total - remaining + _TEMPLATE_OVERHEAD, sources=tuple(sources),
        )


@dataclass(frozen=True, kw_only=True)
class Draft:
    """A prompt's windows, waiting for its snippets."""

    cursor: Cursor
    prefix: str
    suffix: str
    total: int
    remaining: int


def _overlaps_window(snippet: Snippet, prefix: str, suffix: str) -> bool:
    """Whether the snippet's text already sits in the prompt's windows (a duplicate wastes budget)."""
    body = snippet.text.strip()
    return bool(body) and (body in prefix or body in suffix)
