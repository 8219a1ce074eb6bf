"""The command line as a person meets it: the real ``splice`` process, its messages and exit codes.

No command ends in a traceback, writes a report it then cannot save, publishes an empty artifact or ignores
Ctrl-C; every file left out is counted under its reason.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from splice.telemetry.events import Event
from splice.telemetry.store import Store

ENV_KEEP = ("PATH", "HOME", "LANG", "XDG_DATA_HOME", "SPLICE_DATA_DIR", "SPLICE_INDEX_DIR", "SPLICE_MODEL_DIR")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPLICE_") or k in ENV_KEEP}
    env.update(extra)
    return env


def _splice(*args: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "splice", *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(**env), timeout=timeout, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _recorded(data_dir: Path) -> None:
    store = Store.open(data_dir / "telemetry.db")
    store.insert([Event(kind="suggested", ts_ms=int(time.time() * 1000), session="s", request_id="r1",
                        language="python", engine="embedded", length_chars=3, length_lines=1)])
    store.close()


def _python_files(root: Path, count: int, functions: int = 30) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        body = "".join(f"def f{i}_{j}(x, y):\n    total = x + y * {j}\n    return total - {i}\n\n"
                       for j in range(functions))
        (root / f"m{i:04d}.py").write_text(body)
    return root


# Relative telemetry directories ---------------------------------------------------------------------------

def test_report_and_replay_accept_a_relative_data_directory(tmp_path: Path) -> None:
    _recorded(tmp_path / "tele")
    by_option = _splice("report", "--data-dir", "tele", cwd=tmp_path)
    assert by_option.returncode == 0 and "1 events" in by_option.stdout
    by_setting = _splice("report", cwd=tmp_path, SPLICE_DATA_DIR="tele")
    assert by_setting.returncode == 0 and "1 events" in by_setting.stdout
    replayed = _splice("replay", "--data-dir", "tele", cwd=tmp_path)
    assert replayed.returncode == 1 and "no recorded situations" in replayed.stderr


# Output paths are checked before the work -----------------------------------------------------------------

def test_report_checks_its_output_paths_before_printing_anything(tmp_path: Path) -> None:
    _recorded(tmp_path / "tele")
    for option in ("--html", "--export"):
        done = _splice("report", "--data-dir", str(tmp_path / "tele"), option, str(tmp_path / "missing" / "r.out"))
        assert done.returncode == 2 and done.stdout == ""
        assert f"cannot write {option}" in done.stderr and "does not exist" in done.stderr


def test_customize_and_index_check_their_outputs_first(tmp_path: Path) -> None:
    repo = _python_files(tmp_path / "repo", 2)
    a_file = tmp_path / "file"
    a_file.write_text("")
    customized = _splice("customize", "--tenant", "acme", "--repo", str(repo), "--out", str(a_file),
                         "--no-guardrail")
    assert customized.returncode == 2 and "is not a directory" in customized.stderr
    below_a_file = _splice("customize", "--tenant", "acme", "--repo", str(repo), "--out", str(a_file / "x"),
                           "--no-guardrail")
    assert below_a_file.returncode == 2 and "is not a directory" in below_a_file.stderr
    indexed = _splice("index", str(repo), "--out", str(tmp_path / "missing" / "index.sqlite"))
    assert indexed.returncode == 2 and "does not exist" in indexed.stderr
    into_a_directory = _splice("index", str(repo), "--out", str(tmp_path))
    assert into_a_directory.returncode == 2 and "is a directory" in into_a_directory.stderr


# An empty selection is never published --------------------------------------------------------------------

def test_an_include_that_matches_nothing_keeps_the_published_artifact(tmp_path: Path) -> None:
    repo = _python_files(tmp_path / "repo", 3)
    out = tmp_path / "artifacts"
    good = _splice("customize", "--tenant", "acme", "--repo", str(repo), "--out", str(out), "--no-guardrail")
    assert good.returncode == 0, good.stderr
    current = (out / "acme" / "current").resolve()
    for guarded in ([], ["--no-guardrail"]):
        empty = _splice("customize", "--tenant", "acme", "--repo", str(repo), "--out", str(out),
                        "--include", "src/**", *guarded)
        assert empty.returncode == 3
        assert "not published: no file was selected (--include src/** matched nothing)" in empty.stderr
        assert (out / "acme" / "current").resolve() == current
    assert json.loads((current / "manifest.json").read_text())["sizes"]["files"] == 3


# Ctrl-C ----------------------------------------------------------------------------------------------------

def _interrupted(args: list[str], *, after: str | None, cwd: Path | None = None,
                 **env: str) -> tuple[int, float, str]:
    """Start ``splice ARGS``, press Ctrl-C once ``after`` shows on stderr (None: after two seconds); exit
    code, seconds to exit, stderr."""
    process = subprocess.Popen([sys.executable, "-m", "splice", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_env(**env), cwd=cwd)
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + 120
    if after is None:
        time.sleep(2.0)
    while after is not None and after not in seen:
        line = process.stderr.readline()
        assert line and time.monotonic() < deadline, f"never saw {after!r}: {seen}"
        seen += line
    pressed = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    return process.returncode, time.monotonic() - pressed, seen + rest


def test_ctrl_c_stops_index_within_a_second_and_keeps_what_was_committed(tmp_path: Path) -> None:
    repo = _python_files(tmp_path / "repo", 1200)
    target = tmp_path / "index.sqlite"
    code, took, stderr = _interrupted(["index", str(repo), "--out", str(target)], after="indexed 200/")
    assert code == 130 and took < 1.0, (took, stderr)
    assert "Traceback" not in stderr and "100%" not in stderr
    kept = int(stderr.split("kept ")[1].split(" ")[0])
    files = sqlite3.connect(target).execute("SELECT COUNT(*) FROM files").fetchone()[0]
    assert 0 < kept == files < 1200


def test_ctrl_c_stops_customize_and_publishes_nothing(tmp_path: Path) -> None:
    repo = _python_files(tmp_path / "repo", 1200)
    out = tmp_path / "artifacts"
    code, took, stderr = _interrupted(["customize", "--tenant", "acme", "--repo", str(repo), "--out", str(out),
                                       "--no-guardrail"], after="indexed 200/")
    assert code == 130 and took < 1.0, (took, stderr)
    assert "Traceback" not in stderr and "nothing was published" in stderr
    assert not (out / "acme" / "current").exists()


def test_ctrl_c_stops_eval_with_a_partial_report(tmp_path: Path) -> None:
    repo = _python_files(tmp_path / "repo", 40, functions=4)
    report = tmp_path / "report.json"
    code, took, stderr = _interrupted(["eval", "--repo", str(repo), "--tasks", "400", "--json", str(report),
                                       "--ablations", "prefix_only,infile"], after="tasks in")
    assert code == 130 and took < 1.5, (took, stderr)
    assert "Traceback" not in stderr and "interrupted" in stderr


def test_ctrl_c_stops_complete_while_it_waits_for_the_index(tmp_path: Path) -> None:
    repo = _python_files(tmp_path / "repo", 1200)
    code, took, stderr = _interrupted(["complete", f"{repo / 'm0001.py'}:3:5"], after=None,
                                      SPLICE_INDEX_DIR=str(tmp_path / "indexes"))
    assert code == 130 and took < 1.0, (took, stderr)
    assert "Traceback" not in stderr and "interrupted" in stderr


def test_editor_flags_after_a_bare_splice_start_the_server() -> None:
    done = subprocess.run([sys.executable, "-m", "splice", "--stdio", "--clientProcessId", str(os.getpid())],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=_env(), timeout=60,
                          check=False)
    assert done.returncode == 1 and "unrecognized arguments" not in done.stderr  # stdin closed: exit 1 per LSP


# Every skip is counted --------------------------------------------------------------------------------------

def test_unreadable_and_undecodable_files_are_counted_by_reason(tmp_path: Path) -> None:
    repo = _python_files(tmp_path / "repo", 1)
    (repo / "latin.py").write_bytes("café = 1\n".encode("latin-1"))
    (repo / "loop").symlink_to("loop")
    (repo / "gone.py").symlink_to("nowhere.py")
    (repo / "data.json").write_text("{}")
    done = _splice("index", str(repo), "--out", str(tmp_path / "index.sqlite"), "--json")
    summary = json.loads(done.stdout)
    assert summary["files"] == 1
    assert summary["skipped"]["not UTF-8 text"] == 1
    assert summary["skipped"]["unreadable"] == 1
    assert summary["skipped"]["symbolic link that is broken or leads outside the workspace"] == 1
    assert summary["skipped"]["not a language retrieval indexes"] == 1
    out = tmp_path / "artifacts"
    assert _splice("customize", "--tenant", "acme", "--repo", str(repo), "--out", str(out),
                   "--no-guardrail").returncode == 0
    selection = json.loads((out / "acme" / "current" / "selection.json").read_text())
    assert selection["skipped"]["not UTF-8 text"] == ["repo/latin.py"]
    complete = _splice("complete", f"{repo / 'latin.py'}:1:1")
    assert complete.returncode == 2
    assert "is not UTF-8 text (byte 0xe9 at offset 3)" in complete.stderr and "codec" not in complete.stderr


# Settings and arguments -------------------------------------------------------------------------------------

def test_a_misspelled_variable_is_named_with_its_likely_spelling(tmp_path: Path) -> None:
    done = _splice("report", "--data-dir", str(tmp_path), SPLICE_TELEMTRY="off")
    assert "unknown variable SPLICE_TELEMTRY ignored (did you mean SPLICE_TELEMETRY?)" in done.stderr


@pytest.mark.parametrize("args", [
    ["report", "--since", "-1"], ["report", "--since", "nan"], ["replay", "--since", "0"],
    ["customize", "--tenant", "ACME", "--repo", ".", "--out", "x"],
    ["customize", "--tenant", "by-task-id", "--repo", ".", "--out", "x"],
    ["customize", "--tenant", "acme", "--repo", ".", "--out", "x", "--since-days", "-3"],
    ["search", "--tenant", "Acme", "--artifacts", "x", "q"], ["eval", "--repo", ".", "--json", "x", "--tasks", "0"],
])
def test_values_that_cannot_be_used_are_refused_as_usage_errors(args: list[str], tmp_path: Path) -> None:
    done = _splice(*args, cwd=tmp_path)
    assert done.returncode == 2 and "error: argument" in done.stderr


def test_complete_json_keeps_the_engine_name_short_and_gives_the_fallback_reason(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("def total(values):\n    result = 0\n    for value in values:\n        result += value\n"
                      "    return result\n\n\ndef mean(values):\n    return \n")
    done = _splice("complete", f"{source}:9:12", "--json", SPLICE_TRITON_URL="127.0.0.1:9",
                   SPLICE_DEADLINE_MS="300")
    result = json.loads(done.stdout)
    assert result["engine"] == "embedded"
    assert result["fallback"].startswith("triton")
    assert result["suggestion"] and 0.0 <= result["confidence"] <= 1.0
    explained = _splice("complete", f"{source}:9:12", "--explain", SPLICE_MIN_CONFIDENCE="1")
    assert "confidence:" in explained.stdout and "(while typing: not shown, minConfidence 1)" in explained.stdout


def test_complete_resolves_the_workspace_by_project_markers_or_the_option(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "src" / "pkg").mkdir(parents=True)
    (package / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    (package / "src" / "pkg" / "helpers.py").write_text("def scale_amount(value):\n    return value * 3\n")
    target = package / "src" / "pkg" / "use.py"
    target.write_text("from pkg.helpers import scale_amount\n\n\ndef run(v):\n    return \n")
    done = _splice("complete", f"{target}:5:12", "--json", SPLICE_INDEX_DIR=str(tmp_path / "index"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["workspace"] == str(package)
    chosen = _splice("complete", f"{target}:5:12", "--json", "--workspace", str(package / "src"),
                     SPLICE_INDEX_DIR=str(tmp_path / "index"))
    assert chosen.returncode == 0, chosen.stderr
    assert json.loads(chosen.stdout)["workspace"] == str(package / "src")
