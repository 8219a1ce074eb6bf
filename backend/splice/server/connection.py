"""The JSON-RPC connection: frames in, routed messages, tasks per request, replies out.

Notifications and lifecycle requests run in arrival order, on the reader's own loop iteration, so a
``didChange`` is always applied before a completion that follows it. Requests declared concurrent in
:mod:`splice.server.features` run as tasks, kept in a map from request id, so ``$/cancelRequest`` cancels
the real work; a cancelled request is answered with RequestCancelled (-32800). Method dispatch goes through
``jsonrpcserver``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from jsonrpcserver import Error, Result, Success
from jsonrpcserver.async_main import dispatch_to_serializable

from splice.errors import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    InvalidParamsError,
    RequestCancelledError,
    SpliceError,
    error_payload,
)
from splice.logging import get_logger
from splice.protocol.framing import FrameParser, FrameWriter

if TYPE_CHECKING:
    from splice.server.app import LanguageServer
    from splice.server.features import Features

log = get_logger()

# The work handlers deferred until the reply to the message being dispatched is written (see :func:`after_reply`).
_Deferred = list[tuple[contextvars.Context, Callable[[], object]]]
_AFTER_REPLY: contextvars.ContextVar[_Deferred | None] = contextvars.ContextVar("splice_after_reply", default=None)


def after_reply(callback: Callable[[], object]) -> None:
    """Run ``callback`` once the reply to the request being handled is written, in the handler's context
    (the log lines it binds); a failure is logged and touches neither the reply nor the connection.

    jsonrpcserver runs each handler in a task of its own (``asyncio.gather``), and the dispatching task
    resumes to write the reply only after that task's completion has gone round the event loop: a callback a
    handler schedules with ``call_soon`` runs first, and the editor waits for it. Outside a dispatched
    message (a handler called directly) the callback is scheduled with ``call_soon``."""
    deferred = _AFTER_REPLY.get()
    if deferred is None:
        asyncio.get_running_loop().call_soon(callback)
    else:
        deferred.append((contextvars.copy_context(), callback))


def valid_id(value: Any) -> bool:
    """Whether ``value`` can be a request id: JSON-RPC allows a string or a number (never a bool, list or
    object, which could not key the task map either)."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)

Handler = Callable[..., Awaitable[Any]]


def request_handler(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Result]]:
    """Adapt ``fn(server, params)`` to jsonrpcserver: Splice errors become JSON-RPC errors."""

    async def wrapper(server: Any, /, *args: Any, **params: Any) -> Result:
        if args:
            return Error(InvalidParamsError.code, "params must be an object, not an array")
        try:
            return Success(await fn(server, params))
        except SpliceError as exc:
            payload = error_payload(exc)
            return Error(payload["code"], payload["message"], payload.get("data"))

    return _named(wrapper, fn)


def notification_handler(fn: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[Result]]:
    """Adapt ``fn(server, params)`` for notifications: failures are logged (there is nobody to reply to)
    and shown to the person when the error says so."""

    async def wrapper(server: Any, /, *args: Any, **params: Any) -> Result:
        try:
            if args:
                raise InvalidParamsError("params must be an object, not an array")
            await fn(server, params)
        except SpliceError as exc:
            log.warning("notification_failed", method=fn.__name__, error=exc.message, code=exc.code)
            server.notification_failed(fn.__name__, exc)
        except Exception:
            log.exception("notification_crashed", method=fn.__name__)
        return Success(None)

    return _named(wrapper, fn)


