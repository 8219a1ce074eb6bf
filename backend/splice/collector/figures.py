"""The dashboard's figures, read from the daily roll-ups: per language, repository, team, tenant, engine,
Splice version and day, with the sample size of every rate.

The rates are :class:`splice.telemetry.metrics.Figures`' own properties, so a figure on the dashboard
means exactly what it means in ``splice report`` on one machine. A user's team comes from the ``teams``
mapping (the user's entry first, else the repository's); unmapped rows are grouped as ``(no team)``.
Typing has no engine, so per engine the share of code is not known (as in the local report).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from psycopg import AsyncConnection

from splice.collector.rollup import COUNTERS, percentile_of
from splice.telemetry.events import CHECKPOINTS_S
from splice.telemetry.metrics import PERCENTILES, Figures

GROUPINGS = ("language", "repository", "team", "tenant", "engine", "version", "day")
MIN_SAMPLE = 30  # below this many, a rate is shown with a note that it is too small to trust
STAGES = ("context", "engine", "postprocess", "total")
_KEY = {
    "language": "d.language", "repository": "d.repository", "tenant": "d.tenant", "engine": "d.engine",
    "version": "d.version", "day": "d.day::text", "team": "COALESCE(tu.team, tr.team, '')",
    "all": "'all'",
}
_EMPTY = {"team": "(no team)", "tenant": "(none)", "language": "unknown", "repository": "(none)",
          "engine": "(none)", "version": "unknown"}


def figures_of(counts: dict[str, int], *, typing_known: bool = True) -> Figures:
    """Summed roll-up counters as the local report's Figures."""
    return Figures(
        opportunities=counts["requests"], shown=counts["shown"], accepted=counts["accepted"],
        partially_accepted=counts["partially_accepted"], splice_chars=counts["splice_chars"],
        typed_chars=counts["typed_chars"], typing_known=typing_known,
        retained={c: (counts[f"retained_{c}"], counts[f"inserted_{c}"]) for c in CHECKPOINTS_S
                  if counts[f"checked_{c}"]},
    )


def row_of(key: str, counts: dict[str, int], *, typing_known: bool = True) -> dict[str, Any]:
    """One table row: counts, rates and each rate's sample size."""
    f = figures_of(counts, typing_known=typing_known)
    return {
        "key": key, "requests": f.opportunities, "shown": f.shown, "accepted": f.accepted + f.partially_accepted,
        "acceptance_rate": f.acceptance_rate, "acceptance_n": f.shown,
        "share_of_code": f.share_of_code, "splice_chars": f.splice_chars,
        "typed_chars": f.typed_chars if typing_known else None,
        "chars_per_opportunity": f.chars_per_opportunity,
        "retention": {str(c): {"rate": f.retention_rate(c), "n": counts[f"checked_{c}"]} for c in CHECKPOINTS_S},
        "fallbacks": counts["fallbacks"], "no_suggestion": counts["no_suggestion"], "rejected": counts["rejected"],
    }


async def dashboard_figures(conn: AsyncConnection[Any], org_id: int, since_days: int) -> dict[str, Any]:
    """Every table of the dashboard for the last ``since_days`` days (UTC days, today included)."""
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=since_days - 1)
    out: dict[str, Any] = {"since_days": since_days, "from": start.isoformat(), "min_sample": MIN_SAMPLE,
                           "groups": {}}
    overall = await _grouped(conn, org_id, start, "all")
    out["overall"] = overall[0] if overall else row_of("all", dict.fromkeys(COUNTERS, 0))
    for by in GROUPINGS:
        out["groups"][by] = await _grouped(conn, org_id, start, by)
    out["latency"] = await _latency(conn, org_id, start)
    return out


async def _grouped(conn: AsyncConnection[Any], org_id: int, start: dt.date, by: str) -> list[dict[str, Any]]:
    sums = ", ".join(f"sum(d.{c})::bigint" for c in COUNTERS)
    query = (f"SELECT {_KEY[by]} AS key, {sums} FROM daily d "
             "LEFT JOIN teams tu ON tu.org_id = d.org_id AND tu.member_kind = 'user' AND tu.member = d.user_name "
             "LEFT JOIN teams tr ON tr.org_id = d.org_id AND tr.member_kind = 'repository' "
             "AND tr.member = d.repository "
             "WHERE d.org_id = %s AND d.day >= %s GROUP BY 1 ORDER BY 1")
    cur = await conn.execute(query, (org_id, start))
    rows = []
    for key, *values in await cur.fetchall():
        counts = dict(zip(COUNTERS, (int(v) for v in values), strict=True))
        if by == "engine" and not key and not counts["requests"] and not counts["shown"]:
            continue  # typing only: it has no engine
        rows.append(row_of(str(key) or _EMPTY.get(by, ""), counts, typing_known=by != "engine"))
    return rows


async def _latency(conn: AsyncConnection[Any], org_id: int, start: dt.date) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT engine, stage, bucket, sum(count)::bigint FROM latency "
                             "WHERE org_id = %s AND day >= %s GROUP BY 1, 2, 3", (org_id, start))
    histograms: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for engine, stage, bucket, count in await cur.fetchall():
        for key in ((engine, stage), ("all", stage)):
            histograms[key][bucket] = histograms[key].get(bucket, 0) + int(count)
    order = {s: i for i, s in enumerate(STAGES)}
    rows = []
    for (engine, stage), histogram in sorted(histograms.items(),
                                             key=lambda kv: (kv[0][0] != "all", kv[0][0], order.get(kv[0][1], 9))):
        rows.append({"engine": engine, "stage": stage, "n": sum(histogram.values()),
                     **{f"p{p}": percentile_of(histogram, p) for p in PERCENTILES}})
    return rows
