"""The collector's PostgreSQL store: migrations, monthly partitions, ingest with de-duplication, retention.

What the schema relies on, for an organization moving to a managed or distributed PostgreSQL:
declarative range partitioning (``PARTITION BY RANGE``), ``INSERT ... ON CONFLICT`` (de-duplication and
roll-up upserts), ``RETURNING``, ``unnest`` of arrays, ``jsonb``, and ``pg_advisory_xact_lock`` (one
migration or partition creation at a time across collector replicas). Nothing else: no extensions, no
triggers, no stored procedures.

* ``events`` is partitioned by month on ``ts``; its key is ``(org_id, ts, id)``, since a unique index on
  a partitioned table must hold the partition key. A backend resends an event with the id *and* time it
  was queued with, so that key is what catches a resend.
* A batch is one transaction: events, roll-ups and accepts commit together or not at all, so a reply of
  200 means stored, and anything else means nothing was (PostgreSQL restarted mid-batch included).
* The dashboard reads ``daily``: counters per day, dimension (language, repository, team, ...) and value,
  added to in each batch's transaction. A team is the one mapped when the batch arrived (the mapping is
  read again every 30 s); remapping a team changes the figures from then on, not the past.
* A batch holding an event already stored is refused whole (409, with the stored ids), so a replay
  stores nothing; the backend removes those ids and sends the rest.
* Migrations are numbered, applied under an advisory lock and recorded, so running them again (a second
  replica, a restart) does nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from splice.collector import workflow
from splice.collector.rollup import COUNTERS, PriorAccept, Rollup, accept_ids

_LOCK_MIGRATE = 7301
_LOCK_PARTITION = 7302
DEFAULT_RETENTION_DAYS = 400
# A request waits this long for a connection before answering 503: shorter than a backend's send timeout,
# so a database that is down is a quick refusal, retried, rather than a hung request.
POOL_WAIT_S = 5.0
CACHE_S = 30.0  # how long a token's organization and a team mapping are kept before they are read again

EVENT_COLUMNS = (
    "kind", "session", "request_id", "completion_id", "language", "engine", "fallback", "length_chars",
    "length_lines", "text_hash", "display_ms", "accepted_length", "splice_chars", "reason", "detail",
    "checkpoint_s", "retained_chars", "typed_chars",
)
_COLUMN_TYPES = {
    "length_chars": "int", "length_lines": "int", "display_ms": "real", "accepted_length": "int",
    "splice_chars": "int", "checkpoint_s": "int", "retained_chars": "int", "typed_chars": "int",
}

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE orgs (
        id serial PRIMARY KEY,
        name text UNIQUE NOT NULL,
        ingest_token_sha256 text UNIQUE NOT NULL,
        admin_token_sha256 text UNIQUE NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE events (
        org_id int NOT NULL, ts timestamptz NOT NULL, id uuid NOT NULL,
        user_name text NOT NULL, repository text NOT NULL, tenant text NOT NULL, version text NOT NULL,
        tenant_version int, kind text NOT NULL, session text, request_id text, completion_id text,
        language text, engine text, fallback text, sources text[], timings jsonb, length_chars int,
        length_lines int, text_hash text, display_ms real, accepted_length int, splice_chars int,
        reason text, detail text, checkpoint_s int, retained_chars int, typed_chars int,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, ts, id)
    ) PARTITION BY RANGE (ts);
    CREATE INDEX events_org_kind_ts ON events (org_id, kind, ts);
    CREATE INDEX events_completion ON events (org_id, completion_id);
    CREATE TABLE daily (
        org_id int NOT NULL, day date NOT NULL, dimension text NOT NULL, value text NOT NULL,
        requests bigint NOT NULL, no_suggestion bigint NOT NULL, fallbacks bigint NOT NULL, shown bigint NOT NULL,
        accepted bigint NOT NULL, partially_accepted bigint NOT NULL, rejected bigint NOT NULL,
        splice_chars bigint NOT NULL, typed_chars bigint NOT NULL,
        retained_30 bigint NOT NULL, inserted_30 bigint NOT NULL, checked_30 bigint NOT NULL,
        retained_120 bigint NOT NULL, inserted_120 bigint NOT NULL, checked_120 bigint NOT NULL,
        retained_600 bigint NOT NULL, inserted_600 bigint NOT NULL, checked_600 bigint NOT NULL,
        PRIMARY KEY (org_id, dimension, day, value)
    );
    CREATE TABLE latency (
        org_id int NOT NULL, day date NOT NULL, engine text NOT NULL, language text NOT NULL,
        stage text NOT NULL, bucket int NOT NULL, count bigint NOT NULL,
        PRIMARY KEY (org_id, day, engine, language, stage, bucket)
    );
    CREATE TABLE accepts (
        org_id int NOT NULL, completion_id text NOT NULL, day date NOT NULL,
        accepted_length int NOT NULL, kind text NOT NULL, splice_chars int NOT NULL,
        PRIMARY KEY (org_id, completion_id)
    );
    CREATE INDEX accepts_day ON accepts (day);
    CREATE TABLE teams (
        org_id int NOT NULL, member_kind text NOT NULL CHECK (member_kind IN ('user', 'repository')),
        member text NOT NULL, team text NOT NULL,
        PRIMARY KEY (org_id, member_kind, member)
    );
    """,
    """
    CREATE TABLE artifact_versions (
        org_id int NOT NULL, tenant text NOT NULL, version int NOT NULL, task_id bigint,
        created text, metrics jsonb NOT NULL, sources jsonb NOT NULL,
        registered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, tenant, version)
    );
    CREATE TABLE assignments (
        org_id int NOT NULL, member_kind text NOT NULL CHECK (member_kind IN ('user', 'repository', 'all')),
        member text NOT NULL, tenant text NOT NULL, version int NOT NULL,
        previous_version int, assigned_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, member_kind, member)
    );
    CREATE TABLE audit (
        id bigserial PRIMARY KEY, org_id int NOT NULL, at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL, action text NOT NULL, details jsonb NOT NULL
    );
    CREATE INDEX audit_org_at ON audit (org_id, at);
    """,
)


