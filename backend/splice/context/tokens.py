"""Counting prompt tokens with a real tokenizer.

Splice ships a byte-level BPE code tokenizer (``splice/data/tokenizer.json``, rebuilt by
``scripts/train-tokenizer``); a deployment may point at its model's own ``tokenizer.json`` instead. Lines are
counted one at a time and cached by their text, because windows are cut on line boundaries and the same
lines recur from one keystroke to the next.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from tokenizers import Tokenizer

_CACHE_LINES = 200_000


class TokenCounter:
    """Token counts of text and of lines, with a bounded cache of per-line counts."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._lines: OrderedDict[str, int] = OrderedDict()

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
        if len(text) > 8192:
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        cached = self._lines.get(text)
        if cached is None:
            cached = len(self._tokenizer.encode(text, add_special_tokens=False).ids)
            self._lines[text] = cached
            if len(self._lines) > _CACHE_LINES:
                self._lines.popitem(last=False)
        return cached

    def count_lines(self, lines: Sequence[str]) -> list[int]:
        """Tokens in each of ``lines`` (each including its line break), batch-encoding the uncached ones."""
        cache = self._lines
        missing = [line for line in dict.fromkeys(lines) if line not in cache]
        if missing:
            encoded = self._tokenizer.encode_batch_fast(missing, add_special_tokens=False)
            for line, enc in zip(missing, encoded, strict=True):
                cache[line] = len(enc.ids)
            while len(cache) > _CACHE_LINES:
                cache.popitem(last=False)
        return [cache[line] for line in lines]
