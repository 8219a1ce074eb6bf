"""Small pieces the Triton tests share: requests, an in-process fallback engine, a status recorder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from splice.context.prompt import FimPrompt
from splice.engines.base import Candidate, GenerationRequest

PREFIX = "def add(first, second):\n    "
SUFFIX = "\n\nprint(add(1, 2))\n"


def fim_request(*, multiline: bool = True, tenant: str | None = None, max_new_tokens: int = 64) -> GenerationRequest:
    """A StarCoder2-format request, as the context layer renders it."""
    text = f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>"
    prompt = FimPrompt(path="calc.py", language="python", prefix=PREFIX, suffix=SUFFIX, text=text)
    return GenerationRequest(
        prompt=prompt,
        document_prefix=PREFIX,
        document_suffix=SUFFIX,
        multiline=multiline,
        max_new_tokens=max_new_tokens,
        tenant=tenant,
    )


class StaticEngine:
    """Stands in for the embedded engine as the fallback: instant and always the same answer."""

    name = "embedded"

    def __init__(self) -> None:
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> list[Candidate]:
        self.calls += 1
        return [Candidate(text="first + second", score=-2.0, origin=self.name)]

    async def aclose(self) -> None:
        return None


class StatusLog:
    """Records ``on_status`` calls."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None]] = []

    def __call__(self, status: str, detail: str | None) -> None:
        self.events.append((status, detail))

    @property
    def statuses(self) -> list[str]:
        return [status for status, _ in self.events]


async def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    """Wait until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
