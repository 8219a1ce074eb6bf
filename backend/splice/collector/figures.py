"""The dashboard's figures, read from the daily roll-ups: per language, repository, team, tenant, engine,
Splice version and day, with the sample size of every rate.

The rates are :class:`splice.telemetry.metrics.Figures`' own properties, so a figure on the dashboard
means exactly what it means in ``splice report`` on one machine. A user's team comes from the ``teams``
mapping when the events arrived (the user's entry first, else the repository's); unmapped ones are
grouped as ``(no team)``.
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

GROUPINGS = ("language", "repository", "team", "tenant", "customization", "engine", "version", "day")
MIN_SAMPLE = 30  # below this many, a rate is shown with a note that it is too small to trust
STAGES = ("context", "engine", "postprocess", "total")
_EMPTY = {"team": "(no team)", "tenant": "(none)", "customization": "(none)", "language": "unknown",
          "repository": "(none)", "engine": "(none)", "version": "unknown"}


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
                           "groups": {by: [] for by in GROUPINGS}}
    out["overall"] = row_of("all", dict.fromkeys(COUNTERS, 0))
    sums = ", ".join(f"sum({c})::bigint" for c in COUNTERS)
    cur = await conn.execute(
        f"SELECT dimension, CASE WHEN dimension = 'all' THEN day::text ELSE value END, {sums} FROM daily "
        "WHERE org_id = %s AND day >= %s GROUP BY 1, 2 ORDER BY 1, 2", (org_id, start))
    overall = dict.fromkeys(COUNTERS, 0)
    for dimension, key, *values in await cur.fetchall():
        counts = dict(zip(COUNTERS, (int(v) for v in values), strict=True))
        if dimension == "all":  # one row per day: the over-time table, and the sum of them all
            out["groups"]["day"].append(row_of(key, counts))
            overall = {c: overall[c] + counts[c] for c in COUNTERS}
        elif dimension in out["groups"]:
            if dimension == "engine" and not key and not counts["requests"] and not counts["shown"]:
                continue  # typing only: it has no engine
            out["groups"][dimension].append(row_of(key or _EMPTY.get(dimension, ""), counts,
                                                   typing_known=dimension != "engine"))
    out["overall"] = row_of("all", overall)
    out["latency"] = await _latency(conn, org_id, start)
    return out


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
