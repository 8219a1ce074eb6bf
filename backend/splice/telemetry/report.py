"""``splice report`` output: a text summary for the terminal and a self-contained HTML dashboard.

The HTML file embeds its plots as PNG data URIs, so it can be mailed or attached to a ticket as one file.
matplotlib is imported only when an HTML report is asked for, with the non-interactive Agg backend.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

from splice.telemetry.events import CHECKPOINTS_S, Event
from splice.telemetry.metrics import GROUPINGS, PERCENTILES, Figures, figures

STAGES = ("context", "engine", "postprocess", "total")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def summary_rows(groups: dict[str, Figures]) -> list[list[str]]:
    """One table row per group: the headline figures."""
    rows = []
    for name, f in groups.items():
        rows.append([
            name, str(f.opportunities), str(f.shown), str(f.accepted + f.partially_accepted),
            _pct(f.acceptance_rate), *(_pct(f.retention_rate(c)) for c in CHECKPOINTS_S),
            _pct(f.share_of_code), _num(f.chars_per_opportunity),
            _num(f.latency("total").get(50), 1), _num(f.latency("total").get(90), 1),
        ])
    return rows


SUMMARY_HEADER = ["", "requests", "shown", "accepted", "accept rate",
                  *(f"kept {c // 60}m" if c >= 60 else f"kept {c}s" for c in CHECKPOINTS_S),
                  "share", "chars/opp", "p50 ms", "p90 ms"]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                        strict=True)))
             for row in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines)


def text_report(events: list[Event], since_days: float | None) -> str:
    """The terminal report."""
    overall = figures(events)["all"] if events else Figures()
    span = f"the last {since_days:g} days" if since_days else "all recorded time"
    parts = [f"Splice adoption over {span}: {len(events)} events"]
    if not events:
        return parts[0] + "\n(no telemetry recorded in this period)"
    parts.append(_table(SUMMARY_HEADER, summary_rows({"all": overall})))
    for by in GROUPINGS:
        parts.append(f"\nby {by}\n" + _table(SUMMARY_HEADER, summary_rows(figures(events, by=by))))
    latency_rows = [[stage, *(_num(overall.latency(stage).get(p), 1) for p in PERCENTILES)]
                    for stage in STAGES if overall.latency(stage)]
    parts.append("\nlatency by stage (ms)\n" + _table(["stage", *(f"p{p}" for p in PERCENTILES)], latency_rows))
    source_rows = [[s, _pct(shown), _pct(accepted)] for s, shown, accepted in overall.source_presence()]
    if source_rows:
        parts.append("\ncontext sources (share of suggestions using each)\n"
                     + _table(["source", "in shown", "in accepted"], source_rows))
    outcomes = [f"{reason} {count}" for reason, count in sorted(overall.rejected.items())]
    none = [f"{reason} {count}" for reason, count in sorted(overall.no_suggestion.items())]
    parts.append("\nrejected: " + (", ".join(outcomes) or "none"))
    parts.append("no suggestion: " + (", ".join(none) or "none"))
    parts.append(f"characters: Splice {overall.splice_chars}, typed by people {overall.typed_chars}")
    fallbacks = Counter(e.fallback for e in events if e.fallback and e.kind in ("suggested", "no_suggestion"))
    if fallbacks:
        top = "; ".join(f"{count}x {reason[:80]}" for reason, count in fallbacks.most_common(3))
        parts.append(f"answered by the fallback engine: {sum(fallbacks.values())} requests ({top})")
    return "\n".join(parts) + "\n"


# HTML -------------------------------------------------------------------------------------------------------

def html_report(events: list[Event], since_days: float | None) -> str:
    """The self-contained HTML dashboard."""
    overall = figures(events)["all"] if events else Figures()
    days = figures(events, by="day")
    sections = [f"<h1>Splice adoption</h1><p>{len(events)} events, "
                f"{f'the last {since_days:g} days' if since_days else 'all recorded time'}.</p>"]
    sections.append(_html_table(SUMMARY_HEADER, summary_rows({"all": overall})))
    if days:
        sections.append("<h2>Per day</h2>" + _img(_daily_plot(days)))
    sections.append("<h2>Retention of accepted characters</h2>" + _img(_retention_plot(overall)))
    if any(overall.latency(s) for s in STAGES):
        sections.append("<h2>Latency by stage</h2>" + _img(_latency_plot(overall)))
    if overall.source_presence():
        sections.append("<h2>Context sources in shown and accepted suggestions</h2>" + _img(_sources_plot(overall)))
    for by in GROUPINGS:
        sections.append(f"<h2>By {by}</h2>" + _html_table(SUMMARY_HEADER, summary_rows(figures(events, by=by))))
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
             "td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:right}td:first-child{text-align:left}"
             "img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Splice adoption</title><style>{style}</style>"
            f"</head><body>{''.join(sections)}</body></html>\n")


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _pyplot() -> Any:
    import matplotlib  # noqa: PLC0415 - only HTML reports need it, and it is slow to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the backend

    return plt


def _img(figure: Any) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(figure)
    return f"<img alt='' src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}'>"


def _daily_plot(days: dict[str, Figures]) -> Any:
    plt = _pyplot()
    names = list(days)
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for label, values in (("acceptance rate", [d.acceptance_rate for d in days.values()]),
                          ("share of code", [d.share_of_code for d in days.values()]),
                          ("kept at 10 min", [d.retention_rate(600) for d in days.values()])):
        axes[0].plot(names, [v * 100 if v is not None else float("nan") for v in values], marker="o", label=label)
    axes[0].set_ylabel("%")
    axes[0].set_ylim(0, 100)
    axes[0].legend()
    axes[1].bar(names, [d.opportunities for d in days.values()], label="requests", color="#bbb")
    axes[1].bar(names, [d.shown for d in days.values()], label="shown", color="#69c")
    axes[1].bar(names, [d.accepted + d.partially_accepted for d in days.values()], label="accepted", color="#396")
    axes[1].legend()
    for ax in axes:
        ax.tick_params(axis="x", labelrotation=45)
    return figure


def _retention_plot(overall: Figures) -> Any:
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(5, 3))
    labels = [f"{c // 60} min" if c >= 60 else f"{c} s" for c in CHECKPOINTS_S]
    values = [(overall.retention_rate(c) or 0) * 100 for c in CHECKPOINTS_S]
    ax.bar(labels, values, color="#396")
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of accepted characters kept")
    return figure


def _latency_plot(overall: Figures) -> Any:
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7, 3))
    stages = [s for s in STAGES if overall.latency(s)]
    width = 0.8 / len(PERCENTILES)
    for index, percentile in enumerate(PERCENTILES):
        ax.bar([i + index * width for i in range(len(stages))], [overall.latency(s)[percentile] for s in stages],
               width=width, label=f"p{percentile}")
    ax.set_xticks([i + width for i in range(len(stages))], stages)
    ax.set_ylabel("ms")
    ax.legend()
    return figure


def _sources_plot(overall: Figures) -> Any:
    plt = _pyplot()
    rows = overall.source_presence()
    figure, ax = plt.subplots(figsize=(7, 0.5 + 0.4 * len(rows)))
    positions = list(range(len(rows)))
    ax.barh([p + 0.2 for p in positions], [(r[1] or 0) * 100 for r in rows], height=0.4, label="in shown")
    ax.barh([p - 0.2 for p in positions], [(r[2] or 0) * 100 for r in rows], height=0.4, label="in accepted")
    ax.set_yticks(positions, [r[0] for r in rows])
    ax.set_xlabel("% of suggestions")
    ax.legend()
    return figure
