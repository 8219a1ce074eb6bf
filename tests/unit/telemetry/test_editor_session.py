"""A scripted editor session through the real server, checked against figures computed by hand.

Timeline (seconds on the injected clock; line 1 is the empty body of ``add``):

====  ========================================================================================
t     what the person does
====  ========================================================================================
0     suggestion A shown at 1:4
2     types "x": request B at 1:5 hides A (rejected, typing; displayed 2000 ms)
3     deletes "x"; suggestion C shown at 1:4
4     the editor inserts "return " (7 characters of C) and reports a partial accept
5     types "a", "+", "b" after it
10    deletes the space of "return " (6 of C's 7 characters left)
35    types a line break and indent (C's 30 s checkpoint: 6 retained)
130   deletes the line's code (C's 2 min checkpoint: 6; afterwards 0)
700   types "pass" (C's 10 min checkpoint: 0); suggestion D shown, dismissed after 0.5 s
701   suggestion E shown; at 703 accepted whole, the editor's edit arriving after the accept
1305  deletes "pass" (E's three checkpoints have passed with E untouched)
====  ========================================================================================

By hand: opportunities 5 (A to E); shown 4 (A, C, D, E); accepted 1 and partially accepted 1, so the
acceptance rate is 2/4. Splice wrote 7 + len(E) characters; the person typed 1 + 3 + 5 + 4 = 13 (the
"return " edit is reattributed to the accept, E's edit is recognised as the accept's).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from splice.telemetry import metrics
from splice.telemetry.events import Event

from .editor import Editor

URI = "file:///w/calc.py"
DOC = "def add(a, b):\n    \n"


async def run_session(data_dir: Path, **settings: object) -> tuple[str, list[Event]]:
    editor = Editor(data_dir, **settings)
    await editor.start()
    editor.open(URI, DOC)

    a = await editor.complete(URI, 1, 4)
    editor.show(a)
    await editor.wait(2)
    editor.type(URI, (1, 4), "x")
    await editor.items(URI, 1, 5)  # B: whatever it suggests is never shown
    await editor.wait(1)
    editor.edit(URI, (1, 4), (1, 5), "")
    c = await editor.complete(URI, 1, 4)
    assert c["insertText"] == "return a + b"
    editor.show(c)
    await editor.wait(1)
    editor.type(URI, (1, 4), "return ")
    editor.accept(c, 7)
    await editor.wait(1)
    for column, char in ((11, "a"), (12, "+"), (13, "b")):
        editor.type(URI, (1, column), char)
    await editor.wait(5)
    editor.edit(URI, (1, 10), (1, 11), "")  # "    returna+b"
    await editor.wait(25)
    editor.type(URI, (1, 13), "\n    ")
    await editor.wait(95)
    editor.edit(URI, (1, 4), (1, 13), "")
    await editor.wait(570)
    editor.type(URI, (2, 4), "pass")

    d = await editor.complete(URI, 1, 4)
    editor.show(d)
    await editor.wait(0.5)
    editor.reject(d, "dismissed")
    await editor.wait(0.5)
    e = await editor.complete(URI, 1, 4)
    editor.show(e)
    await editor.wait(2)
    editor.accept(e)
    editor.type(URI, (1, 4), e["insertText"])
    await editor.wait(602)
    editor.edit(URI, (2, 4), (2, 8), "")
    events = await editor.finish()
    return e["insertText"], events


async def test_stored_events_and_figures_match_the_hand_computed_ones(tmp_path: Path) -> None:
    e_text, events = await run_session(tmp_path)
    e_len = len(e_text)
    kinds = Counter(ev.kind for ev in events)
    assert kinds["suggested"] + kinds["no_suggestion"] == 5
    assert kinds["shown"] == 4 and kinds["accepted"] == 1 and kinds["partially_accepted"] == 1
    assert kinds["rejected"] == 2

    by_kind = {k: [ev for ev in events if ev.kind == k] for k in kinds}
    rejected = {ev.reason for ev in by_kind["rejected"]}
    assert rejected == {"typing", "explicit"}
    assert sorted(ev.display_ms for ev in by_kind["shown"]) == [500.0, 1000.0, 2000.0, 2000.0]
    partial = by_kind["partially_accepted"][0]
    assert (partial.accepted_length, partial.splice_chars, partial.length_chars) == (7, 7, 12)
    full = by_kind["accepted"][0]
    assert full.accepted_length == full.splice_chars == e_len
    for ev in by_kind["shown"] + by_kind["accepted"] + by_kind["suggested"]:
        assert ev.request_id and ev.language == "python" and ev.engine == "fixed"
        assert ev.length_lines == 1 and len(ev.text_hash) == 16
    assert all(set(ev.timings_ms) >= {"context", "engine", "postprocess", "total"} for ev in by_kind["suggested"])
    retained = sorted((ev.completion_id == partial.completion_id, ev.checkpoint_s, ev.retained_chars, ev.splice_chars)
                      for ev in by_kind["retained"])
    assert retained == [(False, 30, e_len, e_len), (False, 120, e_len, e_len), (False, 600, e_len, e_len),
                        (True, 30, 6, 7), (True, 120, 6, 7), (True, 600, 0, 7)]
    assert sum(ev.typed_chars or 0 for ev in by_kind["typed"]) == 13

    overall = metrics.figures(events)["all"]
    assert overall.opportunities == 5 and overall.shown == 4
    assert overall.acceptance_rate == 2 / 4
    assert overall.splice_chars == 7 + e_len and overall.typed_chars == 13
    assert overall.share_of_code == (7 + e_len) / (7 + e_len + 13)
    assert overall.chars_per_opportunity == (7 + e_len) / 5
    assert overall.retention_rate(30) == (6 + e_len) / (7 + e_len)
    assert overall.retention_rate(120) == (6 + e_len) / (7 + e_len)
    assert overall.retention_rate(600) == e_len / (7 + e_len)
    assert overall.rejected == Counter({"typing": 1, "explicit": 1})
    assert set(overall.latency("total")) == {50, 90, 99}
    assert metrics.figures(events, by="language")["python"].acceptance_rate == 0.5
    engine = metrics.figures(events, by="engine")["fixed"]
    assert engine.acceptance_rate == 0.5 and engine.share_of_code is None  # typing has no engine


async def test_a_wall_clock_step_backwards_changes_no_duration(tmp_path: Path) -> None:
    editor = Editor(tmp_path)
    await editor.start()
    editor.open(URI, DOC)
    item = await editor.complete(URI, 1, 4)
    editor.show(item)
    await editor.wait(1)
    await editor.set_wall(1_000_000_000.0)  # the clock is set back by years
    editor.accept(item)
    editor.type(URI, (1, 4), item["insertText"])
    await editor.wait(31)
    editor.type(URI, (2, 0), "#")
    events = await editor.finish()
    shown = next(ev for ev in events if ev.kind == "shown")
    assert shown.display_ms == 1000.0
    assert [ev.checkpoint_s for ev in events if ev.kind == "retained"] == [30]