class Duplicates(Exception):
    """A batch held events already stored; nothing of it was stored."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"{len(ids)} event(s) already stored")
        self.ids = ids


@dataclass(frozen=True)
class Org:
    """An organization, as a token names it."""

    id: int
    name: str


def token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256, so a copy of the database grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def migrate(conninfo: str) -> int:
    """Bring the schema up to date; returns how many migrations ran (0 when it already was)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        ran = 0
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_MIGRATE,))
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for number, script in enumerate(MIGRATIONS, start=1):
                if number in done:
                    continue
                conn.execute(script)
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))
                ran += 1
        now = dt.datetime.now(dt.UTC)
        ensure_partitions(conn, [now, now + dt.timedelta(days=32)])
    return ran


def _month(ts: dt.datetime) -> dt.date:
    return dt.date(ts.year, ts.month, 1)


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    """The partition holding ``month``'s events."""
    return f"events_{month:%Y_%m}"


def _partition_ddl(month: dt.date) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF events "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')")


def ensure_partitions(conn: psycopg.Connection[Any], times: Sequence[dt.datetime]) -> None:
    """Create the monthly partitions ``times`` fall in (an autocommit connection; creation is serialised)."""
    for month in sorted({_month(t) for t in times}):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_PARTITION,))
            conn.execute(_partition_ddl(month))


def add_org(conninfo: str, name: str) -> tuple[str, str]:
    """Create organization ``name``; returns its new (ingest token, admin token), shown only this once."""
    ingest, admin = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with psycopg.connect(conninfo) as conn:
        conn.execute("INSERT INTO orgs (name, ingest_token_sha256, admin_token_sha256) VALUES (%s, %s, %s)",
                     (name, token_digest(ingest), token_digest(admin)))
    return ingest, admin


def set_team(conninfo: str, org: str, team: str, users: Sequence[str], repositories: Sequence[str]) -> int:
    """Map users and repositories to ``team`` (a user's team wins over its repository's); rows written."""
    rows = [("user", u) for u in users] + [("repository", r) for r in repositories]
    with psycopg.connect(conninfo) as conn:
        found = conn.execute("SELECT id FROM orgs WHERE name = %s", (org,)).fetchone()
        if found is None:
            raise LookupError(f"no organization named {org!r}")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO teams VALUES (%s, %s, %s, %s) ON CONFLICT (org_id, member_kind, member) "
                "DO UPDATE SET team = EXCLUDED.team", [(found[0], kind, member, team) for kind, member in rows])
    return len(rows)


