"""The collector's HTTP service (Starlette): ingest for backends, the dashboard and the workflow for admins.

Backends authenticate with their organization's ingest token, admins with its admin token (as a bearer
token, or the ``splice_admin`` cookie the login form sets, so a browser can open the dashboard). Every
refusal is a JSON body ``{"error": ...}`` with a 4xx status, and nothing of a refused batch is stored:

| status | when |
|---|---|
| 401 | no token, or one that names no organization |
| 409 | the batch holds ids already stored (``duplicates`` lists them) |
| 413 | the body is over the size limit |
| 422 | not JSON, against the schema (an unknown event kind included), a repeated id, a time out of range |
| 503 | PostgreSQL cannot be reached; the backend keeps the batch and retries |
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from splice.collector import workflow
from splice.collector.dashboard import csv_table, dashboard_page
from splice.collector.database import Database, Duplicates, Org
from splice.collector.figures import GROUPINGS, dashboard_figures
from splice.collector.validation import MAX_BODY_BYTES, BatchRefused, parsed_batch
from splice.logging import get_logger

log = get_logger()
COOKIE = "splice_admin"
RETAIN_EVERY_S = 3600.0
Handler = Callable[[Request, Org], Awaitable[Response]]


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    """A refusal with its reason."""
    return JSONResponse({"error": message, **extra}, status_code=status)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _read_body(request: Request) -> bytes:
    """The body, refused as soon as it passes the limit (the declared length is not trusted)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BatchRefused(413, f"batch of {declared} bytes is over the limit of {MAX_BODY_BYTES}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BatchRefused(413, f"batch over the limit of {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _authenticated(admin: bool) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler so it runs only for a token of an organization (its ingest or admin token)."""
    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            token = _bearer(request) or (request.cookies.get(COOKIE, "") if admin else "")
            if not token:
                return error(401, "missing token: send 'Authorization: Bearer <token>'")
            database: Database = request.app.state.database
            try:
                org = await database.org_of(token, admin=admin)
                if org is None:
                    return error(401, "wrong token: it names no organization" + (" as an admin" if admin else ""))
                return await handler(request, org)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                log.warning("collector_database_unavailable", error=str(exc))
                return error(503, "the database is unavailable; retry later")
            except workflow.WorkflowError as exc:
                return error(422, str(exc))
        return endpoint
    return wrap


@_authenticated(admin=False)
async def ingest(request: Request, org: Org) -> Response:
    """Store one batch of events."""
    state = request.app.state
    try:
        batch = parsed_batch(await _read_body(request), state.retention_days)
        backend = batch.get("backend") or {}
        assigned = await state.database.ingest(org, batch["events"],
                                               (backend.get("user", ""), backend.get("repository", "")))
    except BatchRefused as exc:
        return error(exc.status, exc.message)
    except ClientDisconnect:
        return error(400, "the backend went away before its batch arrived; nothing stored")
    except Duplicates as exc:
        return error(409, f"replayed batch: {len(exc.ids)} event id(s) already stored; nothing stored",
                     duplicates=exc.ids)
    return JSONResponse({"stored": len(batch["events"]), "assignment": assigned})


@_authenticated(admin=False)
async def assignment(request: Request, org: Org) -> Response:
    """The customization assigned to a user and repository."""
    async with request.app.state.database.pool.connection() as conn:
        assigned = await workflow.assignment(conn, org.id, request.query_params.get("user", ""),
                                             request.query_params.get("repository", ""))
    return JSONResponse({"assignment": assigned})


def _days(request: Request) -> int:
    raw = request.query_params.get("days", "30")
    if not raw.isdigit() or not 1 <= int(raw) <= 3660:
        raise workflow.WorkflowError(f"days must be an integer from 1 to 3660; got {raw!r}")
    return int(raw)


async def _figures(request: Request, org: Org) -> dict[str, Any]:
    async with request.app.state.database.pool.connection() as conn:
        return await dashboard_figures(conn, org.id, _days(request))


@_authenticated(admin=True)
async def figures(request: Request, org: Org) -> Response:
    """Every dashboard table as JSON (what ``splice report --collector`` prints)."""
    return JSONResponse({"org": org.name, **await _figures(request, org)})


@_authenticated(admin=True)
async def dashboard(request: Request, org: Org) -> Response:
    """The dashboard page."""
    return HTMLResponse(dashboard_page(org.name, await _figures(request, org)))


@_authenticated(admin=True)
async def table_csv(request: Request, org: Org) -> Response:
    """One dashboard table as CSV."""
    by = request.path_params["by"]
    if by not in (*GROUPINGS, "all"):
        return error(404, f"no table {by!r}; tables: {', '.join(GROUPINGS)}")
    data = await _figures(request, org)
    rows = [data["overall"]] if by == "all" else data["groups"][by]
    return PlainTextResponse(csv_table(rows), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="splice-{by}.csv"'})


async def login(request: Request) -> Response:
    """The form that sets the admin cookie (GET shows it, POST checks the token)."""
    if request.method == "GET":
        return HTMLResponse("<!doctype html><title>Splice collector</title><form method=post>"
                            "<label>Admin token <input name=token type=password></label> <button>Open</button></form>")
    # Parsed here rather than with request.form(), which would need python-multipart for one field.
    form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0]
    if not token or await request.app.state.database.org_of(token, admin=True) is None:
        return error(401, "wrong token: it names no organization as an admin")
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise workflow.WorkflowError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise workflow.WorkflowError("body must be a JSON object")
    return body


def _actor(request: Request, body: dict[str, Any]) -> str:
    actor = str(body.get("actor") or request.headers.get("x-splice-actor", "")).strip()
    if not actor:
        raise workflow.WorkflowError("say who does this: 'actor' in the body or the X-Splice-Actor header")
    return actor[:128]


@_authenticated(admin=True)
async def customization(request: Request, org: Org) -> Response:
    """The workflow's actions: versions, register, publish, compare, rollback, audit."""
    action = request.path_params["action"]
    body = await _json_body(request) if request.method == "POST" else dict(request.query_params)
    tenant = str(body.get("tenant", ""))
    async with request.app.state.database.pool.connection() as conn, conn.transaction():
        if action == "versions":
            return JSONResponse({"tenant": tenant, "versions": await workflow.versions(conn, org.id, tenant)})
        if action == "audit":
            return JSONResponse({"audit": await workflow.audit_log(conn, org.id)})
        if action == "compare":
            rows = await workflow.compare(conn, org.id, tenant, _int(body, "a"), _int(body, "b"), _days(request))
            return JSONResponse({"tenant": tenant, "rows": rows})
        if request.method != "POST":
            return error(405, f"{action} is a POST")
        actor = _actor(request, body)
        if action == "register":
            manifest = body.get("manifest")
            if not isinstance(manifest, dict):
                raise workflow.WorkflowError("register needs 'manifest': an artifact's manifest.json")
            return JSONResponse(await workflow.register(conn, org.id, actor, manifest))
        if action == "publish":
            members = [(str(m.get("kind")), str(m.get("name", ""))) for m in body.get("members") or []
                       if isinstance(m, dict)]
            count = await workflow.publish(conn, org.id, actor, tenant, _int(body, "version"), members)
            return JSONResponse({"assigned": count})
        if action == "rollback":
            return JSONResponse({"changed": await workflow.rollback(conn, org.id, actor, tenant)})
    return error(404, f"no action {action!r}")


def _int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    try:
        return int(str(value))
    except ValueError as exc:
        raise workflow.WorkflowError(f"{name} must be an integer; got {value!r}") from exc


async def health(request: Request) -> Response:
    """200 when the database answers, 503 otherwise (for a load balancer's checks)."""
    try:
        async with request.app.state.database.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except (psycopg.OperationalError, PoolTimeout):
        return error(503, "database unavailable")
    return JSONResponse({"ok": True})


async def _retain(database: Database, days: int) -> None:
    """Apply the retention period now and then every hour (a failure is logged and tried again)."""
    while True:
        try:
            dropped = await database.retain(days)
            if dropped:
                log.info("collector_retention", partitions_dropped=dropped, days=days)
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("collector_retention_failed", error=str(exc))
        await asyncio.sleep(RETAIN_EVERY_S)


def create_app(conninfo: str, *, retention_days: int, pool_size: int = 8) -> Starlette:
    """The collector application for the PostgreSQL at ``conninfo`` (already migrated)."""
    database = Database(conninfo, max_size=pool_size)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await database.open()
        sweeper = asyncio.get_running_loop().create_task(_retain(database, retention_days))
        yield
        sweeper.cancel()
        await database.close()

    app = Starlette(lifespan=lifespan, routes=[
        Route("/v1/events", ingest, methods=["POST"]),
        Route("/v1/assignment", assignment, methods=["GET"]),
        Route("/v1/figures", figures, methods=["GET"]),
        Route("/v1/customization/{action}", customization, methods=["GET", "POST"]),
        Route("/dashboard", dashboard, methods=["GET"]),
        Route("/dashboard/{by}.csv", table_csv, methods=["GET"]),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/healthz", health, methods=["GET"]),
    ])
    app.state.database = database
    app.state.retention_days = retention_days
    return app


def app_from_environment() -> Starlette:
    """The application as ``splice collector serve --workers N`` starts it in each worker process, from
    the settings the command put in the environment."""
    return create_app(os.environ["SPLICE_COLLECTOR_DATABASE"],
                      retention_days=int(os.environ.get("SPLICE_COLLECTOR_RETENTION_DAYS", "400")),
                      pool_size=int(os.environ.get("SPLICE_COLLECTOR_POOL_SIZE", "8")))
