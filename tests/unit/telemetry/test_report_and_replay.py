"""``splice report`` and ``splice replay`` on a database written by a scripted session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from splice.config import Settings
from splice.evaluation.replay import accepted_parts, replay
from splice.local import open_local
from splice.telemetry.events import Event
from splice.telemetry.report import html_report, text_report
from splice.telemetry.store import Store, database_path

from .editor import Editor, FixedEngine, stored_events

URI = "file:///w/calc.py"
DOC = "def add(a, b):\n    \n\n\ndef sub(a, b):\n    \n"


async def _record(data_dir: Path) -> None:
    """Two suggestions: the first accepted whole, the second shown and dismissed (texts opted in)."""
    editor = Editor(data_dir, telemetry_store_text=True)
    await editor.start()
    editor.open(URI, DOC)
    first = await editor.complete(URI, 1, 4)
    editor.show(first)
    await editor.wait(1)
    editor.accept(first)
    editor.type(URI, (1, 4), first["insertText"])
    await editor.wait(1)
    second = await editor.complete(URI, 5, 4)
    editor.show(second)
    await editor.wait(1)
    editor.reject(second)
    await editor.finish()


def _splice(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SPLICE_DATA_DIR=str(data_dir))
    return subprocess.run([sys.executable, "-m", "splice", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


async def test_text_and_html_reports_show_the_figures(tmp_path: Path) -> None:
    await _record(tmp_path)
    events = stored_events(tmp_path)
    text = text_report(events, since_days=7)
    assert "accept rate" in text and "50.0%" in text  # one of two shown suggestions accepted
    assert "by language" in text and "python" in text and "by engine" in text and "fixed" in text
    assert "latency by stage" in text and "context sources" in text
    page = html_report(events, since_days=7)
    assert page.startswith("<!doctype html>") and page.count("data:image/png;base64,") >= 3
    assert "http" not in page.replace("http-equiv", "")  # self-contained: nothing to fetch


async def test_the_report_command_prints_text_writes_html_and_exports_json_lines(tmp_path: Path) -> None:
    await _record(tmp_path)
    out = tmp_path / "report.html"
    done = _splice("report", "--since", "36500", "--html", str(out), data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "accept rate" in done.stdout and out.read_text().startswith("<!doctype html>")
    exported = _splice("report", "--export", "-", data_dir=tmp_path)
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert {line["kind"] for line in lines} >= {"suggested", "shown", "accepted", "rejected"}
    assert not any("return" in json.dumps(line) for line in lines)  # no code text in the export
    missing = _splice("report", data_dir=tmp_path / "nowhere")
    assert missing.returncode == 1 and "no telemetry database" in missing.stderr


async def test_replay_counts_accepted_suggestions_the_current_pipeline_still_produces(tmp_path: Path) -> None:
    await _record(tmp_path)
    store = Store.open_readonly(database_path(str(tmp_path)))
    texts, events = list(store.texts()), list(store.events())
    store.close()
    assert len(texts) == 2
    accepted = accepted_parts(events, texts)
    assert list(accepted.values()) == ["return a + b"]

    settings = Settings()
    same_engine = await open_local(settings, None, index_timeout=5, engine=FixedEngine("return a + b"))
    same = await replay(same_engine, texts, accepted)
    assert same.count("same") == 2 and same.accepted_before == 1 and same.still_produced == 1
    changed_engine = await open_local(settings, None, index_timeout=5, engine=FixedEngine("return b - a"))
    changed = await replay(changed_engine, texts, accepted)
    assert changed.count("changed") == 2 and changed.still_produced == 0


async def test_the_replay_command_runs_the_configured_engine(tmp_path: Path) -> None:
    await _record(tmp_path)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "calc.py").write_text(DOC)
    done = _splice("replay", "--workspace", str(workspace), "--index-timeout", "30", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "replayed 2 recorded requests with engine embedded" in done.stdout
    assert "previously accepted suggestions still produced:" in done.stdout and "of 1" in done.stdout


async def test_replay_without_the_opt_in_says_what_is_missing(tmp_path: Path) -> None:
    editor = Editor(tmp_path)
    await editor.start()
    editor.open(URI, DOC)
    await editor.complete(URI, 1, 4)
    await editor.finish()
    done = _splice("replay", data_dir=tmp_path)
    assert done.returncode == 1 and "telemetryStoreText" in done.stderr


def test_fallback_reasons_are_one_engine_row_and_a_summary_line() -> None:
    events = [Event(kind="suggested", ts_ms=1_700_000_000_000 + n, request_id=f"r{n}", language="python",
                    engine="embedded", fallback=f"triton: deadline exceeded after {n} ms", length_chars=3)
              for n in range(5)]
    text = text_report(events, since_days=None)
    by_engine = text.split("by engine")[1].split("\nby ")[0]
    assert by_engine.count("embedded") == 1 and "fallback:" not in by_engine
    assert "answered by the fallback engine: 5 requests" in text
