"""No code text reaches the database without the opt-in; with it, secrets are redacted first; off is off."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from splice.telemetry.store import database_path

from .editor import Editor

URI = "file:///w/billing.py"
SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
DOC = f'STRIPE_KEY = "{SECRET}"\n\ndef invoice_total(lines):\n    \n'
MIDDLE = "return sum(line.amount for line in lines)"


async def _session(data_dir: Path, **settings: object) -> None:
    editor = Editor(data_dir, middle=MIDDLE, **settings)
    await editor.start()
    editor.open(URI, DOC)
    item = await editor.complete(URI, 3, 4)
    editor.show(item)
    await editor.wait(1)
    editor.type(URI, (3, 4), item["insertText"])
    editor.accept(item)
    await editor.wait(31)
    editor.type(URI, (4, 0), "# done\n")
    await editor.finish()


def _all_stored_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("telemetry.db"))


def _all_stored_strings(data_dir: Path) -> list[str]:
    conn = sqlite3.connect(database_path(str(data_dir)))
    try:
        values: list[str] = []
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in conn.execute(f"SELECT * FROM {table}"):  # table names come from sqlite_master
                values += [v for v in row if isinstance(v, str)]
        return values
    finally:
        conn.close()


async def test_no_code_text_is_stored_by_default(tmp_path: Path) -> None:
    await _session(tmp_path)
    strings = _all_stored_strings(tmp_path)
    assert strings, "events were stored"
    fragments = ["invoice_total", "line.amount", "sum(", "STRIPE_KEY", SECRET, "billing.py", "# done", "def "]
    for fragment in fragments:
        assert not any(fragment in s for s in strings), fragment
        assert fragment.encode() not in _all_stored_bytes(tmp_path), fragment
    conn = sqlite3.connect(database_path(str(tmp_path)))
    assert conn.execute("SELECT COUNT(*) FROM texts").fetchone()[0] == 0
    conn.close()


async def test_opt_in_stores_prompts_and_suggestions_with_secrets_redacted(tmp_path: Path) -> None:
    await _session(tmp_path, telemetry_store_text=True)
    conn = sqlite3.connect(database_path(str(tmp_path)))
    rows = conn.execute("SELECT path, prefix, suffix, suggestion FROM texts").fetchall()
    conn.close()
    assert len(rows) == 1
    path, prefix, _suffix, suggestion = rows[0]
    assert path.endswith("billing.py") and "def invoice_total(lines):" in prefix and suggestion == MIDDLE
    assert SECRET not in prefix and "STRIPE_KEY" in prefix and "<redacted>" in prefix
    assert SECRET.encode() not in _all_stored_bytes(tmp_path)


async def test_telemetry_off_opens_no_database(tmp_path: Path) -> None:
    editor = Editor(tmp_path, telemetry="off")
    await editor.start()
    editor.open(URI, DOC)
    item = await editor.complete(URI, 3, 4)
    editor.show(item)
    editor.accept(item)
    await editor.settle()
    await editor.request("shutdown", None)
    editor.notify("exit", None)
    assert await editor.task == 0
    assert not list(tmp_path.iterdir())


async def test_turning_telemetry_off_while_running_stops_recording(tmp_path: Path) -> None:
    editor = Editor(tmp_path)
    await editor.start()
    editor.open(URI, DOC)
    await editor.complete(URI, 3, 4)
    editor.notify("workspace/didChangeConfiguration", {"settings": {"splice": {"telemetry": "off"}}})
    item = await editor.complete(URI, 3, 4)
    editor.show(item)
    editor.accept(item)
    events = await editor.finish()
    assert [e.kind for e in events] == ["suggested"]
