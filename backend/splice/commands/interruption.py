"""Ctrl-C for the commands: stop at the next safe point, keep what was committed, exit with code 130.

The first Ctrl-C sets a flag that the long loops poll between files (:func:`requested`) and cancels what
the command awaits, so it stops within a file's work and can say what it kept. A step that never polls gets
:data:`GRACE_S`; then, or at a second Ctrl-C, the interrupt is raised in the main thread, and
:func:`splice.cli.main` turns it into a one-line message. Either way the exit code is 130 and nothing is
printed as a traceback.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import signal
import threading
from collections.abc import Coroutine, Iterator
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 130
GRACE_S = 0.8

_requested = threading.Event()
_state: dict[str, Any] = {}  # "loop" and "task" of the running command, "timer" once interrupted


def requested() -> bool:
    """Whether Ctrl-C was pressed during this command (the ``cancelled`` callback of the indexing loops)."""
    return _requested.is_set()


async def watched(command: Coroutine[Any, Any, int]) -> int:
    """Run ``command`` as the task a Ctrl-C cancels."""
    _state["loop"], _state["task"] = asyncio.get_running_loop(), asyncio.current_task()
    return await command


def _cancel_task() -> None:
    task = _state.get("task")
    if task is not None and not task.done():
        task.cancel()


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    if _requested.is_set():
        raise KeyboardInterrupt
    _requested.set()
    loop = _state.get("loop")
    if loop is not None and not loop.is_closed():
        # Runs when the loop next gets control: an awaited step is cancelled at once, while a loop busy in
        # synchronous work polls requested() first and finishes cleanly.
        loop.call_soon_threadsafe(_cancel_task)
    timer = threading.Timer(GRACE_S, _thread.interrupt_main)
    timer.daemon = True
    _state["timer"] = timer
    timer.start()


@contextlib.contextmanager
def handling_interrupts() -> Iterator[None]:
    """Route Ctrl-C through :func:`_on_interrupt` while a command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _requested.clear()
    previous = signal.signal(signal.SIGINT, _on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        timer = _state.pop("timer", None)
        if timer is not None:
            timer.cancel()
        _state.clear()
