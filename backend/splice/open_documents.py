"""The documents open in the editor, told once to everything that learns from them.

An open document's live text overrides its copy on disk for the engine, the open-documents snippet source
and the repository index; closing it must revert all three, or text the person never saved (or, in an
evaluation, a file with lines hidden) lingers in one of them. :class:`OpenDocuments` is the one place that
hears open, change and close and tells every listener, so none can be forgotten. The server feeds it from
text synchronisation; ``splice complete`` and the evaluation feed it the documents they simulate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from splice.logging import get_logger

if TYPE_CHECKING:
    from splice.context.tokens import TokenCounter
    from splice.engines.base import Engine

log = get_logger()


@dataclass(frozen=True, kw_only=True)
class OpenDocument:
    """One open document. ``key`` is unique among open documents (a URI in the server); ``path`` is its
    absolute file path when it has one; ``shown`` the path prompts show; ``text`` has ``\\n`` line ends."""

    key: str
    path: str | None
    shown: str
    version: int
    text: str
    saved: bool = False  # the change is a save: the text is on disk too


class DocumentListener(Protocol):
    """Something that learns from open documents."""

    def opened_or_changed(self, document: OpenDocument) -> None:
        """``document`` is open with this text."""
        ...

    def closed(self, document: OpenDocument) -> None:
        """``document`` was closed: what is on disk counts again."""
        ...


class OpenDocuments:
    """The open documents and their listeners."""

    def __init__(self, listeners: tuple[DocumentListener, ...] = ()) -> None:
        self.listeners: list[DocumentListener] = list(listeners)
        self._open: dict[str, OpenDocument] = {}

    def __iter__(self) -> Iterator[OpenDocument]:
        return iter(list(self._open.values()))

    def update(self, document: OpenDocument) -> None:
        """``document`` was opened, changed or saved."""
        self._open[document.key] = document
        for listener in self.listeners:
            self._tell(listener.opened_or_changed, document)

    def close(self, key: str) -> None:
        """``key`` was closed; unknown keys are ignored."""
        document = self._open.pop(key, None)
        if document is None:
            return
        for listener in self.listeners:
            self._tell(listener.closed, document)

    def close_all(self) -> None:
        """Close every document (the end of a simulated editor session)."""
        for key in list(self._open):
            self.close(key)

    @staticmethod
    def _tell(method: Callable[[OpenDocument], None], document: OpenDocument) -> None:
        try:
            method(document)
        except Exception:  # one listener's failure must not keep the others from learning the document
            log.exception("documents.listener_failed", key=document.key)


class EngineDocuments:
    """Tells the engine ``engine()`` returns about open documents (those with a path on disk); a callable,
    because the server replaces its engine when the settings change and one not started yet learns the
    documents when it starts."""

    def __init__(self, engine: Callable[[], Engine | None]) -> None:
        self.engine = engine

    def opened_or_changed(self, document: OpenDocument) -> None:
        """The engine learns the live text."""
        engine = self.engine()
        if engine is not None and document.path is not None:
            engine.document_changed(document.path, document.text)

    def closed(self, document: OpenDocument) -> None:
        """The engine uses the disk copy again."""
        engine = self.engine()
        if engine is not None and document.path is not None:
            engine.document_closed(document.path)


class CountedDocuments:
    """Has the prompt's token counter ``counter()`` count a document's lines when the document is first seen
    and when it is saved, on the counter's background thread: the first prompt cut from a freshly opened
    5,000-line file then finds its lines counted instead of encoding them while the editor waits. Keystrokes
    in between change a line or two, which the request counts itself for next to nothing."""

    def __init__(self, counter: Callable[[], TokenCounter | None]) -> None:
        self.counter = counter
        self._counted: set[str] = set()

    def opened_or_changed(self, document: OpenDocument) -> None:
        """Count a new or saved document's lines."""
        counter = self.counter()
        if counter is None or (document.key in self._counted and not document.saved):
            return
        self._counted.add(document.key)
        counter.warm_document(document.text)

    def closed(self, document: OpenDocument) -> None:
        """Count it again if it is opened again (its text may have changed on disk)."""
        self._counted.discard(document.key)


class PerDocument(Protocol):
    """A cache kept per document key that must not outlive the document."""

    def forget(self, document: str) -> None:
        """Drop what is kept for ``document``."""
        ...


class ForgetOnClose:
    """Has ``cache()`` (the pipeline: the suggestions a person may type through, the cursor prepared for the
    next request) drop a document when it closes; a callable, because the server rebuilds its pipeline when
    the settings change. A document opened again, or another opened at the same key, starts without
    suggestions it never showed."""

    def __init__(self, cache: Callable[[], PerDocument | None]) -> None:
        self.cache = cache

    def opened_or_changed(self, document: OpenDocument) -> None:
        """Nothing: a change keeps what the person may still be typing through."""

    def closed(self, document: OpenDocument) -> None:
        """Forget the closed document."""
        cache = self.cache()
        if cache is not None:
            cache.forget(document.key)
