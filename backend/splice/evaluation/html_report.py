"""The report as one self-contained HTML page: tables, plots as embedded PNG, hits and misses side by side.

It is rendered from the JSON form of the report (:meth:`Report.as_json`), so a page can be made again from a
saved ``--json`` file without re-running anything. Plots are drawn with matplotlib's Agg backend (no display
needed) and inlined as base64 data URIs; the page loads nothing from anywhere. Every piece of code shown is
HTML-escaped: the tasks are someone else's source and may hold anything.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

from splice.evaluation.metrics import METRICS

_EXAMPLES = 12
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.unavailable { color: #888; font-style: italic; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.example { border: 1px solid #ddd; margin: 0.5rem 0; padding: 0.5rem; font-size: 0.85rem; }
.example pre { margin: 0.2rem 0; white-space: pre-wrap; word-break: break-all; }
.want { background: #eef7ee; } .got { background: #fbeeee; } .hit .got { background: #eef7ee; }
.ctx { color: #777; }
img { max-width: 100%; }
"""


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _bar_plot(data: dict[str, Any], metric: str, title: str) -> str:
    """Grouped bars: one group per language (and "all"), one bar per ablation that ran."""
    import matplotlib  # noqa: PLC0415 - evaluation-only dependency, loaded when a page is rendered

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415 - after choosing the backend

    rows = [name for name, row in data["ablations"].items() if row.get("available") and row.get("n")]
    groups = ["all", *sorted(data["by_language"])]
    figure, axes = pyplot.subplots(figsize=(max(6.0, 1.6 * len(groups) * max(1, len(rows)) / 3), 3.6))
    width = 0.8 / max(1, len(rows))
    for index, name in enumerate(rows):
        values = [data["ablations"][name][metric] or 0.0]
        values += [(data["by_language"][g].get(name) or {}).get(metric) or 0.0 for g in groups[1:]]
        positions = [g + index * width for g in range(len(groups))]
        axes.bar(positions, values, width=width, label=name)
    axes.set_xticks([g + width * (len(rows) - 1) / 2 for g in range(len(groups))], groups)
    axes.set_ylim(0, 1)
    axes.set_ylabel(metric.replace("_", " "))
    axes.set_title(title)
    axes.legend(fontsize="small", ncols=min(5, max(1, len(rows))), loc="upper center", bbox_to_anchor=(0.5, -0.1))
    uri = _png(figure)
    pyplot.close(figure)
    return uri


