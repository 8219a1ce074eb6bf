"""The typing replay's decisions on plain strings: what the developer takes, where a position is, which
regions are typed, and how replays add up to rates with intervals."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from splice.cli import build_parser
from splice.commands import eval as eval_command
from splice.commands import eval_typing
from splice.evaluation.typing import Replay, Shown, accepted_length, offset_of, typing_sample
from splice.evaluation.typing_report import TypingReport, paired_rate_lift, rate_interval, render_typing_html

REPO_FILE = '''def total(items):
    result = 0
    for item in items:
        result = result + item.price * item.count
    return result


def average(items):
    if not items:
        return 0.0
    return total(items) / len(items)
'''


def test_a_suggestion_that_writes_what_comes_next_is_taken_whole() -> None:
    assert accepted_length("items)", "", "items) + 1") == (6, 6)


def test_a_suggestion_that_retypes_the_code_it_overwrites_is_taken_whole() -> None:
    # The range covers the auto-closed ")" after the cursor; the suggestion writes it again.
    assert accepted_length("items)", ")", "items") == (5, 6)


def test_a_suggestion_that_overwrites_code_without_writing_it_again_is_not_taken_whole() -> None:
    # "count" is what comes next, but the range would delete the "]" that follows the cursor.
    assert accepted_length("count", "]", "count") == (5, 5)  # taken as words, inserted without the range
    assert accepted_length("counter", "]", "count") == (0, 0)


def test_the_longest_word_wise_prefix_is_taken_when_the_rest_differs() -> None:
    assert accepted_length("result.append(item)", "", "result.extend(items)") == (7, 7)
    assert accepted_length("result = total(items)", "", "result = total(other)") == (15, 15)


def test_nothing_is_taken_when_the_first_word_differs() -> None:
    assert accepted_length("return total", "", "raise ValueError") == (0, 0)
    assert accepted_length("resultant", "", "result") == (0, 0)


def test_positions_count_utf16_units_and_are_clamped_to_their_line() -> None:
    text = "a = '😀x'\nb = 2\n"
    assert text[offset_of(text, 0, 5)] == "😀"
    assert text[offset_of(text, 0, 7)] == "x"  # after the two units of the emoji
    assert text[offset_of(text, 0, 8)] == "'"
    assert offset_of(text, 1, 2) == text.index("b") + 2
    assert offset_of(text, 1, 99) == text.index("\n", text.index("b"))
    assert offset_of(text, 9, 0) == len(text)


def test_regions_are_half_bodies_half_statements_reproducibly(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.py").write_text(REPO_FILE.replace("total", f"total_{name}"))
    first = typing_sample([tmp_path], 6, seed=3)
    again = typing_sample([tmp_path], 6, seed=3)
    assert [t.id for t in first.tasks] == [t.id for t in again.tasks]
    kinds = [t.kind for t in first.tasks]
    # One region per file: three files give three bodies and no statement, and the shortfall is said.
    assert kinds == ["block"] * 3 and len({t.path for t in first.tasks}) == 3
    assert any("instead of 6" in problem for problem in first.problems)
    for name in ("d", "e", "f"):
        (tmp_path / f"{name}.py").write_text(REPO_FILE.replace("total", f"total_{name}"))
    wider = typing_sample([tmp_path], 6, seed=3)
    assert sorted(t.kind for t in wider.tasks) == ["block"] * 3 + ["line"] * 3
    assert len({t.path for t in wider.tasks}) == 6 and not wider.problems


def replay(task_id: str, *, region: int, saved: int, keystrokes: int, shown: list[int]) -> Replay:
    result = Replay(task_id=task_id, language="python", repo="r", region_chars=region, keystrokes=keystrokes,
                    requests=keystrokes + 1, saved_chars=saved)
    result.shown = [Shown(text="x", completion_id="c", remaining="", accepted=a) for a in shown]
    result.latencies_ms = [1.0, 2.0, 3.0]
    return result


def test_rates_are_ratios_of_sums_with_an_interval_around_them() -> None:
    rate = rate_interval([10, 0, 30], [100, 100, 100], seed=0, resamples=500)
    assert rate["value"] == pytest.approx(40 / 300, abs=1e-4)
    low, high = rate["ci95"]
    assert low <= rate["value"] <= high and low < high
    assert rate_interval([], [], seed=0, resamples=10) == {"value": None, "ci95": [None, None]}


def test_a_lift_of_a_row_over_itself_is_zero() -> None:
    rows = [replay(f"t{i}", region=50, saved=5 * i, keystrokes=40, shown=[1, 0]) for i in range(5)]
    lift = paired_rate_lift(rows, rows, "chars_saved", seed=0, resamples=200)
    assert lift == {"delta": 0.0, "ci95": [0.0, 0.0]}


def test_the_report_counts_wrong_suggestions_and_escapes_code(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(REPO_FILE)
    (tmp_path / "n.py").write_text(REPO_FILE.replace("total", "grand_total"))
    sample = typing_sample([tmp_path], 2, seed=0)
    assert len(sample.tasks) == 2
    rows = {task.id: replay(task.id, region=len(task.middle), saved=4, keystrokes=len(task.middle) - 3,
                            shown=[4, 0, 0]) for task in sample.tasks}
    rows[sample.tasks[0].id].shown[1].text = "<script>alert(1)</script>"
    report = TypingReport(tasks=sample.tasks, ablations=["retrieval"], replays={"retrieval": rows})
    data = report.as_json()
    summary = data["ablations"]["retrieval"]
    assert summary["n"] == 2 and summary["counts"]["shown"] == 6 and summary["counts"]["wrong"] == 4
    assert summary["wrong_shown"]["value"] == pytest.approx(4 / 6, abs=1e-4)
    assert summary["accepted_per_shown"]["value"] == pytest.approx(2 / 6, abs=1e-4)
    assert data["by_language"]["python"]["tasks"] == 2
    page = render_typing_html(data)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "Lifts" not in page  # one row: nothing to compare


def test_what_the_fallback_engine_showed_is_counted_and_printed(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(REPO_FILE)
    (tmp_path / "n.py").write_text(REPO_FILE.replace("total", "grand_total"))
    sample = typing_sample([tmp_path], 2, seed=0)
    rows = {t.id: replay(t.id, region=40, saved=4, keystrokes=37, shown=[4, 0]) for t in sample.tasks}
    first, second = (rows[t.id] for t in sample.tasks)
    for item in [*first.shown, second.shown[0]]:
        item.engine = "neural"
    second.shown[1].engine, second.shown[1].fallback = "embedded", "neural: the neural model is loading"
    report = TypingReport(tasks=sample.tasks, ablations=["infile"], replays={"infile": rows},
                          settings={"engine": "neural"}, resamples=50)
    data = report.as_json()
    summary = data["ablations"]["infile"]
    assert summary["shown_by_engine"] == {"embedded": 1, "neural": 3} and summary["fallback_shown"] == 1
    assert "infile: 1 of 4 shown suggestions came from the fallback engine, not neural" in eval_typing.table(data)


def test_a_second_row_is_compared_with_the_first_on_the_same_tasks(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(REPO_FILE)
    (tmp_path / "n.py").write_text(REPO_FILE.replace("total", "grand_total"))
    sample = typing_sample([tmp_path], 2, seed=0)
    low = {t.id: replay(t.id, region=40, saved=4, keystrokes=37, shown=[4, 0]) for t in sample.tasks}
    high = {t.id: replay(t.id, region=40, saved=20, keystrokes=25, shown=[20]) for t in sample.tasks}
    report = TypingReport(tasks=sample.tasks, ablations=["infile", "retrieval"],
                          replays={"infile": low, "retrieval": high}, resamples=200)
    lift = report.as_json()["lifts"]["retrieval"]
    assert lift["baseline"] == "infile" and lift["n"] == 2
    assert lift["chars_saved"]["delta"] == pytest.approx(0.4)
    assert lift["wrong_shown"]["delta"] == pytest.approx(-0.5)
    assert "retrieval over infile" in render_typing_html(report.as_json())


def test_the_command_reports_a_repository_with_nothing_to_type(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    prose = tmp_path / "prose"
    prose.mkdir()
    (prose / "notes.md").write_text("only words\n")
    out = tmp_path / "typing.json"
    parsed = build_parser().parse_args(["eval", "--repo", str(prose), "--kind", "typing", "--json", str(out)])
    code = asyncio.run(eval_command.run(parsed))
    err = capsys.readouterr().err
    assert code == 2 and "no regions to type" in err and "Traceback" not in err
    data = json.loads(out.read_text())
    assert data["kind"] == "typing" and data["tasks"] == 0
