"""The dashboard page and its CSV tables, rendered from :func:`splice.collector.figures.dashboard_figures`.

One self-contained HTML page: charts are inline SVG and the styles are inline, so it loads nothing from
anywhere else (a collector inside an organization's network may reach nothing outside it). Every rate
is printed with its sample size, and a rate over fewer than ``min_sample`` is marked as too small to trust.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from typing import Any

from splice.collector.figures import GROUPINGS
from splice.telemetry.events import CHECKPOINTS_S

CSV_COLUMNS = ("key", "requests", "shown", "accepted", "acceptance_rate", "share_of_code", "splice_chars",
               "typed_chars", "chars_per_opportunity", "retained_30s", "retained_2m", "retained_10m",
               "fallbacks", "no_suggestion", "rejected")
_CHECKPOINT_LABELS = {30: "30 s", 120: "2 min", 600: "10 min"}
_STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
.tiles{display:flex;flex-wrap:wrap;gap:12px}.tile{border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;
min-width:150px}.tile b{display:block;font-size:22px}.small{color:#9a6700}.n{color:#57606a;font-size:12px}
table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #d0d7de;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}svg text{font:11px system-ui,sans-serif}
"""


def pct(value: float | None) -> str:
    """A rate as a percentage, or a dash when there is nothing to divide."""
    return "—" if value is None else f"{value * 100:.1f}%"


def num(value: float | None, digits: int = 2) -> str:
    """A number, or a dash."""
    return "—" if value is None else f"{value:.{digits}f}"


def rate_cell(value: float | None, n: int, min_sample: int) -> str:
    """A rate with its sample size, and the too-small note when it is."""
    note = " (too few to trust)" if 0 < n < min_sample else ""
    return f"{pct(value)} (n={n}){note}"


