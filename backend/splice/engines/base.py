"""The one small protocol every engine implements, and the values that cross it.

The server never knows which engine answers: the embedded statistical engine, Triton, or a deterministic
fake in tests. Vendor exceptions are turned into :class:`splice.errors.EngineError` subclasses at this
boundary so callers can fall back without knowing the vendor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from splice.context.prompt import FimPrompt


@dataclass(frozen=True, kw_only=True)
class GenerationRequest:
    """What to generate. ``document_prefix``/``document_suffix`` are the whole document around the cursor
    (``\\n`` line ends); the prompt holds the token-budgeted windows of them."""

    prompt: FimPrompt
    document_prefix: str
    document_suffix: str
    multiline: bool
    max_new_tokens: int = 64
    num_candidates: int = 4
    tenant: str | None = None
    want_logprobs: bool = False
    # The document's absolute filesystem path where it has one; ``prompt.path`` is the path shown to the
    # model (relative to the workspace), which an engine cannot resolve on its own.
    document_path: str | None = None


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One proposed middle. ``score`` is a log-probability-like number: higher is better."""

    text: str
    score: float = 0.0
    origin: str = ""  # the engine's short name (``embedded``, ``triton``)
    # Why the preferred engine did not answer, when ``origin`` is the one that stood in for it.
    fallback: str = ""
    # Mean log-probability per generated token, where the engine is a language model that reports one.
    mean_logprob: float | None = None
    # Tokens of context before the cursor that agree with where the text was found (copying engines).
    context_tokens: int | None = None


@runtime_checkable
class Engine(Protocol):
    """Something that proposes middles for a prompt, with the lifecycle every caller drives the same way.

    The server, ``splice complete``, replay and the evaluation all start an engine, wait for it, tell it
    about open documents and close it through these methods alone, so a wrapper (the fallback engine)
    delegates them and no caller needs to know which engine it holds."""

    name: str

    async def start(self) -> None:
        """Begin background work (indexing the workspace) and return at once."""
        ...

    def wait_until_ready(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for that work; whether the engine is fully ready."""
        ...

    def document_changed(self, path: str, text: str) -> None:
        """``path`` (absolute) now holds ``text``, an open document's live contents."""
        ...

    def document_closed(self, path: str) -> None:
        """``path`` is no longer open, or was written without being open here: what is on disk counts
        again, as it is now."""
        ...

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        """Candidates for ``request``, best first. Raises ``EngineError`` on failure."""
        ...

    def answered_by(self) -> tuple[str, str]:
        """Which engine answered the latest request, and why the preferred one did not (or "")."""
        ...

    async def aclose(self) -> None:
        """Release connections, threads and files."""
        ...


class RemoteEngine:
    """The lifecycle of an engine that keeps no state about the workspace (a model server, a test fake):
    nothing to start, always ready, documents reach it only through prompts."""

    name = "remote"

    async def start(self) -> None:
        """Nothing to start: connections open on first use."""

    def wait_until_ready(self, timeout: float) -> bool:
        """Always ready; availability shows per request."""
        return True

    def document_changed(self, path: str, text: str) -> None:
        """Documents reach a remote engine inside prompts only."""

    def document_closed(self, path: str) -> None:
        """See :meth:`document_changed`."""

    def answered_by(self) -> tuple[str, str]:
        """This engine itself, never standing in for another."""
        return self.name, ""

    async def aclose(self) -> None:
        """Nothing held."""