def _latency_plot(data: dict[str, Any]) -> str | None:
    import matplotlib  # noqa: PLC0415 - see _bar_plot

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415 - after choosing the backend

    name = data.get("latency_ablation")
    samples = [task["predictions"][name]["latency_ms"] for task in data.get("per_task", [])
               if name in task["predictions"]]
    if not samples:
        return None
    figure, axes = pyplot.subplots(figsize=(7, 3.2))
    axes.hist(samples, bins=min(60, max(10, len(samples) // 5)), color="#4477aa")
    for label, value in data["latency_ms"].items():
        if value is not None:
            axes.axvline(value, linestyle="--", linewidth=1, color="#aa3377")
            axes.text(value, axes.get_ylim()[1] * 0.95, f" {label}", fontsize="small", color="#aa3377")
    axes.set_xlabel(f"milliseconds per task ({name}, full pipeline)")
    axes.set_ylabel("tasks")
    uri = _png(figure)
    pyplot.close(figure)
    return uri


def _summary_table(data: dict[str, Any]) -> str:
    head = "".join(f"<th>{m.replace('_', ' ')}</th>" for m in METRICS)
    rows = []
    for name, row in data["ablations"].items():
        if not row.get("available"):
            reason = html.escape(str(row.get("reason")))
            rows.append(f"<tr class='unavailable'><td>{html.escape(name)}</td>"
                        f"<td colspan='{len(METRICS) + 4}'>unavailable: {reason}</td></tr>")
            continue
        lift = data.get("lifts", {}).get(name, {})
        over_base = lift.get("over_prefix_only", {}).get("exact_match")
        over_prev = lift.get("over_previous", {}).get("exact_match")
        cells = "".join(f"<td>{_number(row.get(m))}</td>" for m in METRICS)
        latency = row.get("latency_ms", {})
        rows.append(
            f"<tr><td>{html.escape(name)}</td>{cells}<td>{row.get('n')}</td>"
            f"<td>{_number(latency.get('p50'), 1)}</td><td>{_lift(over_base)}</td><td>{_lift(over_prev)}</td></tr>"
        )
    return (f"<table><tr><th>ablation</th>{head}<th>n</th><th>p50 ms</th>"
            f"<th>EM lift over prefix_only</th><th>EM lift over previous</th></tr>{''.join(rows)}</table>")


def _lift(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("delta") is None:
        return "–"
    low, high = entry["ci95"]
    ratio = f" (×{entry['ratio']:.2f})" if entry.get("ratio") else ""
    return f"{entry['delta']:+.3f} [{low:+.3f}, {high:+.3f}]{ratio}"


def _language_table(data: dict[str, Any]) -> str:
    rows = []
    ran = [n for n, r in data["ablations"].items() if r.get("available") and r.get("n")]
    for language, entry in sorted(data["by_language"].items()):
        cells = "".join(
            f"<td>{_number((entry.get(n) or {}).get('exact_match'))} / "
            f"{_number((entry.get(n) or {}).get('edit_similarity'))}</td>" for n in ran
        )
        rows.append(f"<tr><td>{html.escape(language)}</td><td>{entry['tasks']}</td>{cells}</tr>")
    head = "".join(f"<th>{html.escape(n)}</th>" for n in ran)
    return f"<table><tr><th>language</th><th>tasks</th>{head}</tr>{''.join(rows)}</table>"


def _example(task: dict[str, Any], name: str, hit: bool) -> str:
    got = task["predictions"][name]["text"]
    before = task["context_before"].split("\n")[-3:]
    return (
        f"<div class='example{' hit' if hit else ''}'><b>{html.escape(task['id'])}</b> "
        f"(edit similarity {task['predictions'][name]['edit_similarity']:.2f})"
        f"<pre class='ctx'>{html.escape(chr(10).join(before))}</pre>"
        f"<pre class='want'>want: {html.escape(task['target'])}</pre>"
        f"<pre class='got'>got:  {html.escape(got) if got else '(no suggestion)'}</pre></div>"
    )


def _examples(data: dict[str, Any]) -> str:
    name = data.get("latency_ablation")
    tasks = [t for t in data.get("per_task", []) if name in t["predictions"]]
    hits = [t for t in tasks if t["predictions"][name]["exact_match"] == 1.0][:_EXAMPLES]
    misses = [t for t in tasks if t["predictions"][name]["exact_match"] < 1.0][:_EXAMPLES]
    return (
        f"<p>Examples from <b>{html.escape(str(name))}</b>, in task order.</p><div class='pair'>"
        f"<div><h3>Hits</h3>{''.join(_example(t, str(name), True) for t in hits) or '<p>none</p>'}</div>"
        f"<div><h3>Misses</h3>{''.join(_example(t, str(name), False) for t in misses) or '<p>none</p>'}</div></div>"
    )


def render_html(data: dict[str, Any]) -> str:
    """The whole page for a report's JSON form."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Splice evaluation</title>",
        f"<style>{_STYLE}</style></head><body><h1>Splice evaluation</h1>",
        f"<p>{data['tasks']} tasks ({', '.join(data.get('kinds', []))}) from "
        f"{html.escape(', '.join(data.get('repos', [])))}; seed {data.get('seed')}; "
        f"settings {html.escape(str(data.get('settings', {})))}.</p>",
    ]
    if data.get("partial"):
        parts.append("<p><b>Partial run:</b> interrupted; numbers cover the tasks that finished.</p>")
    parts.extend(f"<p class='unavailable'>{html.escape(p)}</p>" for p in data.get("problems", []))
    parts.append("<h2>Ablations</h2>" + _summary_table(data))
    parts.append("<p>Lifts: mean difference in exact match on the same tasks, with the paired bootstrap 95% "
                 "interval and the ratio of means.</p>")
    if data["tasks"]:
        parts.append("<h2>By language (exact match / edit similarity)</h2>" + _language_table(data))
        parts.append(f"<img alt='exact match' src='{_bar_plot(data, 'exact_match', 'Exact match')}'>")
        parts.append(f"<img alt='edit similarity' src='{_bar_plot(data, 'edit_similarity', 'Edit similarity')}'>")
        latency = _latency_plot(data)
        latency_text = ", ".join(f"{k} {_number(v, 1)} ms" for k, v in data["latency_ms"].items())
        row = html.escape(str(data.get("latency_ablation")))
        parts.append(f"<h2>Latency</h2><p>{html.escape(latency_text)} ({row})</p>")
        if latency:
            parts.append(f"<img alt='latency histogram' src='{latency}'>")
        parts.append("<h2>Hits and misses</h2>" + _examples(data))
    parts.append("</body></html>")
    return "\n".join(parts)
