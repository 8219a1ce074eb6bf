"""The repositories ranking weights are fitted on, and the proof that none of them is evaluation code.

A training set is declared in a TOML file: released source distributions from PyPI, each pinned by
version and by the SHA-256 of its sdist (pip refuses anything else), with its split (``train``: the fit
learns from it; ``held-out``: only reported on) and any paths left out of it. Weights fitted on the code
they are then measured on would report a figure that says nothing about other code, so
:func:`check_disjoint` refuses a training set that holds evaluation code, by three tests:

- **names**: no training distribution is an evaluation one under another version (PEP 503 names), and no
  training file sits in a directory named like one of the evaluation's import packages (a vendored copy,
  ``pip/_vendor/requests``);
- **identical files**: no training file has the normalized content (lines stripped, blank lines dropped,
  SHA-256) of an evaluation file, wherever it sits;
- **near copies**: no training file has half or more of its distinct long lines in the evaluation's files
  (another version of an evaluation file under a renamed directory).

Only the files the fit learns from are tested: those in a language the engine indexes and tasks are
sampled from (``language_for_path`` is not ``plaintext``), of three lines or more; an empty ``__init__.py``
or a licence text is in every project and teaches nothing.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from splice.languages import language_for_path
from splice.workspace import workspace_files

SPLITS = ("train", "held-out")
MIN_LINES = 3  # a file shorter than this (normalized) is boilerplate every project has
LONG_LINE = 24  # characters: shorter lines (``return None``, ``else:``) recur in any code
MIN_LONG_LINES = 8  # a file with fewer distinct long lines is too small to call a copy
NEAR_COPY_SHARE = 0.5
# Directory names that hold a project's tests, documentation or examples, never its import package.
_NOT_PACKAGES = frozenset({"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks"})


class TrainingSetError(ValueError):
    """The training set cannot be used: a malformed declaration, or evaluation code inside it."""


@dataclass(frozen=True, kw_only=True)
class TrainingRepository:
    """One declared repository: a PyPI sdist pinned by version and digest."""

    name: str
    version: str
    sha256: str
    split: str
    exclude: tuple[str, ...] = ()  # path globs, relative to the unpacked folder, the fit never reads

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


def load_training_set(path: Path) -> list[TrainingRepository]:
    """The repositories ``path`` declares; :class:`TrainingSetError` naming the first bad entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TrainingSetError(f"{path}: {exc}") from exc
    entries = data.get("repo")
    if not isinstance(entries, list) or not entries:
        raise TrainingSetError(f"{path}: no [[repo]] entries")
    repos: list[TrainingRepository] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: repo {number}"
        fields = {key: entry.get(key) for key in ("name", "version", "sha256", "split")}
        missing = [key for key, value in fields.items() if not isinstance(value, str) or not value]
        if missing:
            raise TrainingSetError(f"{where}: missing {', '.join(missing)}")
        if fields["split"] not in SPLITS:
            raise TrainingSetError(f"{where}: split must be one of {', '.join(SPLITS)}, not {fields['split']!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", str(fields["sha256"])):
            raise TrainingSetError(f"{where}: sha256 must be 64 lower-case hex digits")
        exclude = entry.get("exclude", [])
        if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
            raise TrainingSetError(f"{where}: exclude must be a list of path globs")
        repos.append(TrainingRepository(name=str(fields["name"]), version=str(fields["version"]),
                                        sha256=str(fields["sha256"]), split=str(fields["split"]),
                                        exclude=tuple(exclude)))
    if not any(r.split == "train" for r in repos):
        raise TrainingSetError(f"{path}: no repository with split = \"train\"")
    return repos


def fetch_training_set(repos: Iterable[TrainingRepository], dest: Path) -> dict[TrainingRepository, Path]:
    """Each repository's unpacked folder under ``dest``, downloading with pip (hash-checked) what is missing."""
    repos = list(repos)
    dest.mkdir(parents=True, exist_ok=True)
    wanted = [r for r in repos if not (dest / r.folder).is_dir()]
    if wanted:
        with tempfile.TemporaryDirectory(prefix="splice-fetch-") as tmp:
            requirements = Path(tmp) / "requirements.txt"
            requirements.write_text("".join(f"{r.name}=={r.version} --hash=sha256:{r.sha256}\n" for r in wanted))
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                 "--no-binary", ":all:", "--require-hashes", "-r", str(requirements), "-d", tmp],
                capture_output=True, text=True,
            )
            if done.returncode != 0:
                raise TrainingSetError(f"pip download failed: {(done.stderr or done.stdout).strip()[-2000:]}")
            for repo in wanted:
                archives = sorted(Path(tmp).glob(f"{repo.folder}.tar.gz"), key=str)
                if not archives:
                    raise TrainingSetError(f"pip download gave no {repo.folder}.tar.gz")
                with tarfile.open(archives[0]) as tar:
                    tar.extractall(dest, filter="data")
    return {repo: dest / repo.folder for repo in repos}


