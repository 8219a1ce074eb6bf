"""Which files of an organization's repositories a customization learns from, and why each other is left out.

Knobs: include and exclude globs (git's wildmatch syntax, matched against the path inside its repository),
only code committed in the last N days, no files with many bug-fix commits (code that keeps breaking is a
poor example to imitate), and no deprecated paths (by glob, plus directories named ``deprecated`` or
``legacy`` and modules that announce themselves deprecated in their first lines). Git history is read once
per repository with one ``git log``; every decision carries a reason, which ``splice customize`` prints
and the artifact records.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from splice.errors import SourceError

DEFAULT_DEPRECATED = ("**/deprecated/**", "**/legacy/**", "**/*_deprecated.*", "**/deprecated_*")
BUGFIX_SUBJECT = re.compile(r"\b(?:fix(?:e[sd])?|bug(?:fix)?|hotfix|regression|revert)\b", re.IGNORECASE)
_DEPRECATED_MARKER = re.compile(
    r"this (?:module|file|package|class) is deprecated|^\s*(?:#|//|\*)\s*deprecated\b|^\s*@deprecated\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_MARKER_LINES = 15
_DAY = 86_400


@dataclass(frozen=True, kw_only=True)
class Knobs:
    """Data-selection settings of one customization."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    since_days: int | None = None
    max_bugfix_commits: int | None = None
    deprecated: tuple[str, ...] = DEFAULT_DEPRECATED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class History:
    """One repository's history as far as selection needs it."""

    commit: str | None = None
    dirty: bool = False
    last_commit: dict[str, int] = field(default_factory=dict)  # path -> unix time of its latest commit
    bugfixes: Counter[str] = field(default_factory=Counter)  # path -> bug-fix commits touching it


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
                              timeout=600)
    except FileNotFoundError as exc:
        raise SourceError("git is not installed; history-based selection needs it") from exc
    except subprocess.CalledProcessError as exc:
        raise SourceError(f"git {' '.join(args[:2])} failed in {repo}: {exc.stderr.strip()}") from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"git {' '.join(args[:2])} timed out in {repo}") from exc
    return done.stdout


def is_git_repository(repo: Path) -> bool:
    try:
        return _git(repo, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except SourceError:
        return False


def read_history(repo: Path, *, with_log: bool) -> History:
    """Commit, dirtiness and (when ``with_log``) per-file history of ``repo``; empty when it is not a git repository."""
    history = History()
    if not is_git_repository(repo):
        return history
    try:
        history.commit = _git(repo, "rev-parse", "HEAD").strip() or None
    except SourceError:
        return history  # a repository without commits
    history.dirty = bool(_git(repo, "status", "--porcelain", "--untracked-files=no").strip())
    if not with_log:
        return history
    prefix = _git(repo, "rev-parse", "--show-prefix").strip()  # the repo path may be a subdirectory
    log = _git(repo, "log", "--no-merges", "--no-renames", "--format=%x00%ct%x09%s", "--name-only", "--", ".")
    for record in log.split("\x00")[1:]:
        head, _, names = record.partition("\n")
        stamp, _, subject = head.partition("\t")
        when = int(stamp) if stamp.isdigit() else 0
        fix = bool(BUGFIX_SUBJECT.search(subject))
        for name in names.split("\n"):
            name = name.strip()
            if not name or (prefix and not name.startswith(prefix)):
                continue
            name = name[len(prefix):]
            if when > history.last_commit.get(name, 0):
                history.last_commit[name] = when
            if fix:
                history.bugfixes[name] += 1
    return history


class Selector:
    """Applies :class:`Knobs` to the files of one repository."""

    def __init__(self, knobs: Knobs, history: History, *, now: float | None = None) -> None:
        self.knobs = knobs
        self.history = history
        self._include = pathspec.GitIgnoreSpec.from_lines(knobs.include) if knobs.include else None
        self._exclude = pathspec.GitIgnoreSpec.from_lines(knobs.exclude) if knobs.exclude else None
        self._deprecated = pathspec.GitIgnoreSpec.from_lines(knobs.deprecated) if knobs.deprecated else None
        self._cutoff = None if knobs.since_days is None else (now or time.time()) - knobs.since_days * _DAY

    def reason_to_skip(self, path: str, text: str) -> str | None:
        """Why ``path`` (inside its repository) is left out, or None when it is selected."""
        if self._include is not None and not self._include.match_file(path):
            return "not matched by --include"
        if self._exclude is not None and self._exclude.match_file(path):
            return "matched by --exclude"
        if self._deprecated is not None and self._deprecated.match_file(path):
            return "deprecated path"
        head = "\n".join(text.split("\n", _MARKER_LINES)[:_MARKER_LINES])
        if _DEPRECATED_MARKER.search(head):
            return "marked deprecated"
        if self._cutoff is not None and self.history.last_commit.get(path, 0) < self._cutoff:
            return f"not committed in the last {self.knobs.since_days} days"
        limit = self.knobs.max_bugfix_commits
        if limit is not None and self.history.bugfixes.get(path, 0) > limit:
            return f"more than {limit} bug-fix commits"
        return None
