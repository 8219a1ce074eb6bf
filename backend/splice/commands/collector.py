"""``splice collector``: run the organization's telemetry collector, and drive its customization workflow.

Server side (``--database``, else ``SPLICE_COLLECTOR_DATABASE``): ``serve``, ``migrate``, ``add-org``,
``set-team``. Admin side (``--url`` of a running collector and ``--admin-token``, else
``SPLICE_ADMIN_TOKEN``): ``register``, ``versions``, ``publish``, ``compare``, ``rollback``, ``audit``.
Every refusal (a wrong token, a version never registered, a database that cannot be reached) is one line
on stderr and exit code 1; a value that cannot be used is exit code 2.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from splice.commands import arguments

DEFAULT_PORT = 8470


class _UsageError(Exception):
    """A value the command cannot use (exit code 2)."""


def _database(args: argparse.Namespace) -> str:
    url = args.database or os.environ.get("SPLICE_COLLECTOR_DATABASE", "")
    if not url:
        raise _UsageError("a PostgreSQL connection string is needed: --database or SPLICE_COLLECTOR_DATABASE")
    return str(url)


async def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only the service needs it

    from splice.collector.app import create_app  # noqa: PLC0415
    from splice.collector.database import migrate  # noqa: PLC0415

    conninfo = _database(args)
    ran = migrate(conninfo)
    sys.stderr.write(f"splice: schema up to date ({ran} migration(s) applied)\n")
    if args.workers > 1:
        # Worker processes build the application themselves, from these variables.
        os.environ.update(SPLICE_COLLECTOR_DATABASE=conninfo, SPLICE_COLLECTOR_RETENTION_DAYS=str(args.retention_days),
                          SPLICE_COLLECTOR_POOL_SIZE=str(args.pool_size))
        # The supervisor is synchronous and must own the main thread's signals: it blocks this loop, which
        # has nothing else to do.
        uvicorn.run("splice.collector.app:app_from_environment", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
        return 0
    app = create_app(conninfo, retention_days=args.retention_days, pool_size=args.pool_size)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=5)
    await uvicorn.Server(config).serve()
    return 0


async def _server_side(args: argparse.Namespace) -> int:
    from splice.collector.database import add_org, migrate, set_team  # noqa: PLC0415

    conninfo = _database(args)
    if args.action == "migrate":
        sys.stdout.write(f"{migrate(conninfo)} migration(s) applied\n")
    elif args.action == "add-org":
        migrate(conninfo)
        ingest, admin = add_org(conninfo, args.name)
        sys.stdout.write(json.dumps({"org": args.name, "ingest_token": ingest, "admin_token": admin}) + "\n")
        sys.stderr.write("splice: the tokens are shown only now; the database keeps their SHA-256\n")
    else:
        count = set_team(conninfo, args.org, args.team, args.user, args.repository)
        sys.stdout.write(f"{count} member(s) of team {args.team}\n")
    return 0


def _manifests(artifacts: Path, tenant: str) -> list[dict[str, Any]]:
    versions = artifacts / tenant / "versions"
    if not versions.is_dir():
        raise _UsageError(f"no versions of {tenant} under {artifacts} (splice customize --out)")
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(versions.glob("v*/manifest.json"))]


def _admin_call(args: argparse.Namespace, client: Any) -> Any:
    token = client.admin_token(args.admin_token)
    actor = args.actor or getpass.getuser()
    path = f"/v1/customization/{args.action}"
    if args.action == "register":
        return [client.call(args.url, token, "POST", "/v1/customization/register",
                            body={"actor": actor, "manifest": m}) for m in _manifests(args.artifacts, args.tenant)]
    if args.action == "publish":
        members = [{"kind": "all", "name": ""}] if args.all else []
        members += [{"kind": "user", "name": u} for u in args.user]
        members += [{"kind": "repository", "name": r} for r in args.repository]
        return client.call(args.url, token, "POST", path, body={"actor": actor, "tenant": args.tenant,
                                                                "version": args.version, "members": members})
    if args.action == "rollback":
        return client.call(args.url, token, "POST", path, body={"actor": actor, "tenant": args.tenant})
    if args.action == "compare":
        return client.call(args.url, token, "GET", path, query={"tenant": args.tenant, "a": args.first,
                                                                "b": args.second, "days": args.days})
    query = {"tenant": args.tenant} if args.action == "versions" else None
    return client.call(args.url, token, "GET", path, query=query)


async def _admin_side(args: argparse.Namespace) -> int:
    from splice.collector import client  # noqa: PLC0415

    try:
        reply = _admin_call(args, client)
    except client.CollectorError as exc:
        sys.stderr.write(f"splice: {exc}\n")
        return 1
    sys.stdout.write(json.dumps(reply, indent=2, sort_keys=True) + "\n")
    return 0


async def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    import psycopg  # noqa: PLC0415 - only the server-side actions need it

    try:
        if args.action == "serve":
            return await _serve(args)
        if args.action in ("migrate", "add-org", "set-team"):
            return await _server_side(args)
        return await _admin_side(args)
    except _UsageError as exc:
        sys.stderr.write(f"splice: {exc}\n")
        return 2
    except (psycopg.Error, LookupError, OSError) as exc:  # an unreachable database, a name taken or unknown
        message = " ".join(str(exc).split())
        sys.stderr.write(f"splice: {type(exc).__name__}: {message}\n")
        return 1


def _server_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                   help_text: str) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help_text)
    parser.add_argument("--database", help="PostgreSQL connection string (default: SPLICE_COLLECTOR_DATABASE)")
    return parser


def _admin_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                  help_text: str, *, tenant: bool = True) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help_text)
    parser.add_argument("--url", required=True, help="the collector, e.g. http://collector:8470")
    parser.add_argument("--admin-token", help="the organization's admin token (default: SPLICE_ADMIN_TOKEN)")
    parser.add_argument("--actor", help="who does this, for the audit log (default: your user name)")
    if tenant:
        parser.add_argument("--tenant", required=True, type=arguments.tenant)
    return parser


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``collector`` and its actions."""
    collector = commands.add_parser("collector", help="the organization's telemetry collector, dashboard and "
                                                      "customization workflow")
    actions = collector.add_subparsers(dest="action", required=True)
    serve = _server_parser(actions, "serve", "run the collector (migrates the schema first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=arguments.integer(1), default=DEFAULT_PORT)
    serve.add_argument("--retention-days", type=arguments.integer(1), default=400, metavar="DAYS")
    serve.add_argument("--pool-size", type=arguments.integer(1), default=8, help="database connections per worker")
    serve.add_argument("--workers", type=arguments.integer(1), default=1, help="worker processes (one per core)")
    _server_parser(actions, "migrate", "apply the schema's migrations (running it again does nothing)")
    org = _server_parser(actions, "add-org", "create an organization and print its ingest and admin tokens")
    org.add_argument("name")
    team = _server_parser(actions, "set-team", "map users and repositories to a team")
    team.add_argument("--org", required=True)
    team.add_argument("team")
    team.add_argument("--user", action="append", default=[])
    team.add_argument("--repository", action="append", default=[])
    register = _admin_parser(actions, "register", "register a tenant's artifact versions from their manifests")
    register.add_argument("--artifacts", type=Path, required=True, help="the artifacts root (splice customize --out)")
    _admin_parser(actions, "versions", "list a tenant's versions with their guardrail figures")
    publish = _admin_parser(actions, "publish", "assign a version to users, repositories or everyone")
    publish.add_argument("--version", type=arguments.integer(1), required=True)
    publish.add_argument("--user", action="append", default=[])
    publish.add_argument("--repository", action="append", default=[])
    publish.add_argument("--all", action="store_true", help="everyone in the organization")
    compare = _admin_parser(actions, "compare", "two versions' live acceptance side by side")
    compare.add_argument("first", type=arguments.integer(1))
    compare.add_argument("second", type=arguments.integer(1))
    compare.add_argument("--days", type=arguments.integer(1), default=30)
    _admin_parser(actions, "rollback", "put every member back on its previous version")
    _admin_parser(actions, "audit", "who did what, newest first", tenant=False)
