"""Retrieval on a real repository: a package copied from site-packages into a fresh git repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pathspec
import pytest

from splice.retrieval.index import RepositoryIndex
from splice.retrieval.indexing import Source, index_sources
from splice.retrieval.query import query_text
from splice.retrieval.retriever import Retriever


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real") / "pathspec"
    shutil.copytree(Path(pathspec.__file__).parent, root, ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-C", str(root), "-c", "user.email=a@b", "-c", "user.name=n"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "import"], check=True)
    return root


@pytest.fixture(scope="module")
def retriever(repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    index = RepositoryIndex(tmp_path_factory.mktemp("index") / "index.sqlite")
    index_sources(index, [Source("pathspec", repository)], prefix_paths=False)
    return Retriever(index)


def _call_sites(root: Path) -> list[tuple[str, str, str]]:
    """(callee, file, prefix up to the call's open parenthesis) for functions called from another file."""
    definitions: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        for name in re.findall(r"^def ([a-z_][a-z0-9_]{5,})\(", path.read_text(), re.MULTILINE):
            definitions.setdefault(name, path.relative_to(root).as_posix())
    sites: list[tuple[str, str, str]] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text()
        for name, home in sorted(definitions.items()):
            if home == rel:
                continue
            match = re.search(rf"^(?![ \t]*(?:def|class) )[^#\n]*[^.\w]{name}\(", text, re.MULTILINE)
            if match:
                sites.append((name, rel, text[: match.end()]))
    return sites


def test_call_site_query_finds_the_callee_definition(repository: Path, retriever: Retriever) -> None:
    sites = _call_sites(repository)
    assert len(sites) >= 5
    found = 0
    for callee, _path, prefix in sites:
        hits = retriever.search(query_text(prefix, ""), 3, deadline_s=5.0)
        if any(hit.symbol.split(".")[-1] == callee for hit in hits):
            found += 1
    assert found / len(sites) >= 0.8, f"callee in the top 3 for {found} of {len(sites)} call sites"


def test_normalize_file_call_site(repository: Path, retriever: Retriever) -> None:
    text = (repository / "pathspec.py").read_text()
    prefix = text[: text.index("normalize_file(") + len("normalize_file(")]
    hits = retriever.search(query_text(prefix, ""), 3, deadline_s=5.0)
    assert "normalize_file" in [hit.symbol for hit in hits]