def table_rows(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """The CSV cells of a grouping's rows (rates as fractions, blanks where unknown)."""
    def cell(value: Any) -> str:
        return "" if value is None else (f"{value:.6f}" if isinstance(value, float) else str(value))

    return [[cell(r["key"]), cell(r["requests"]), cell(r["shown"]), cell(r["accepted"]), cell(r["acceptance_rate"]),
             cell(r["share_of_code"]), cell(r["splice_chars"]), cell(r["typed_chars"]),
             cell(r["chars_per_opportunity"]),
             *(cell(r["retention"][str(c)]["rate"]) for c in CHECKPOINTS_S),
             cell(r["fallbacks"]), cell(r["no_suggestion"]), cell(r["rejected"])] for r in rows]


def csv_table(rows: Sequence[dict[str, Any]]) -> str:
    """One grouping as CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(table_rows(rows))
    return out.getvalue()


def _bars(rows: Sequence[dict[str, Any]], title: str) -> str:
    """A horizontal bar chart of acceptance rates, one bar per row."""
    shown = [r for r in rows if r["acceptance_rate"] is not None][:20]
    if not shown:
        return ""
    height = 22 * len(shown) + 30
    parts = [f'<svg class="chart" role="img" aria-label="{html.escape(title)}" width="620" height="{height}">',
             f'<text x="0" y="14">{html.escape(title)}</text>']
    for i, row in enumerate(shown):
        y = 24 + 22 * i
        width = max(1.0, 400 * float(row["acceptance_rate"]))
        parts.append(f'<text x="0" y="{y + 13}">{html.escape(str(row["key"])[:22])}</text>'
                     f'<rect x="160" y="{y}" width="{width:.1f}" height="16" fill="#2f81f7"/>'
                     f'<text x="{165 + width:.1f}" y="{y + 13}">{pct(row["acceptance_rate"])} n={row["shown"]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _line(rows: Sequence[dict[str, Any]], title: str) -> str:
    """Acceptance rate per day as a line."""
    points = [(r["key"], r["acceptance_rate"]) for r in rows if r["acceptance_rate"] is not None]
    if not points:
        return ""
    step = 560 / max(1, len(points) - 1)
    xy = [(40 + i * step, 180 - 160 * float(rate)) for i, (_, rate) in enumerate(points)]
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2f81f7"/>' for x, y in xy)
    labels = "".join(f'<text x="{40 + i * step:.1f}" y="198" text-anchor="middle">{html.escape(day[5:])}</text>'
                     for i, (day, _) in enumerate(points) if len(points) <= 12 or i % (len(points) // 12 + 1) == 0)
    return (f'<svg class="chart" role="img" aria-label="{html.escape(title)}" width="620" height="205">'
            f'<text x="0" y="12">{html.escape(title)}</text>'
            '<line x1="40" y1="180" x2="600" y2="180" stroke="#8c959f"/>'
            '<text x="0" y="184">0%</text><text x="0" y="24">100%</text>'
            f'<polyline fill="none" stroke="#2f81f7" stroke-width="2" points="{coords}"/>{dots}{labels}</svg>')


def _tiles(overall: dict[str, Any], min_sample: int) -> str:
    tiles = [("acceptance rate", overall["acceptance_rate"], overall["acceptance_n"]),
             ("share of code written", overall["share_of_code"],
              (overall["splice_chars"] or 0) + (overall["typed_chars"] or 0))]
    tiles += [(f"retained after {_CHECKPOINT_LABELS[c]}", overall["retention"][str(c)]["rate"],
               overall["retention"][str(c)]["n"]) for c in CHECKPOINTS_S]
    out = []
    for label, value, n in tiles:
        small = '<span class="small">too few to trust</span>' if 0 < n < min_sample else ""
        out.append(f'<div class="tile">{html.escape(label)}<b>{pct(value)}</b>'
                   f'<span class="n">n={n}</span> {small}</div>')
    out.append(f'<div class="tile">characters per opportunity<b>{num(overall["chars_per_opportunity"])}</b>'
               f'<span class="n">n={overall["requests"]}</span></div>')
    out.append(f'<div class="tile">fallbacks<b>{overall["fallbacks"]}</b>'
               f'<span class="n">of {overall["requests"]} requests</span></div>')
    return '<div class="tiles">' + "".join(out) + "</div>"


def _table(by: str, rows: Sequence[dict[str, Any]], min_sample: int) -> str:
    head = ["", "requests", "shown", "accepted", "acceptance", "share of code", "chars/opp",
            *(f"kept {_CHECKPOINT_LABELS[c]}" for c in CHECKPOINTS_S), "fallbacks"]
    body = []
    for r in rows:
        share_n = (r["splice_chars"] or 0) + (r["typed_chars"] or 0)
        cells = [str(r["key"]), str(r["requests"]), str(r["shown"]), str(r["accepted"]),
                 rate_cell(r["acceptance_rate"], r["acceptance_n"], min_sample),
                 pct(r["share_of_code"]) + (f" (n={share_n} chars)" if r["typed_chars"] is not None else ""),
                 num(r["chars_per_opportunity"]),
                 *(rate_cell(r["retention"][str(c)]["rate"], r["retention"][str(c)]["n"], min_sample)
                   for c in CHECKPOINTS_S), str(r["fallbacks"])]
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return (f'<table id="table-{by}"><tr>' + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
            + "".join(body) + f'</table><a href="/dashboard/{by}.csv?days=__DAYS__">CSV</a>')


def _latency(rows: Sequence[dict[str, Any]]) -> str:
    body = "".join(f"<tr><td>{html.escape(r['engine'])}</td><td>{html.escape(r['stage'])}</td><td>{r['n']}</td>"
                   f"<td>{num(r['p50'], 1)}</td><td>{num(r['p90'], 1)}</td><td>{num(r['p99'], 1)}</td></tr>"
                   for r in rows)
    return ('<table id="table-latency"><tr><th>engine</th><th>stage</th><th>n</th><th>p50 ms</th><th>p90 ms</th>'
            f"<th>p99 ms</th></tr>{body}</table>")


def dashboard_page(org: str, figures: dict[str, Any]) -> str:
    """The whole page."""
    min_sample = figures["min_sample"]
    groups = figures["groups"]
    sections = [_tiles(figures["overall"], min_sample), "<h2>Over time</h2>",
                _line(groups["day"], "acceptance rate per day (UTC)"), _table("day", groups["day"], min_sample)]
    for by in GROUPINGS:
        if by == "day":
            continue
        sections += [f"<h2>By {by}</h2>", _bars(groups[by], f"acceptance rate by {by}"),
                     _table(by, groups[by], min_sample)]
    sections += ["<h2>Latency by stage</h2>", _latency(figures["latency"])]
    body = "\n".join(sections).replace("__DAYS__", str(figures["since_days"]))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Splice — {html.escape(org)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>Splice adoption — {html.escape(org)}</h1>"
            f"<p>The last {figures['since_days']} days (from {figures['from']}, UTC). Rates below "
            f"{min_sample} samples are marked too few to trust. Show the last "
            + ", ".join(f'<a href="/dashboard?days={d}">{d} days</a>' for d in (1, 7, 30, 90, 365))
            + f".</p>{body}</body></html>")


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
                     for row in [header, *rows])


def terminal_report(figures: dict[str, Any]) -> str:
    """The dashboard's figures as text tables (``splice report --collector``)."""
    min_sample = figures["min_sample"]
    head = ["", "requests", "shown", "accepted", "acceptance", "share", "chars/opp",
            *(f"kept {_CHECKPOINT_LABELS[c]}" for c in CHECKPOINTS_S), "fallbacks"]

    def rows(group: Sequence[dict[str, Any]]) -> list[list[str]]:
        return [[str(r["key"]), str(r["requests"]), str(r["shown"]), str(r["accepted"]),
                 rate_cell(r["acceptance_rate"], r["acceptance_n"], min_sample), pct(r["share_of_code"]),
                 num(r["chars_per_opportunity"]),
                 *(rate_cell(r["retention"][str(c)]["rate"], r["retention"][str(c)]["n"], min_sample)
                   for c in CHECKPOINTS_S), str(r["fallbacks"])] for r in group]

    parts = [f"Splice adoption for {figures.get('org', '')}: the last {figures['since_days']} days "
             f"(from {figures['from']}, UTC)", _text_table(head, rows([figures["overall"]]))]
    for by in GROUPINGS:
        parts.append(f"\nby {by}\n" + _text_table(head, rows(figures["groups"][by])))
    latency = [[r["engine"], r["stage"], str(r["n"]), num(r["p50"], 1), num(r["p90"], 1), num(r["p99"], 1)]
               for r in figures["latency"]]
    parts.append("\nlatency by stage (ms)\n" + _text_table(["engine", "stage", "n", "p50", "p90", "p99"], latency))
    return "\n".join(parts) + "\n"