def training_files(root: Path, exclude: Iterable[str] = ()) -> dict[str, str]:
    """The files of ``root`` the evaluation's walker reads, minus those matching an ``exclude`` glob."""
    patterns = tuple(exclude)
    return {f.path: f.text for f in workspace_files(root)
            if not any(fnmatch.fnmatchcase(f.path, pattern) for pattern in patterns)}


def normalized_lines(text: str) -> list[str]:
    """The non-blank lines of ``text``, stripped: what survives re-indentation and line-ending changes."""
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def content_digest(text: str) -> str:
    """SHA-256 of ``text``'s normalized lines."""
    return hashlib.sha256("\n".join(normalized_lines(text)).encode("utf-8")).hexdigest()


def canonical_name(name: str) -> str:
    """A distribution name as PEP 503 compares it (``Foo.Bar_baz`` and ``foo-bar-baz`` are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def import_packages(root: Path) -> set[str]:
    """The top-level import packages of the project unpacked at ``root`` (``src/`` layout or flat)."""
    found: set[str] = set()
    for base in (root / "src", root):
        if base.is_dir():
            found.update(child.name for child in base.iterdir()
                         if child.is_dir() and (child / "__init__.py").is_file() and child.name not in _NOT_PACKAGES)
    return found


@dataclass(frozen=True)
class EvaluationCode:
    """What the evaluation repositories are made of, as :func:`check_disjoint` compares it."""

    names: frozenset[str]  # canonical distribution names
    packages: frozenset[str]  # top-level import package names
    digests: Mapping[str, str]  # normalized content digest -> one file holding it ("repo/path")
    long_lines: frozenset[str]


def evaluation_code(repos: Mapping[str, Path]) -> EvaluationCode:
    """The evaluation repositories (distribution name -> unpacked folder), read the way the evaluation reads them."""
    digests: dict[str, str] = {}
    lines: set[str] = set()
    packages: set[str] = set()
    for _, root in sorted(repos.items()):
        packages |= import_packages(root)
        for f in workspace_files(root):
            digests.setdefault(content_digest(f.text), f"{root.name}/{f.path}")
            lines.update(line for line in normalized_lines(f.text) if len(line) >= LONG_LINE)
    return EvaluationCode(frozenset(canonical_name(n) for n in repos), frozenset(packages), digests,
                          frozenset(lines))


def overlaps(name: str, files: Mapping[str, str], evaluation: EvaluationCode) -> list[str]:
    """Why the training repository ``name`` with ``files`` (relative path -> text) holds evaluation code;
    [] when it does not."""
    found: list[str] = []
    if canonical_name(name) in evaluation.names:
        found.append(f"{name}: another version of the evaluation's {canonical_name(name)}")
    for path, text in sorted(files.items()):
        if language_for_path(path) == "plaintext":
            continue
        directories = set(PurePosixPath(path).parts[:-1])
        shared = sorted(directories & evaluation.packages)
        if shared:
            found.append(f"{name}/{path}: inside a directory named like the evaluation's package {shared[0]!r}")
            continue
        lines = normalized_lines(text)
        if len(lines) < MIN_LINES:
            continue
        same = evaluation.digests.get(content_digest(text))
        if same is not None:
            found.append(f"{name}/{path}: the same content as the evaluation's {same}")
            continue
        long_lines = {line for line in lines if len(line) >= LONG_LINE}
        if len(long_lines) >= MIN_LONG_LINES:
            share = len(long_lines & evaluation.long_lines) / len(long_lines)
            if share >= NEAR_COPY_SHARE:
                found.append(f"{name}/{path}: {share:.0%} of its lines are in the evaluation's files")
    return found


def check_disjoint(training: Mapping[str, Mapping[str, str]], evaluation: EvaluationCode) -> None:
    """Raise :class:`TrainingSetError` listing every training file that is evaluation code.

    ``training`` maps each training repository's distribution name to its files (relative path -> text).
    """
    problems = [problem for name, files in sorted(training.items()) for problem in overlaps(name, files, evaluation)]
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise TrainingSetError(f"the training set holds evaluation code ({len(problems)} files):\n  {shown}{more}")
