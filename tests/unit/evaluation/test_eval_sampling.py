"""Task sampling: reproducible, stratified by language and file, and only ever hiding real code."""

from __future__ import annotations

from pathlib import Path

import pytest

from splice.evaluation.sampling import MIN_TOKENS, file_candidates, sample_tasks

MODULE = '''"""A module docstring that is prose,
spread over two lines."""

import os


def area(width, height):
    """Multiply the sides.

    return width * height * 2  # prose that looks like code
    """
    # result = width * height * 3
    result = width * height
    return max(result, 0)


def join_all(parts, separator=", "):
    cleaned = [part.strip() for part in parts]
    return separator.join(cleaned)
'''

SCRIPT = """function total(items) {
  const values = items.map((item) => item.price * item.count);
  return values.reduce((a, b) => a + b, 0);
}

/* a block comment
   const hidden = never.sampled(1, 2, 3);
*/
export function label(name) {
  return `item ${name}`.toUpperCase();
}
"""


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_same_seed_gives_the_same_tasks_and_another_seed_others(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {f"pkg/m{i}.py": MODULE for i in range(4)} | {"web/app.js": SCRIPT})
    first = [t.id for t in sample_tasks([repo], 8, seed=3).tasks]
    again = [t.id for t in sample_tasks([repo], 8, seed=3).tasks]
    other = [t.id for t in sample_tasks([repo], 8, seed=4).tasks]
    assert first == again
    assert first != other
    assert len(first) == len(set(first)) == 8


def test_line_tasks_hide_a_whole_line_of_code_after_its_indentation(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": MODULE})
    sample = sample_tasks([repo], 50, seed=0)
    allowed = {
        "import os", "def area(width, height):", "result = width * height", "return max(result, 0)",
        'def join_all(parts, separator=", "):', "cleaned = [part.strip() for part in parts]",
        "return separator.join(cleaned)",
    }
    hidden = {task.middle for task in sample.tasks}
    # Docstrings, comments and lines with fewer than five tokens ("import os" has two) are never hidden.
    assert hidden <= allowed and "import os" not in hidden
    assert hidden == allowed - {"import os"}
    for task in sample.tasks:
        assert task.prefix + task.middle + task.suffix == MODULE
        assert task.prefix.split("\n")[-1].strip() == ""  # the cursor sits after the indentation
        assert task.suffix.startswith("\n")


def test_too_few_candidates_returns_them_all_and_says_so(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": MODULE})
    sample = sample_tasks([repo], 50, seed=0)
    assert len(sample.tasks) == 6
    assert any("only 6 candidate line spans" in p and "instead of 50" in p for p in sample.problems)


def test_languages_share_the_tasks_evenly_and_files_are_spread(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": MODULE, "b.py": MODULE, "c.py": MODULE, "app.js": SCRIPT,
                                      "lib.js": SCRIPT})
    sample = sample_tasks([repo], 6, seed=1)
    languages = [t.language for t in sample.tasks]
    assert languages.count("python") == 3 and languages.count("javascript") == 3
    # One task per file per round: three Python files, three Python tasks, one in each.
    assert sorted(t.path for t in sample.tasks if t.language == "python") == ["a.py", "b.py", "c.py"]


def test_a_language_that_runs_dry_leaves_its_share_to_the_others(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {f"m{i}.py": MODULE for i in range(5)} | {"app.js": SCRIPT})
    candidates = len(file_candidates(SCRIPT, "javascript").line)
    sample = sample_tasks([repo], 20, seed=0)
    assert len(sample.tasks) == 20
    assert sum(t.language == "javascript" for t in sample.tasks) == candidates


def test_block_comment_lines_are_never_hidden_in_javascript() -> None:
    spans = file_candidates(SCRIPT, "javascript").line
    hidden = [SCRIPT[s:e] for s, e in spans]
    assert "const values = items.map((item) => item.price * item.count);" in hidden
    assert not any("never.sampled" in h for h in hidden)


def test_block_tasks_hide_a_body_without_its_docstring_and_span_tasks_start_mid_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"m.py": MODULE})
    blocks = sample_tasks([repo], 10, seed=0, kind="block").tasks
    bodies = {t.middle for t in blocks}
    assert "result = width * height\n    return max(result, 0)" in bodies
    assert all('"""' not in body and len(body.split("\n")) >= 2 for body in bodies)
    spans = sample_tasks([repo], 10, seed=0, kind="span").tasks
    for task in spans:
        line_start = task.prefix.split("\n")[-1]
        assert line_start.strip(), "a span starts after some code on its line"
        assert "\n" not in task.middle and task.middle.strip()
        assert task.suffix.startswith("\n")


def test_a_line_needs_five_tokens_and_a_string_literal_is_one() -> None:
    text = 'a = b\nc = d + e\nx = "one two three four five"\nf(x)  # a comment is no token\n'
    hidden = [text[s:e] for s, e in file_candidates(text, "python").line]
    assert MIN_TOKENS == 5
    assert hidden == ["c = d + e"]


def test_empty_and_unsupported_repositories_are_reported(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    prose = make_repo(tmp_path / "prose", {"README.md": "# Title\n\nSome words.\n", "notes.txt": "more words\n"})
    sample = sample_tasks([empty, prose], 10, seed=0)
    assert sample.tasks == []
    assert any("empty" in p and str(empty) in p for p in sample.problems)
    assert any("no files in a supported language" in p and str(prose) in p for p in sample.problems)


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown task kind"):
        sample_tasks([tmp_path], 1, seed=0, kind="word")
