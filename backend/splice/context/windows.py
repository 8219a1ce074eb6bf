"""Prefix and suffix windows around the cursor, cut on line boundaries under a token budget.

The prefix keeps the lines nearest the cursor (the partial current line always); the suffix keeps the
lines right after it. Lines are added in batches so that a 5,000-line file costs only the lines that fit.
"""

from __future__ import annotations

from splice.context.tokens import TokenCounter

_BATCH = 48


def prefix_window(prefix: str, budget: int, counter: TokenCounter) -> tuple[str, int]:
    """The longest tail of ``prefix``, cut at a line start, that fits ``budget`` tokens; and its size.

    The partial line at the cursor is always kept whole, even past the budget, since a prompt without it
    cannot be completed.
    """
    cut = prefix.rfind("\n") + 1
    used = counter.count(prefix[cut:])
    lines_end = cut
    while lines_end > 0:
        # The next batch of whole lines before ``lines_end``.
        starts: list[int] = []
        pos = lines_end
        while pos > 0 and len(starts) < _BATCH:
            pos = prefix.rfind("\n", 0, pos - 1) + 1
            starts.append(pos)
        bounds = [lines_end, *starts]
        lines = [prefix[bounds[i + 1] : bounds[i]] for i in range(len(starts))]
        for start, count in zip(starts, counter.count_lines(lines), strict=True):
            if used + count > budget:
                return prefix[cut:], used
            used += count
            cut = start
        lines_end = starts[-1]
    return prefix[cut:], used


def suffix_window(suffix: str, budget: int, counter: TokenCounter) -> tuple[str, int]:
    """The longest head of ``suffix``, cut at a line end, that fits ``budget`` tokens; and its size.

    The rest of the cursor's line is always kept, since it decides what the middle must close.
    """
    first = suffix.find("\n")
    end = len(suffix) if first < 0 else first + 1
    used = counter.count(suffix[:end])
    while end < len(suffix):
        ends: list[int] = []
        pos = end
        while pos < len(suffix) and len(ends) < _BATCH:
            nxt = suffix.find("\n", pos)
            pos = len(suffix) if nxt < 0 else nxt + 1
            ends.append(pos)
        bounds = [end, *ends]
        lines = [suffix[bounds[i] : bounds[i + 1]] for i in range(len(ends))]
        for stop, count in zip(ends, counter.count_lines(lines), strict=True):
            if used + count > budget:
                return suffix[:end], used
            used += count
            end = stop
    return suffix[:end], used
