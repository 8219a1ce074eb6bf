"""Identifier-aware terms and BM25 queries over SQLite's FTS5.

Code search fails with a prose tokenizer: ``parseHttpResponse`` must match ``parse_http_response`` and a
query for ``response``. Every identifier therefore becomes its whole lower-cased self plus its camelCase and
snake_case parts, and that term string is what FTS5 indexes (``unicode61`` with ``_`` as a token character,
so whole identifiers survive). Scoring is FTS5's own ``bm25()``, with the chunk's symbol column weighted
above its body, so a query naming a function finds its definition before its callers.

Queries keep the rarest of their terms: a term found in most chunks (``self``, ``value``) adds nothing to
the ranking but makes FTS5 score nearly every row, which is what would break the latency budget on large
indexes.
"""

from __future__ import annotations

import re
from collections import Counter

from splice.context.identifiers import STOPWORDS

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_MAX_IDENTIFIER = 64
SYMBOL_WEIGHT = 4.0
BODY_WEIGHT = 1.0
MAX_QUERY_TERMS = 8
# A term in more than this share of chunks is dropped from queries (when rarer terms exist).
COMMON_SHARE = 0.2
COMMON_MIN_CHUNKS = 1000
# Most chunk postings one query may touch (see ``selective_terms``); keeps retrieval p99 within milliseconds
# on indexes of a million lines.
POSTINGS_BUDGET = 6000


def terms(text: str) -> list[str]:
    """Index terms of ``text`` in order: each identifier lower-cased, followed by its parts."""
    out: list[str] = []
    for word in _WORD.findall(text):
        if len(word) > _MAX_IDENTIFIER:
            continue
        lowered = word.lower().strip("_")
        if len(lowered) < 2 or lowered in STOPWORDS:
            continue
        out.append(lowered)
        parts = [p.lower() for chunk in word.split("_") if chunk for p in _PARTS.findall(chunk)]
        if len(parts) > 1:
            out.extend(p for p in parts if len(p) > 1 and p not in STOPWORDS)
    return out


def focus_identifiers(line: str, count: int = 2) -> list[str]:
    """The last ``count`` whole identifiers of the cursor's line, nearest first: usually the name being
    called or assigned, whose definition is the most useful thing retrieval can show."""
    found = [w.lower() for w in _WORD.findall(line) if len(w) > 2 and w.lower() not in STOPWORDS]
    return list(dict.fromkeys(reversed(found)))[:count]


def query_terms(text: str) -> Counter[str]:
    """Terms of a query with their counts (later occurrences, nearer the cursor, count the same)."""
    return Counter(terms(text))


def selective_terms(frequency: dict[str, int], wanted: Counter[str], total_chunks: int,
                    limit: int = MAX_QUERY_TERMS) -> list[str]:
    """The ``limit`` rarest of ``wanted`` that occur in the index at all (``frequency``: how many chunks
    hold each, absent when none), common ones dropped when possible."""
    if not wanted:
        return []
    names = list(wanted)
    present = [name for name in names if frequency.get(name, 0) > 0]
    chosen = present
    if total_chunks >= COMMON_MIN_CHUNKS:
        # Only on large indexes: on a small one every term is "common" and dropping them loses the query.
        ceiling = int(total_chunks * COMMON_SHARE)
        chosen = [name for name in present if frequency[name] <= ceiling] or present
    chosen.sort(key=lambda name: (frequency[name], -wanted[name], name))
    # BM25 scores every chunk that holds any chosen term, so the postings read bound the query's time: take
    # the rarest terms until their postings would pass the budget (the rarest one always).
    kept: list[str] = []
    postings = 0
    for name in chosen[:limit]:
        if kept and postings + frequency[name] > POSTINGS_BUDGET:
            break
        kept.append(name)
        postings += frequency[name]
    return kept


def match_expression(chosen: list[str]) -> str:
    """An FTS5 MATCH expression that finds chunks holding any of ``chosen`` (terms are quoted literally)."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in chosen)
