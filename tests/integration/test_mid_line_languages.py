"""Mid-line suggestions never leave the line broken, in each of the eight languages, on real code.

For a few hundred real lines per language (from the development repositories `scripts/fetch-eval-repos`
fetches: code this project did not write), the cursor is put at every token boundary inside the line, with
the rest of the line after it, as when a developer edits a line of working code. At each position the
processor chain gets the suggestions engines are seen to make there: the rest of the line again (an engine
retyping what follows), the next one or two tokens of it (``self.columns.⟨append⟩append(column)``), the
neighbouring lines whole (``⟨return self._header['FontName']⟩return self.original_link``) and the
neighbouring line's tail from the same token. Whatever the chain lets through is applied as the editor
would apply it (insert, overwriting ``replace_suffix`` characters) and the file parsed again: the cursor's
line must hold no tree-sitter error it did not hold before. Lines that do not parse cleanly to begin with
(a macro the grammar cannot see through) are left out and counted.
"""

from __future__ import annotations

import functools
import random
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from splice.documents import indent_unit
from splice.evaluation.sampling import file_candidates
from splice.languages import language_for_path
from splice.postprocess.base import CompletionContext, Suggestion, apply_chain
from splice.postprocess.chain import default_chain
from splice.postprocess.mode import is_multiline_position
from splice.postprocess.syntax import error_spans, parse
from splice.workspace import workspace_files

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "c", "cpp", "java")
LINES_PER_LANGUAGE = 300


@dataclass(frozen=True)
class Position:
    path: str
    text: str
    line_start: int
    line_end: int
    cursor: int
    boundaries: tuple[int, ...]  # every token boundary inside the line


@functools.cache
def development_repositories() -> dict[str, list[Path]]:
    """The development repositories by language, fetched (and checked by SHA-256) when not cached yet."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch-eval-repos"), "--split", "development"],
                          capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    folders = {Path(line).name: Path(line) for line in done.stdout.split()}
    listed = tomllib.loads((ROOT / "scripts" / "eval-repos.toml").read_text(encoding="utf-8"))["repo"]
    by_language: dict[str, list[Path]] = {}
    for repo in listed:
        if (folder := folders.get(f"{repo['name']}-{repo['version']}")) is not None:
            by_language.setdefault(repo["language"], []).append(folder)
    return by_language


def positions(language: str) -> list[Position]:
    """Every token boundary inside ``LINES_PER_LANGUAGE`` lines drawn (seeded) from the repositories."""
    lines: list[tuple[str, str, int, int, list[int]]] = []
    for repo in development_repositories().get(language, []):
        for source in sorted(workspace_files(repo), key=lambda f: f.path):
            if language_for_path(source.path) != language:
                continue
            by_line: dict[int, list[int]] = {}
            for start, end in file_candidates(source.text, language).span:
                by_line.setdefault(end, []).append(start)
            for end, starts in by_line.items():
                line_start = source.text.rfind("\n", 0, end) + 1
                lines.append((source.path, source.text, line_start, end, sorted(starts)))
    chosen = random.Random(0).sample(lines, min(LINES_PER_LANGUAGE, len(lines)))
    return [Position(path, text, start, end, cursor, tuple(cursors)) for path, text, start, end, cursors in chosen
            for cursor in cursors]


def suggestions(position: Position) -> list[str]:
    """What engines propose at a mid-line cursor: retypes of the rest of the line, and its neighbours."""
    text, cursor = position.text, position.cursor
    rest = text[cursor : position.line_end]
    boundaries = [b - cursor for b in position.boundaries if b > cursor]
    found = [rest, *(rest[:b] for b in boundaries[:2])]
    above_end = position.line_start - 1
    above_start = text.rfind("\n", 0, max(0, above_end)) + 1
    below_end = text.find("\n", position.line_end + 1)
    below = text[position.line_end + 1 : below_end if below_end >= 0 else len(text)]
    above = text[above_start:above_end] if above_end > 0 else ""
    column = cursor - position.line_start
    found += [above.strip(), below.strip(), above[column:].rstrip()]
    return [s for s in dict.fromkeys(found) if s.strip()]


def line_has_error(language: str, text: str, line_start: int, line_end: int) -> bool:
    tree = parse(language, text)
    assert tree is not None
    low = len(text[:line_start].encode("utf-8"))
    high = low + len(text[line_start:line_end].encode("utf-8"))
    return any(start <= high and end >= low for start, end in error_spans(tree.root_node))


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_mid_line_suggestion_leaves_its_line_with_a_new_syntax_error(language: str) -> None:
    chain = default_chain()
    checked, shown, skipped_lines = 0, 0, set()
    broken: list[str] = []
    clean: dict[tuple[str, int], bool] = {}
    for position in positions(language):
        key = (position.path, position.line_start)
        if key not in clean:
            clean[key] = not line_has_error(language, position.text, position.line_start, position.line_end)
        if not clean[key]:
            skipped_lines.add(key)
            continue
        prefix, suffix = position.text[: position.cursor], position.text[position.cursor :]
        context = CompletionContext(
            prefix=prefix, suffix=suffix, language=language,
            multiline=is_multiline_position(prefix, suffix, language),
            indent_unit=indent_unit(prefix[-2500:] + suffix[:1500]),
        )
        for text in suggestions(position):
            checked += 1
            result, _ = apply_chain(chain, Suggestion(text), context)
            if result is None:
                continue
            shown += 1
            after = prefix + result.text + suffix[result.replace_suffix :]
            line_end = after.find("\n", position.cursor + len(result.text))
            if line_has_error(language, after, position.line_start, line_end if line_end >= 0 else len(after)):
                broken.append(f"{position.path}: {prefix[position.line_start:]}⟨{result.text}⟩"
                              f"{suffix[result.replace_suffix:].split(chr(10), 1)[0]}")
    assert checked > 1000, f"too few positions in {language}: {checked} suggestions checked"
    assert not broken, (f"{language}: {len(broken)} of {shown} suggestions shown ({checked} checked, "
                        f"{len(skipped_lines)} lines left out) leave their line with a new syntax error:\n"
                        + "\n".join(broken[:15]))
