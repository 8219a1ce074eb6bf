"""Work done ahead of the request path: token counts of opened documents and of retrieval's snippets, and
the windows of newly opened documents."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from splice.config import Settings
from splice.context.prompt import Snippet
from splice.context.sources import SnippetQuery
from splice.context.tokens import TokenCounter, lines_of
from splice.open_documents import CountedDocuments, OpenDocument
from splice.retrieval.source import RepositorySource

CODE = "".join(f"def handler_{i}(request, value_{i}):\n    return request.reply(value_{i} * {i})\n"
               for i in range(300))


class CountingTokenizer:
    """The shipped tokenizer, counting the encode calls that reach it."""

    def __init__(self) -> None:
        self.inner: Any = TokenCounter.load()._tokenizer
        self.encoded = 0

    def encode(self, text: str, **kwargs: Any) -> Any:
        self.encoded += 1
        return self.inner.encode(text, **kwargs)

    def encode_batch_fast(self, texts: list[str], **kwargs: Any) -> Any:
        self.encoded += len(texts)
        return self.inner.encode_batch_fast(texts, **kwargs)


def _counter() -> tuple[TokenCounter, CountingTokenizer]:
    tokenizer = CountingTokenizer()
    return TokenCounter(tokenizer), tokenizer  # type: ignore[arg-type]


def test_a_warmed_document_is_counted_without_encoding_on_the_request_path() -> None:
    counter, tokenizer = _counter()
    documents = CountedDocuments(lambda: counter)
    document = OpenDocument(key="file:///a.py", path="/a.py", shown="a.py", version=1, text=CODE)
    documents.opened_or_changed(document)
    counter.warm_document(CODE).result(timeout=30)  # after the listener's own job, on the same thread
    before = tokenizer.encoded
    assert sum(counter.count_lines(lines_of(CODE))) > 0
    assert tokenizer.encoded == before
    # A keystroke does not recount the document; closing and reopening does.
    documents.opened_or_changed(OpenDocument(key="file:///a.py", path="/a.py", shown="a.py", version=2,
                                             text=CODE + "x = 1\n"))
    counter.warm_document("").result(timeout=30)  # whatever the change queued has run
    assert tokenizer.encoded == before
    counter.count_lines(["x = 1\n"])
    assert tokenizer.encoded == before + 1  # the typed line is counted by the request that needs it


def test_a_snippet_costs_the_sum_of_its_lines_and_its_path() -> None:
    counter, _ = _counter()
    snippet = Snippet(path="lib/handlers.py", text=CODE[:400], start_line=0, end_line=8, score=1.0, source="x")
    expected = sum(counter.count(line) for line in lines_of(snippet.text)) + counter.count(snippet.path)
    assert counter.count_snippets([snippet]) == [expected]
    assert lines_of("a\nb") == ["a\n", "b"] and lines_of("a\n") == ["a\n"]


class _Retrieval:
    def __init__(self, found: list[Snippet]) -> None:
        self.found = found

    def snippets(self, query: object, deadline_s: float) -> list[Snippet]:
        return self.found


def test_retrieval_counts_its_snippets_on_its_own_thread(tmp_path: Path) -> None:
    counter, tokenizer = _counter()
    found = [Snippet(path=f"lib/m{i}.py", text=CODE[i * 500:(i + 1) * 500], start_line=0, end_line=9, score=1.0,
                     source="retrieval") for i in range(3)]
    settings = Settings(data_dir=str(tmp_path))
    source = RepositorySource(lambda: _Retrieval(found), lambda: settings,  # type: ignore[arg-type, return-value]
                              counter=lambda: counter)
    query = SnippetQuery(key="file:///b.py", path="b.py", text="def f(request):\n    return ", offset=27, limit=4)

    snippets = asyncio.run(_search(source, query))
    assert snippets
    before = tokenizer.encoded
    counter.count_snippets(snippets)
    assert tokenizer.encoded == before  # the prompt builder finds every line counted


async def _search(source: RepositorySource, query: SnippetQuery) -> tuple[Snippet, ...]:
    return await source.search(query)


def test_an_opened_document_has_its_windows_cut_before_any_request() -> None:
    from splice.context.sources import OpenDocumentSource  # noqa: PLC0415

    source = OpenDocumentSource(window_lines=10)
    builds: list[str] = []
    cut = source.finder._index_of

    def counted(key: str, text: str) -> Any:
        builds.append(key)
        return cut(key, text)

    source.finder._indexes._build = counted
    source.opened_or_changed(OpenDocument(key="a", path="/a.py", shown="a.py", version=1, text=CODE))
    assert builds == ["a"]  # cut when opened
    source.opened_or_changed(OpenDocument(key="a", path="/a.py", shown="a.py", version=2, text=CODE + "y = 2\n"))
    assert builds == ["a"]  # a keystroke in it waits until another document asks
    query = SnippetQuery(key="b", path="b.py", text="def handler_7(request, value_7):\n", offset=33, limit=2)
    snippets = asyncio.run(_search_open(source, query))
    assert snippets and builds == ["a", "a"]  # asked for by b: the changed text is cut once, then reused
    asyncio.run(_search_open(source, query))
    assert builds == ["a", "a"]


async def _search_open(source: Any, query: SnippetQuery) -> tuple[Snippet, ...]:
    return await source.search(query)
