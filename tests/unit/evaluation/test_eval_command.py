"""``splice eval`` on bad input: a clear message, no traceback, and whatever was computed is kept."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from splice.cli import build_parser
from splice.commands import eval as eval_command

SMALL = "def f(a, b):\n    total = a + b * 2\n    return total\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    # The command itself, as `splice eval` runs it, but without the entry point's logging set-up: that would
    # bind the process's log output to this test's captured stream after the test has closed it.
    try:
        parsed = build_parser().parse_args(["eval", *args])
    except SystemExit as exc:  # refused while parsing, as argparse refuses: a usage message and code 2
        code = int(exc.code or 0)
    else:
        code = asyncio.run(eval_command.run(parsed))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_an_empty_repository_is_reported_and_an_empty_report_written(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "report.json"
    code, _, err = run(capsys, "--repo", str(empty), "--tasks", "5", "--json", str(out))
    assert code == 2
    assert "no readable files" in err and "no tasks to evaluate" in err
    assert json.loads(out.read_text())["tasks"] == 0


def test_a_repository_without_a_supported_language_is_reported(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    prose = tmp_path / "prose"
    prose.mkdir()
    (prose / "README.md").write_text("# Words\n\nonly words here, and more words\n")
    code, _, err = run(capsys, "--repo", str(prose), "--tasks", "5", "--json", str(tmp_path / "r.json"))
    assert code == 2
    assert "no files in a supported language" in err


def test_fewer_candidates_than_tasks_evaluates_what_there_is(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "m.py").write_text(SMALL)
    out = tmp_path / "r.json"
    code, stdout, err = run(capsys, "--repo", str(repo), "--tasks", "50", "--json", str(out),
                            "--ablations", "prefix_only,infile")
    assert code == 0
    assert "only 2 candidate line spans" in err  # the def line and the assignment
    data = json.loads(out.read_text())
    assert data["tasks"] == 2 and data["ablations"]["infile"]["n"] == 2
    assert re.search(r"^infile\s+2\s", stdout, re.MULTILINE)


@pytest.mark.parametrize("where", ["missing/dir/r.json", "a-file/r.json", "."])
def test_an_unwritable_output_path_stops_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         where: str) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "m.py").write_text(SMALL)
    code, _, err = run(capsys, "--repo", str(repo), "--json", str(tmp_path / where))
    assert code == 2
    assert "cannot write the report" in err


def test_bad_arguments_get_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "r.json")
    code, _, err = run(capsys, "--repo", str(tmp_path / "nowhere"), "--json", out)
    assert code == 2 and "not a directory" in err
    code, _, err = run(capsys, "--repo", str(tmp_path), "--json", out, "--ablations", "prefix_only,magic")
    assert code == 2 and "unknown ablation magic" in err
    code, _, err = run(capsys, "--repo", str(tmp_path), "--json", out, "--tasks", "0")
    assert code == 2 and "at least 1" in err


def test_an_adapter_needs_the_neural_engine_and_an_adapter_directory(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "r.json")
    code, _, err = run(capsys, "--repo", str(tmp_path), "--json", out, "--adapter", str(tmp_path))
    assert code == 2 and "not an adapter directory (no adapter_config.json)" in err
    (tmp_path / "adapter_config.json").write_text("{}")
    code, _, err = run(capsys, "--repo", str(tmp_path), "--json", out, "--adapter", str(tmp_path),
                       "--engine", "embedded")
    assert code == 2 and "--adapter applies to the neural engine, not --engine embedded" in err
    code, _, err = run(capsys, "--repo", str(tmp_path), "--json", out, "--engine", "gpt")
    assert code == 2 and "invalid choice: 'gpt'" in err


def test_a_report_that_cannot_be_written_at_the_end_goes_to_a_temporary_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {"tasks": 0, "ablations": {}}
    assert eval_command._save(data, tmp_path / "gone" / "r.json", None) is False
    err = capsys.readouterr().err
    fallback = Path(re.search(r"the report is in (\S+)", err).group(1))  # type: ignore[union-attr]
    assert json.loads(fallback.read_text()) == data
    fallback.unlink()
