"""What a repository search asks for: the cursor's path, the code around it and the prompt's window.

Kept apart from the retriever so the language server can build queries (and key its prefetch cache on
them) at start-up without loading the index and numpy, which wait until after the ``initialize`` reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from splice.config import Settings

QUERY_PREFIX_LINES = 20
QUERY_SUFFIX_LINES = 5


@dataclass(frozen=True, kw_only=True)
class RetrievalQuery:
    """Where the cursor is: the document's path, text around the cursor and the window the prompt shows."""

    path: str
    prefix: str
    suffix: str
    window_start: int = 0  # first 0-based line of the document inside the prompt's windows
    window_end: int = 0  # one past the last
    limit: int = 4


# Rough characters per prompt token, to find which lines the prompt's windows will hold without counting.
_CHARS_PER_TOKEN = 3


def query_at(path: str, text: str, offset: int, settings: Settings) -> RetrievalQuery:
    """The query for a cursor at ``offset`` of ``text`` (``\\n`` line ends), with the line range the prompt's
    prefix and suffix windows will cover under ``settings``' budget, so snippets repeating it are dropped."""
    line = text.count("\n", 0, offset)
    reach = int(settings.context_tokens * settings.prefix_share * _CHARS_PER_TOKEN)
    first = line - text.count("\n", max(0, offset - reach), offset)
    following = int(settings.context_tokens * settings.suffix_share * _CHARS_PER_TOKEN)
    last = line + text.count("\n", offset, offset + following) + 1
    return RetrievalQuery(path=path, prefix=text[max(0, offset - 4000):offset], suffix=text[offset:offset + 1000],
                          window_start=first, window_end=last, limit=settings.max_snippets)


def query_text(prefix: str, suffix: str) -> str:
    """The code a query is built from: the prefix's last lines and the suffix's first. The splits stop at
    the lines kept: splitting the whole prefix of a long file made thousands of lines to keep twenty."""
    head = "\n".join(prefix.rsplit("\n", QUERY_PREFIX_LINES)[-QUERY_PREFIX_LINES:])
    tail = "\n".join(suffix.split("\n", QUERY_SUFFIX_LINES)[:QUERY_SUFFIX_LINES])
    return head + tail
