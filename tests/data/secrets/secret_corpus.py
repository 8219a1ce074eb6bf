"""The labelled secrets corpus and the negative set of other people's code, and how the redactor scores on them.

``planted.jsonl`` holds one case a line: a short file (its ``path`` and ``text``) with one planted secret,
labelled with its exact value and its kind. Every value is synthetic, made from a seeded random generator in
each vendor's published shape. ``negatives.json`` names pinned distributions whose installed Python files
are the negative set: every finding there is a false positive. ``scripts/bench-secrets`` prints the figures
and ``tests/unit/retrieval/test_secret_corpus.py`` holds the redactor to its targets.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Planted:
    """One planted secret: the file it sits in and its exact value."""

    kind: str
    path: str
    text: str
    secret: str


@dataclass
class Score:
    """Recall on the planted corpus and false positives on the negative set."""

    planted: int = 0
    missed: list[Planted] = field(default_factory=list)
    lines: int = 0
    false_positives: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, text)
    seconds: float = 0.0

    @property
    def recall(self) -> float:
        return 1 - len(self.missed) / self.planted if self.planted else 1.0

    @property
    def false_positives_per_10k(self) -> float:
        return len(self.false_positives) * 10_000 / self.lines if self.lines else 0.0

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def planted_cases() -> list[Planted]:
    """The labelled corpus, in file order."""
    lines = (HERE / "planted.jsonl").read_text(encoding="utf-8").splitlines()
    return [Planted(**json.loads(line)) for line in lines if line.strip()]


def negative_files(*, exclude: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """``(name, text)`` of every Python file of the pinned distributions, sorted; raises if one is missing or
    installed at another version, since the figures would then be about other lines."""
    spec = json.loads((HERE / "negatives.json").read_text(encoding="utf-8"))
    for distribution in spec["distributions"]:
        if distribution["name"] in exclude:
            continue
        installed = importlib.metadata.version(distribution["name"])
        if installed != distribution["version"]:
            raise RuntimeError(f"{distribution['name']} {installed} is installed; the negative set pins "
                               f"{distribution['version']}")
        for package in distribution["packages"]:
            found = importlib.util.find_spec(package)
            if found is None or not found.submodule_search_locations:
                raise RuntimeError(f"package {package} of {distribution['name']} is not installed")
            base = Path(next(iter(found.submodule_search_locations)))
            for path in sorted(base.rglob("*.py")):
                yield f"{package}/{path.relative_to(base).as_posix()}", path.read_text(encoding="utf-8",
                                                                                         errors="replace")


Detector = Callable[[str, str], list[tuple[int, int]]]  # (text, path) -> spans of secret values


def score(detector: Detector, *, exclude: tuple[str, ...] = ()) -> Score:
    """How ``detector`` does: a planted case counts as found when every character of its secret is inside
    a reported span; every span reported on the negative set is a false positive."""
    result = Score()
    for case in planted_cases():
        result.planted += 1
        start = case.text.index(case.secret)
        end = start + len(case.secret)
        spans = detector(case.text, case.path)
        covered = set()
        for span_start, span_end in spans:
            covered.update(range(max(span_start, start), min(span_end, end)))
        if len(covered) < end - start:
            result.missed.append(case)
    for name, text in negative_files(exclude=exclude):
        result.lines += text.count("\n") + 1
        started = time.perf_counter()
        spans = detector(text, name)
        result.seconds += time.perf_counter() - started
        for span_start, _ in spans:
            line = text.count("\n", 0, span_start) + 1
            result.false_positives.append((name, line, text.split("\n")[line - 1].strip()))
    return result
