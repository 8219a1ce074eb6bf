"""Counting prompt tokens with a real tokenizer.

Splice ships a byte-level BPE code tokenizer (``splice/data/tokenizer.json``, rebuilt by
``scripts/train-tokenizer``); a deployment may point at its model's own ``tokenizer.json`` instead. Lines are
counted one at a time and cached by their text, because windows are cut on line boundaries and the same
lines recur from one keystroke to the next.

Counting is the largest share of a prompt's assembly when the cache is cold, so the cache is filled ahead of
the request path where it can be: an opened document's lines on a background thread
(:meth:`TokenCounter.warm_document`), and a retrieval search's snippets on the thread that found them
(:meth:`TokenCounter.count_texts`). The cache may therefore be written from several threads: entries are
added under a lock, and readers never depend on an entry surviving eviction.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from tokenizers import Tokenizer

if TYPE_CHECKING:
    from splice.context.prompt import Snippet

_CACHE_LINES = 200_000
_LONG_TEXT = 8192  # longer texts are counted whole and not cached: they rarely recur


class TokenCounter:
    """Token counts of text and of lines, with a bounded cache of per-line counts."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._lines: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self._warming: ThreadPoolExecutor | None = None

    @classmethod
    def load(cls, path: str | Path | None = None) -> TokenCounter:
        """The tokenizer at ``path``, or the one shipped with Splice."""
        if path:
            return cls(Tokenizer.from_file(str(path)))
        shipped = resources.files("splice").joinpath("data/tokenizer.json")
        return cls(Tokenizer.from_str(shipped.read_text(encoding="utf-8")))

    def count(self, text: str) -> int:
        """Tokens in ``text``; short texts (snippets, paths, lines) are cached, since they recur."""
        if not text:
            return 0
        if len(text) > _LONG_TEXT:
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        cached = self._lines.get(text)
        if cached is None:
            cached = len(self._tokenizer.encode(text, add_special_tokens=False).ids)
            self._remember(((text, cached),))
        return cached

    def count_lines(self, lines: Sequence[str]) -> list[int]:
        """Tokens in each of ``lines`` (each including its line break), batch-encoding the uncached ones."""
        counts = self.count_texts(lines)
        return [counts[line] for line in lines]

    def count_texts(self, texts: Iterable[str]) -> dict[str, int]:
        """Tokens in each of ``texts``, the uncached short ones encoded in one batch and remembered."""
        cache = self._lines
        counts: dict[str, int] = {}
        missing: list[str] = []
        for text in texts:
            if text in counts:
                continue
            cached = cache.get(text)
            if cached is not None:
                counts[text] = cached
            elif len(text) > _LONG_TEXT:
                counts[text] = self.count(text)
            elif text:
                counts[text] = 0  # placeholder, filled below
                missing.append(text)
            else:
                counts[text] = 0
        if missing:
            encoded = self._tokenizer.encode_batch_fast(missing, add_special_tokens=False)
            fresh = [(text, len(enc.ids)) for text, enc in zip(missing, encoded, strict=True)]
            counts.update(fresh)
            self._remember(fresh)
        return counts

    def count_snippets(self, snippets: Iterable[Snippet]) -> list[int]:
        """Tokens each snippet costs in a prompt: its lines, counted line by line as the windows are (so the
        lines of open documents and of earlier searches are found cached), and its path header."""
        snippets = list(snippets)
        split = [lines_of(snippet.text) for snippet in snippets]
        counts = self.count_texts([*(line for lines in split for line in lines), *(s.path for s in snippets)])
        return [sum(counts[line] for line in lines) + counts[snippet.path]
                for snippet, lines in zip(snippets, split, strict=True)]

    def warm_document(self, text: str) -> Future[None]:
        """Count ``text``'s lines on a background thread, so the first prompts cut from it find them cached."""
        if self._warming is None:
            self._warming = ThreadPoolExecutor(max_workers=1, thread_name_prefix="splice-tokens")
        return self._warming.submit(self._warm, text)

    def _warm(self, text: str) -> None:
        lines = lines_of(text)
        for start in range(0, len(lines), 512):  # batches, so the GIL is given back between them
            self.count_texts(lines[start:start + 512])

    def _remember(self, entries: Iterable[tuple[str, int]]) -> None:
        with self._lock:
            cache = self._lines
            for text, count in entries:
                cache[text] = count
            while len(cache) > _CACHE_LINES:
                cache.popitem(last=False)


def lines_of(text: str) -> list[str]:
    """``text``'s lines, each with its line break, as the prompt's windows cut them."""
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])
