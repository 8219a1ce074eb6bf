"""Running the server over stdio: the method table, the protected stdout, and the event loop.

stdout belongs to the protocol. Before anything else runs, file descriptor 1 is duplicated for the frame
writer and then pointed at stderr, so a stray ``print`` or a native library's output can never corrupt the
stream. stdin is read on a small thread so that pipes, files and terminals all work the same way.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import BinaryIO

from splice import config
from splice.logging import configure, get_logger
from splice.protocol.framing import FrameWriter
from splice.server.app import LanguageServer
from splice.server.connection import Connection
from splice.server.features import FEATURES

log = get_logger()

SWITCH_INTERVAL_S = 0.001


def protect_stdout() -> BinaryIO:
    """A private handle on the real stdout for protocol frames; fd 1 and ``sys.stdout`` now go to stderr."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb", buffering=0)


def _pump_stdin(loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader, fd: int) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            loop.call_soon_threadsafe(reader.feed_eof)
            return
        loop.call_soon_threadsafe(reader.feed_data, data)


async def serve_streams(reader: asyncio.StreamReader, output: BinaryIO, server: LanguageServer) -> int:
    """Serve one connection until ``exit``, stdin EOF or the editor's death; return the exit code."""
    connection = Connection(reader, FrameWriter(output), FEATURES, server)
    server.connection = connection
    try:
        await connection.run()
    finally:
        server.telemetry.close()  # bounded wait: the writer stores what is queued, or gives up
        if server.engine is not None and not server.shutdown_requested:
            await server.engine.aclose()
    return server.exit_code if server.exit_code is not None else (0 if server.shutdown_requested else 1)


async def _serve_stdio(settings: config.Settings, problems: list[str], editor_pid: int | None) -> int:
    output = protect_stdout()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    threading.Thread(target=_pump_stdin, args=(loop, reader, 0), name="stdin", daemon=True).start()
    server = LanguageServer(settings, problems)
    watch = None
    if editor_pid is not None:
        # The same watch as initialize's processId, started now: the editor may die before it sends that.
        watch = loop.create_task(server.watch_editor(editor_pid))
    try:
        return await serve_streams(reader, output, server)
    finally:
        if watch is not None:
            watch.cancel()


def serve(editor_pid: int | None = None) -> int:
    """Run the stdio server; the process's exit code follows the LSP ``exit`` rules. ``editor_pid`` is the
    editor's process (``--clientProcessId``), watched from the start."""
    settings, problems = config.from_environment()
    configure(settings.log_level)
    # Background work (indexing, lexing a large open document) holds the GIL in long stretches; a
    # completion thread that releases it often (numpy, SQLite) then waits up to a whole switch interval to
    # get it back each time. 1 ms instead of Python's 5 ms keeps that wait off the completion path.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    for problem in problems:
        log.warning("invalid_setting", problem=problem)
    loop = asyncio.new_event_loop()
    try:
        code = loop.run_until_complete(_serve_stdio(settings, problems, editor_pid))
    except KeyboardInterrupt:
        code = 1
    # Leave now: background indexing threads hold nothing that must be saved, and waiting for them would
    # keep an editor's restart waiting.
    sys.stderr.flush()
    os._exit(code)


