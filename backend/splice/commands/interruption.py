"""Ctrl-C for the commands: stop at the next safe point, keep what was committed, exit with code 130.

The first Ctrl-C sets a flag that the long loops poll between files (:func:`requested`) and cancels what
the command awaits, so it stops within a file's work and can say what it kept. A step that never polls gets
:data:`GRACE_S`; then, or at a second Ctrl-C, the interrupt is raised in the main thread and
:func:`splice.cli.main` turns it into a one-line message. Should even that not end the process in
:data:`FORCE_S` more (a worker thread it would wait for), it ends there. A command that is writing what it
computed holds this off while it does (:func:`saving`). Either way the exit code is 130 and nothing is
printed as a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Coroutine, Iterator
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 130
GRACE_S = 0.6
FORCE_S = 0.3

_requested = threading.Event()
_saving = threading.Event()
_finished = threading.Event()
_state: dict[str, Any] = {}  # "loop" and "task" of the running command


def requested() -> bool:
    """Whether Ctrl-C was pressed during this command (the ``cancelled`` callback of the indexing loops)."""
    return _requested.is_set()


@contextlib.contextmanager
def saving() -> Iterator[None]:
    """Hold off the forced stop while the command writes what it computed."""
    _saving.set()
    try:
        yield
    finally:
        _saving.clear()


async def watched(command: Coroutine[Any, Any, int]) -> int:
    """Run ``command`` as the task a Ctrl-C cancels."""
    _state["loop"], _state["task"] = asyncio.get_running_loop(), asyncio.current_task()
    return await command


def _cancel_task() -> None:
    task = _state.get("task")
    if task is not None and not task.done():
        task.cancel()


def _pause(seconds: float) -> None:
    time.sleep(seconds)
    while _saving.is_set():
        time.sleep(0.05)


def _watchdog(main: int) -> None:
    _pause(GRACE_S)
    if not _finished.is_set():
        # A real signal, not just the interpreter's flag, so a blocking wait in the main thread wakes up too.
        signal.pthread_kill(main, signal.SIGINT)
    _pause(FORCE_S)
    if not _finished.is_set():
        os.write(2, b"splice: interrupted\n")
        os._exit(EXIT_INTERRUPTED)


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    if _requested.is_set():
        raise KeyboardInterrupt
    _requested.set()
    loop = _state.get("loop")
    if loop is not None and not loop.is_closed():
        # Runs when the loop next gets control: an awaited step is cancelled at once, while a loop busy in
        # synchronous work polls requested() first and finishes cleanly.
        loop.call_soon_threadsafe(_cancel_task)
    main = threading.main_thread().ident
    assert main is not None
    threading.Thread(target=_watchdog, args=(main,), name="splice-interrupt", daemon=True).start()


@contextlib.contextmanager
def handling_interrupts() -> Iterator[None]:
    """Route Ctrl-C through :func:`_on_interrupt` while a command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _requested.clear()
    _finished.clear()
    previous = signal.signal(signal.SIGINT, _on_interrupt)
    try:
        yield
    finally:
        _finished.set()
        # Once interrupted the process is on its way out: a late signal must not raise in the final message.
        signal.signal(signal.SIGINT, signal.SIG_IGN if _requested.is_set() else previous)
        _state.clear()