class Database:
    """The pool the collector's requests share."""

    def __init__(self, conninfo: str, *, min_size: int = 2, max_size: int = 8) -> None:
        self.conninfo = conninfo
        self.pool = AsyncConnectionPool(conninfo, min_size=min_size, max_size=max_size, open=False,
                                        check=AsyncConnectionPool.check_connection, timeout=POOL_WAIT_S)
        self._months: set[dt.date] = set()
        # Read on every request, changed rarely: kept for a while rather than asked for each batch.
        self._orgs: dict[tuple[str, bool], tuple[Org, float]] = {}
        self._teams: dict[int, tuple[Callable[[str, str], str], float]] = {}

    async def open(self) -> None:
        """Open the pool (the schema must have been migrated)."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        """Close the pool."""
        await self.pool.close()

    async def org_of(self, token: str, *, admin: bool = False) -> Org | None:
        """The organization ``token`` belongs to (as an ingest or an admin token), or None."""
        digest = token_digest(token)
        cached = self._orgs.get((digest, admin))
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        column = "admin_token_sha256" if admin else "ingest_token_sha256"
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"SELECT id, name FROM orgs WHERE {column} = %s", (digest,))
            row = await cur.fetchone()
        if row is None:
            return None
        org = Org(row[0], row[1])
        self._orgs[(digest, admin)] = (org, time.monotonic() + CACHE_S)
        return org

    async def ingest(self, org: Org, events: Sequence[Mapping[str, Any]],
                     backend: tuple[str, str]) -> dict[str, Any] | None:
        """Store ``events`` and their roll-ups in one transaction (Duplicates when any was stored before);
        then the assignment of ``backend`` (user, repository), on the same connection."""
        times = [dt.datetime.fromtimestamp(e["ts_ms"] / 1000, tz=dt.UTC) for e in events]
        missing = [t for t in times if _month(t) not in self._months]
        async with self.pool.connection() as conn:
            if missing:
                await conn.set_autocommit(True)
                await _ensure_partitions_async(conn, missing)
                self._months.update(_month(t) for t in missing)
                await conn.set_autocommit(False)
            async with conn.transaction():
                stored = await _insert_events(conn, org.id, events, times)
                if len(stored) < len(events):
                    raise Duplicates(sorted({str(e["id"]) for e in events} - stored))
                await _fold(conn, org.id, events, await self._team_of(conn, org.id))
            return await workflow.assignment(conn, org.id, *backend)

    async def _team_of(self, conn: psycopg.AsyncConnection[Any], org_id: int) -> Callable[[str, str], str]:
        cached = self._teams.get(org_id)
        if cached is None or cached[1] <= time.monotonic():
            cached = self._teams[org_id] = (await _teams(conn, org_id), time.monotonic() + CACHE_S)
        return cached[0]

    async def retain(self, days: int) -> int:
        """Drop what is older than ``days`` days: whole monthly partitions, roll-ups and accepts."""
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        dropped = 0
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'")
            for (name,) in await cur.fetchall():
                year, month = int(name[7:11]), int(name[12:14])
                if _next_month(dt.date(year, month, 1)) <= cutoff.date():
                    await conn.execute(f"DROP TABLE {name}")
                    self._months.discard(dt.date(year, month, 1))
                    dropped += 1
            for table in ("daily", "latency", "accepts"):
                await conn.execute(f"DELETE FROM {table} WHERE day < %s",
                                   (cutoff.date(),))
            await conn.commit()
        return dropped


async def _ensure_partitions_async(conn: psycopg.AsyncConnection[Any], times: Sequence[dt.datetime]) -> None:
    for month in sorted({_month(t) for t in times}):
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_PARTITION,))
            await conn.execute(_partition_ddl(month))


async def _insert_events(conn: psycopg.AsyncConnection[Any], org_id: int, events: Sequence[Mapping[str, Any]],
                         times: Sequence[dt.datetime]) -> set[str]:
    """Insert the events not stored yet; the ids that were inserted."""
    columns = {
        "ts": (times, "timestamptz"),
        "id": ([e["id"] for e in events], "uuid"),
        "user_name": ([str(e.get("user") or "") for e in events], "text"),
        "repository": ([str(e.get("repository") or "") for e in events], "text"),
        "tenant": ([str(e.get("tenant") or "") for e in events], "text"),
        "version": ([str(e.get("version") or "") for e in events], "text"),
        "tenant_version": ([e.get("tenant_version") for e in events], "int"),
        "sources": ([json.dumps(e.get("sources") or []) for e in events], "text"),
        "timings": ([json.dumps(e["timings_ms"]) if e.get("timings_ms") else None for e in events], "text"),
        **{c: ([e.get(c) for e in events], _COLUMN_TYPES.get(c, "text")) for c in EVENT_COLUMNS},
    }
    names = list(columns)
    selects = ", ".join(
        "ARRAY(SELECT jsonb_array_elements_text(s::jsonb))" if n == "sources" else
        ("t::jsonb" if n == "timings" else n) for n in names)
    aliases = ", ".join("s" if n == "sources" else ("t" if n == "timings" else n) for n in names)
    casts = ", ".join(f"%s::{kind}[]" for _, kind in columns.values())
    query = (f"INSERT INTO events (org_id, {', '.join(names)}) "
             f"SELECT %s, {selects} FROM unnest({casts}) AS u({aliases}) "
             "ON CONFLICT DO NOTHING RETURNING id")
    cur = await conn.execute(query, (org_id, *(values for values, _ in columns.values())))
    return {row[0].hex for row in await cur.fetchall()}


async def _fold(conn: psycopg.AsyncConnection[Any], org_id: int, events: Sequence[Mapping[str, Any]],
                teams: Callable[[str, str], str]) -> None:
    """Add the batch to the roll-ups, reading (and locking) the stored accepts of its suggestions."""
    ids = accept_ids(events)
    prior: dict[str, PriorAccept] = {}
    if ids:
        cur = await conn.execute("SELECT completion_id, accepted_length, kind, splice_chars FROM accepts "
                                 "WHERE org_id = %s AND completion_id = ANY(%s) FOR UPDATE", (org_id, ids))
        prior = {row[0]: PriorAccept(row[1], row[2], row[3]) for row in await cur.fetchall()}
    rollup = Rollup()
    rollup.fold(sorted(events, key=lambda e: e["ts_ms"]), prior)
    if rollup.accepts:
        day = dt.datetime.now(dt.UTC).date()
        accepts = sorted(rollup.accepts.items())
        await _upsert(conn, "accepts", {
            "org_id": ("int", [org_id] * len(accepts)), "completion_id": ("text", [cid for cid, _ in accepts]),
            "day": ("date", [day] * len(accepts)),
            "accepted_length": ("int", [a.accepted_length for _, a in accepts]),
            "kind": ("text", [a.kind for _, a in accepts]),
            "splice_chars": ("int", [a.splice_chars for _, a in accepts]),
        }, "(org_id, completion_id)", "accepted_length = EXCLUDED.accepted_length, kind = EXCLUDED.kind, "
                                      "splice_chars = EXCLUDED.splice_chars")
    # Sorted, so two batches touching the same rows lock them in one order and cannot deadlock.
    daily = sorted(rollup.daily(teams).items())
    await _upsert(conn, "daily", {
        "org_id": ("int", [org_id] * len(daily)), "day": ("date", [k[0] for k, _ in daily]),
        "dimension": ("text", [k[1] for k, _ in daily]), "value": ("text", [k[2] for k, _ in daily]),
        **{c: ("bigint", [v[i] for _, v in daily]) for i, c in enumerate(COUNTERS)},
    }, "(org_id, dimension, day, value)", ", ".join(f"{c} = daily.{c} + EXCLUDED.{c}" for c in COUNTERS))
    if rollup.latency:
        latency = sorted(rollup.latency.items())
        await _upsert(conn, "latency", {
            "org_id": ("int", [org_id] * len(latency)),
            **{name: (kind, [k[i] for k, _ in latency]) for i, (name, kind) in enumerate(
                (("day", "date"), ("engine", "text"), ("language", "text"), ("stage", "text"), ("bucket", "int")))},
            "count": ("bigint", [count for _, count in latency]),
        }, "(org_id, day, engine, language, stage, bucket)", "count = latency.count + EXCLUDED.count")


async def _upsert(conn: psycopg.AsyncConnection[Any], table: str, columns: dict[str, tuple[str, list[Any]]],
                  conflict: str, update: str) -> None:
    """Insert or update many rows in one statement (arrays unnested), rather than one statement a row."""
    names = ", ".join(columns)
    arrays = ", ".join(f"%s::{kind}[]" for kind, _ in columns.values())
    await conn.execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "
                       f"ON CONFLICT {conflict} DO UPDATE SET {update}",
                       [values for _, values in columns.values()])


async def _teams(conn: psycopg.AsyncConnection[Any], org_id: int) -> Callable[[str, str], str]:
    """The organization's team mapping as it is now: a user's own team, else its repository's, else ""."""
    cur = await conn.execute("SELECT member_kind, member, team FROM teams WHERE org_id = %s", (org_id,))
    users: dict[str, str] = {}
    repositories: dict[str, str] = {}
    for kind, member, team in await cur.fetchall():
        (users if kind == "user" else repositories)[member] = team
    return lambda user, repository: users.get(user) or repositories.get(repository, "")
