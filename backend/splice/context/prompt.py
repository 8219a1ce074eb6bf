"""The assembled prompt: what the engine is asked, in both structured and rendered form.

Structured fields serve engines that read code directly (the embedded statistical engine); ``text`` is the
same context rendered in the configured model family's FIM template for engines that take a string.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Snippet:
    """A piece of code from elsewhere (another open file, the repository) placed in the prompt."""

    path: str
    text: str
    start_line: int  # 0-based, inclusive
    end_line: int  # 0-based, exclusive
    score: float
    source: str  # "open_files", "retrieval", ...


@dataclass(frozen=True, kw_only=True)
class FimPrompt:
    """Prefix and suffix windows, snippets and the rendered template text. All text uses ``\\n`` line ends."""

    path: str
    language: str
    prefix: str
    suffix: str
    snippets: tuple[Snippet, ...] = ()
    text: str = ""
    stop: tuple[str, ...] = ()
    prompt_tokens: int = 0
    sources: tuple[str, ...] = field(default_factory=tuple)
