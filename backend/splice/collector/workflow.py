"""The customization workflow in the collector: a tenant's artifact versions, who gets which, and why.

* Versions are registered from their manifests (``splice collector register``), with the guardrail
  figures ``splice customize`` recorded in them; the collector keeps no artifact, only what it says.
* Publishing assigns a version to a group: users, repositories, or everyone (``all``). A backend asks for
  its assignment as it starts and reads it in every ingest reply, so a change reaches running editors
  within one batch (a second or so while the person types).
* A rollback puts every member of a tenant's group back on the version it had before its last
  publication, in one transaction.
* Comparing two versions reads their live figures from the roll-ups (events carry the version the
  backend was assigned).
* Every action is written to ``audit`` with the actor, in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from splice.collector.figures import row_of
from splice.collector.rollup import COUNTERS

MEMBER_KINDS = ("user", "repository", "all")


class WorkflowError(Exception):
    """An action that cannot be done as asked; the message says why."""


async def audit(conn: AsyncConnection[Any], org_id: int, actor: str, action: str, details: dict[str, Any]) -> None:
    """Record who did what."""
    await conn.execute("INSERT INTO audit (org_id, actor, action, details) VALUES (%s, %s, %s, %s)",
                       (org_id, actor, action, Jsonb(details)))


async def register(conn: AsyncConnection[Any], org_id: int, actor: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Record a version from its manifest (again: its figures are updated)."""
    try:
        tenant, version = str(manifest["tenant"]), int(manifest["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WorkflowError(f"not an artifact manifest: {exc}") from exc
    task_id = manifest.get("lora_task_id")
    row = {"tenant": tenant, "version": version, "task_id": task_id if isinstance(task_id, int) else None,
           "created": str(manifest.get("created", "")), "metrics": manifest.get("metrics") or {},
           "sources": [s.get("name") for s in manifest.get("sources") or [] if isinstance(s, dict)]}
    await conn.execute(
        "INSERT INTO artifact_versions (org_id, tenant, version, task_id, created, metrics, sources) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (org_id, tenant, version) DO UPDATE SET "
        "task_id = EXCLUDED.task_id, created = EXCLUDED.created, metrics = EXCLUDED.metrics, "
        "sources = EXCLUDED.sources",
        (org_id, tenant, version, row["task_id"], row["created"], Jsonb(row["metrics"]), Jsonb(row["sources"])))
    await audit(conn, org_id, actor, "register", {"tenant": tenant, "version": version})
    return row


async def versions(conn: AsyncConnection[Any], org_id: int, tenant: str) -> list[dict[str, Any]]:
    """A tenant's registered versions, newest first, with their guardrail figures and who has each."""
    cur = await conn.execute(
        "SELECT v.version, v.task_id, v.created, v.metrics, v.sources, "
        "(SELECT count(*) FROM assignments a WHERE a.org_id = v.org_id AND a.tenant = v.tenant "
        "AND a.version = v.version) FROM artifact_versions v WHERE v.org_id = %s AND v.tenant = %s "
        "ORDER BY v.version DESC", (org_id, tenant))
    return [{"version": version, "task_id": task_id, "created": created, "metrics": metrics, "sources": sources,
             "assigned_groups": int(groups)}
            for version, task_id, created, metrics, sources, groups in await cur.fetchall()]


async def publish(conn: AsyncConnection[Any], org_id: int, actor: str, tenant: str, version: int,
                  members: Sequence[tuple[str, str]]) -> int:
    """Assign ``version`` of ``tenant`` to ``members`` ((kind, name) pairs); how many were assigned."""
    if not members:
        raise WorkflowError("publish needs a group: --user, --repository or --all")
    for kind, _ in members:
        if kind not in MEMBER_KINDS:
            raise WorkflowError(f"unknown member kind {kind!r}")
    cur = await conn.execute("SELECT 1 FROM artifact_versions WHERE org_id = %s AND tenant = %s AND version = %s",
                             (org_id, tenant, version))
    if await cur.fetchone() is None:
        raise WorkflowError(f"{tenant} has no registered version {version} (splice collector register first)")
    async with conn.cursor() as c:
        await c.executemany(
            "INSERT INTO assignments (org_id, member_kind, member, tenant, version) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (org_id, member_kind, member) DO UPDATE SET tenant = EXCLUDED.tenant, "
            "previous_version = CASE WHEN assignments.tenant = EXCLUDED.tenant "
            "AND assignments.version <> EXCLUDED.version THEN assignments.version "
            "ELSE assignments.previous_version END, version = EXCLUDED.version, assigned_at = now()",
            [(org_id, kind, name, tenant, version) for kind, name in members])
    await audit(conn, org_id, actor, "publish",
                {"tenant": tenant, "version": version, "members": [f"{k}:{n}" for k, n in members]})
    return len(members)


async def rollback(conn: AsyncConnection[Any], org_id: int, actor: str, tenant: str) -> list[dict[str, Any]]:
    """Put every member of ``tenant`` back on its previous version; what changed."""
    cur = await conn.execute(
        "UPDATE assignments SET version = previous_version, previous_version = version, assigned_at = now() "
        "WHERE org_id = %s AND tenant = %s AND previous_version IS NOT NULL "
        "RETURNING member_kind, member, version, previous_version", (org_id, tenant))
    changed = [{"member": f"{kind}:{member}", "version": version, "from": previous}
               for kind, member, version, previous in await cur.fetchall()]
    if not changed:
        raise WorkflowError(f"nothing to roll back: no member of {tenant} has a previous version")
    await audit(conn, org_id, actor, "rollback", {"tenant": tenant, "changed": changed})
    return changed


async def assignment(conn: AsyncConnection[Any], org_id: int, user: str, repository: str) -> dict[str, Any] | None:
    """The version assigned to ``user`` (else to ``repository``, else to everyone), with its task id."""
    cur = await conn.execute(
        "SELECT a.tenant, a.version, v.task_id FROM assignments a LEFT JOIN artifact_versions v "
        "ON v.org_id = a.org_id AND v.tenant = a.tenant AND v.version = a.version WHERE a.org_id = %s AND "
        "((a.member_kind = 'user' AND a.member = %s) OR (a.member_kind = 'repository' AND a.member = %s) "
        "OR a.member_kind = 'all') ORDER BY CASE a.member_kind WHEN 'user' THEN 0 WHEN 'repository' THEN 1 "
        "ELSE 2 END LIMIT 1", (org_id, user, repository))
    row = await cur.fetchone()
    return {"tenant": row[0], "version": row[1], "task_id": row[2]} if row else None


async def compare(conn: AsyncConnection[Any], org_id: int, tenant: str, first: int, second: int,
                  since_days: int) -> list[dict[str, Any]]:
    """The live figures of two versions of ``tenant`` side by side."""
    sums = ", ".join(f"COALESCE(sum({c}), 0)::bigint" for c in COUNTERS)
    rows = []
    for version in (first, second):
        cur = await conn.execute(
            f"SELECT {sums} FROM daily WHERE org_id = %s AND dimension = 'customization' AND value = %s "
            "AND day > current_date - %s", (org_id, f"{tenant} v{version}", since_days))
        values = await cur.fetchone()
        assert values is not None  # an aggregate always returns a row
        rows.append(row_of(f"{tenant} v{version}", dict(zip(COUNTERS, (int(v) for v in values), strict=True))))
    return rows


async def audit_log(conn: AsyncConnection[Any], org_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The latest actions, newest first."""
    cur = await conn.execute("SELECT at, actor, action, details FROM audit WHERE org_id = %s ORDER BY id DESC LIMIT %s",
                             (org_id, limit))
    return [{"at": at.isoformat(), "actor": actor, "action": action, "details": details}
            for at, actor, action, details in await cur.fetchall()]