def _envelope(message: Any) -> Any:
    """The JSON-RPC 2.0 request schema's checks, on the envelope only.

    jsonrpcserver's default validator runs jsonschema over the whole message, which costs tens of
    milliseconds on a ``didOpen`` of a large document; the schema constrains nothing below ``params``."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
        raise ValueError("not a JSON-RPC 2.0 request")
    if "id" in message and message["id"] is not None and not valid_id(message["id"]):
        raise ValueError("'id' must be a string or a number")
    if "params" in message and not isinstance(message["params"], dict | list):
        raise ValueError("'params' must be an object or an array")
    if set(message) - {"jsonrpc", "method", "params", "id"}:
        raise ValueError("unknown members")
    return message


def _already_decoded(message: Any) -> Any:
    # The framing layer decoded the JSON once; jsonrpcserver must not decode it again.
    return message


def _named(wrapper: Callable[..., Awaitable[Result]], fn: Callable[..., Any]) -> Callable[..., Awaitable[Result]]:
    # Not functools.wraps: jsonrpcserver checks params against the signature, and ``__wrapped__`` would make
    # it check against ``fn(server, params)`` instead of the wrapper's ``**params``.
    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    # jsonrpcserver binds every message's params to ``signature(wrapper)``; computed once here, that lookup
    # is a read instead of an inspection on every keystroke's notification.
    wrapper.__signature__ = inspect.signature(wrapper)  # type: ignore[attr-defined]
    return wrapper


class Connection:
    """Reads frames from ``reader``, dispatches them to ``methods`` with ``server`` as context."""

    def __init__(self, reader: asyncio.StreamReader, writer: FrameWriter, features: Features, server: LanguageServer):
        self.reader = reader
        self.writer = writer
        self.features = features
        self.methods = features.methods
        self.server = server
        self.parser = FrameParser()
        self.tasks: dict[Any, asyncio.Task[None]] = {}
        self.pending: dict[Any, asyncio.Future[Any]] = {}
        self._next_id = 0
        self.closed = asyncio.Event()

    def close(self) -> None:
        """Stop serving: the reader sees end of input, so a pending read returns at once."""
        self.closed.set()
        if not self.reader.at_eof():
            self.reader.feed_eof()

    # Output --------------------------------------------------------------------------------------------

    def notify(self, method: str, params: Any) -> None:
        """Send a notification to the client."""
        self.writer.write({"jsonrpc": "2.0", "method": method, "params": params})

    def reply_error(self, request_id: Any, code: int, message: str, data: Any = None) -> None:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self.writer.write({"jsonrpc": "2.0", "id": request_id, "error": error})

    async def request(self, method: str, params: Any, timeout: float = 10.0) -> Any:
        """Send a request to the client and wait for its result."""
        self._next_id += 1
        request_id = f"splice-{self._next_id}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        self.writer.write({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop(request_id, None)

    # Input ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until stdin closes or ``exit`` arrives."""
        try:
            while not self.closed.is_set():
                data = await self.reader.read(65536)
                if not data:
                    log.info("stdin_closed")
                    break
                for frame in self.parser.feed(data):
                    if frame.error is not None:
                        log.warning("framing_error", error=frame.error)
                        self.reply_error(None, PARSE_ERROR, f"Parse error: {frame.error}")
                        continue
                    await self._route_guarded(frame.message)
                    if self.closed.is_set():
                        break
        finally:
            self.closed.set()
            for task in list(self.tasks.values()):
                task.cancel()

    async def _route_guarded(self, message: Any) -> None:
        """:meth:`route`, with any failure of one message contained to that message.

        No single message may end the reader loop: a bug that escapes a handler is logged, and the
        request (when it is one, with a usable id) gets an InternalError answer."""
        try:
            await self.route(message)
        except Exception as exc:  # RecursionError included
            log.exception("message_crashed", method=str(message.get("method"))[:80]
                          if isinstance(message, dict) else None)
            request_id = message.get("id") if isinstance(message, dict) and "method" in message else None
            if valid_id(request_id) and request_id not in self.tasks:
                self.reply_error(request_id, INTERNAL_ERROR, f"Internal error: {type(exc).__name__}")

    async def route(self, message: Any) -> None:
        """Send one decoded message where it belongs."""
        if not isinstance(message, dict):
            what = "batches are not supported" if isinstance(message, list) else "a message must be an object"
            self.reply_error(None, INVALID_REQUEST, f"Invalid request: {what}")
            return
        method = message.get("method")
        if method is None:
            self._resolve(message)
            return
        is_request = "id" in message
        if is_request and not valid_id(message["id"]):
            # Answered with a null id, as JSON-RPC says for a request whose id cannot be read.
            self.reply_error(None, INVALID_REQUEST, "Invalid request: 'id' must be a string or a number")
            return
        if not isinstance(method, str):
            if is_request:
                self.reply_error(message["id"], INVALID_REQUEST, "Invalid request: 'method' must be a string")
            else:
                log.warning("malformed_notification", error="'method' must be a string")
            return
        if "params" in message and message["params"] is None:
            # JSON-RPC says omit params rather than send null, but some editors send null (for ``shutdown``,
            # notably): treat the two alike instead of refusing the request.
            del message["params"]
        if not is_request and not isinstance(message.get("params", {}), dict | list):
            # Nobody to answer: JSON-RPC forbids replying to a notification, even a malformed one.
            log.warning("malformed_notification", method=method, error="'params' must be an object or an array")
            return
        refusal = self.server.refusal(method, is_request)
        if refusal is not None:
            if is_request:
                self.reply_error(message["id"], *refusal)
            return
        if method == "$/cancelRequest":
            if is_request:
                # LSP: a ``$/`` request the server does not handle is answered MethodNotFound.
                self.reply_error(message["id"], METHOD_NOT_FOUND, "Method not found: '$/cancelRequest' is a "
                                 "notification")
            else:
                self.cancel(message.get("params"))
            return
        if is_request and method in self.features.concurrent:
            request_id = message["id"]
            task = asyncio.create_task(self._dispatch(message, time.perf_counter()))
            self.tasks[request_id] = task
            task.add_done_callback(functools.partial(self._finished, request_id))
            self.server.request_started(method, request_id, message.get("params"))
            return
        await self._dispatch(message)

    def cancel(self, params: Any) -> None:
        """Cancel the task serving the request named in ``$/cancelRequest`` params."""
        request_id = params.get("id") if isinstance(params, dict) else None
        if not valid_id(request_id):
            log.warning("malformed_notification", method="$/cancelRequest", error="'id' must be a string or a number")
            return
        task = self.tasks.get(request_id)
        if task is not None:
            task.cancel()

    def _finished(self, request_id: Any, task: asyncio.Task[None]) -> None:
        # A done callback rather than ``except CancelledError`` in the task: a task cancelled before its
        # first step never enters its own body, yet its request still needs an answer.
        self.tasks.pop(request_id, None)
        if task.cancelled():
            exc = RequestCancelledError("Request cancelled")
            self.reply_error(request_id, exc.code, exc.message)
        elif task.exception() is not None:
            log.error("request_crashed", id=request_id, error=repr(task.exception()))
            self.reply_error(request_id, INTERNAL_ERROR, f"Internal error: {task.exception()!r}")

    async def _dispatch(self, message: dict[str, Any], arrived: float | None = None) -> None:
        deferred: _Deferred = []
        token = _AFTER_REPLY.set(deferred)
        try:
            response = await dispatch_to_serializable(
                message, methods=self.methods, context=self.server, deserializer=_already_decoded,
                validator=_envelope,
            )
            if response is not None and "id" not in message:
                # A notification that failed jsonrpcserver's checks: log it, but never answer a notification.
                log.warning("malformed_notification", method=message.get("method"), response=response)
                response = None
            if response is not None:
                if isinstance(response, dict) and response.get("id") is None and message.get("id") is not None:
                    # A request that fails jsonrpcserver's schema check comes back without its id; the client
                    # could never match that answer to its question.
                    response["id"] = message["id"]
                self.writer.write(response)
            if arrived is not None:
                # From the frame's arrival to its reply on the pipe: the server's whole share of the latency.
                log.info("request_served", method=message["method"], id=message.get("id"),
                         elapsed_ms=round((time.perf_counter() - arrived) * 1000, 3))
        finally:
            _AFTER_REPLY.reset(token)
            # Also when the request was cancelled after its handler deferred them: what they record happened.
            for context, callback in deferred:
                try:
                    context.run(callback)
                except Exception:
                    log.exception("after_reply_failed", method=message.get("method"))

    def _resolve(self, message: dict[str, Any]) -> None:
        """Hand a client's response to the request waiting for it; anything malformed is logged and dropped."""
        request_id = message.get("id")
        future = self.pending.get(request_id) if valid_id(request_id) else None
        if future is None or future.done():
            log.warning("unexpected_response", id=str(request_id)[:80])
            return
        if "error" in message:
            error = message["error"]
            detail = error.get("message") if isinstance(error, dict) else error
            future.set_exception(SpliceError(f"client answered with an error: {str(detail)[:200]}"))
        else:
            future.set_result(message.get("result"))
