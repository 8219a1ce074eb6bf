"""The index's incremental behaviour, the artifact store's atomic publishing and its refusals."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from splice.errors import ArtifactError, IndexUnreadableError, SourceError
from splice.retrieval.artifact import open_artifact
from splice.retrieval.customization import customize
from splice.retrieval.index import RepositoryIndex
from splice.retrieval.indexing import Source, index_sources
from splice.retrieval.retriever import RetrievalQuery, Retriever
from splice.retrieval.selection import Knobs


def _repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


FILES = {
    "pricing.py": "def compute_total(items):\n    return sum(item.price for item in items)\n",
    "orders.py": "from pricing import compute_total\n\n\ndef checkout(cart):\n    total = compute_total(cart.items)\n"
                 "    return total\n",
}


def test_reindex_skips_unchanged_and_removes_deleted(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", FILES)
    index = RepositoryIndex(tmp_path / "i.sqlite")
    first = index_sources(index, [Source("repo", repo)], prefix_paths=False)
    assert first.indexed == 2
    second = index_sources(index, [Source("repo", repo)], prefix_paths=False)
    assert (second.indexed, second.unchanged) == (0, 2)
    (repo / "orders.py").unlink()
    third = index_sources(index, [Source("repo", repo)], prefix_paths=False)
    assert third.removed == 1 and set(index.digests()) == {"pricing.py"}


def test_a_model_change_reembeds_everything_and_still_removes_deleted_files(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", FILES)
    index = RepositoryIndex(tmp_path / "i.sqlite")
    index_sources(index, [Source("repo", repo)], prefix_paths=False)
    index.set_meta("embedding", "another-model")  # as if the last run embedded with another model
    (repo / "orders.py").unlink()
    again = index_sources(index, [Source("repo", repo)], prefix_paths=False)
    assert (again.indexed, again.removed) == (1, 1) and set(index.digests()) == {"pricing.py"}


def test_cancelled_run_keeps_committed_progress(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {f"m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(600)})
    index = RepositoryIndex(tmp_path / "i.sqlite")
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 600 + 300  # polled once per file while scanning, then once per file indexed

    index_sources(index, [Source("repo", repo)], prefix_paths=False, cancelled=cancelled)
    kept = len(index.digests())
    assert 0 < kept < 600
    resumed = index_sources(index, [Source("repo", repo)], prefix_paths=False)
    assert resumed.unchanged == kept and len(index.digests()) == 600


def test_retriever_drops_window_overlap_and_orders_stably(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", FILES)
    index = RepositoryIndex(tmp_path / "i.sqlite")
    index_sources(index, [Source("repo", repo)], prefix_paths=False)
    retriever = Retriever(index)
    query = RetrievalQuery(path="orders.py", prefix="def checkout(cart):\n    total = compute_total(",
                           suffix=")\n", window_start=0, window_end=10, limit=4)
    snippets = retriever.snippets(query, deadline_s=2.0)
    assert [s.path for s in snippets] == ["pricing.py"]
    assert snippets == retriever.snippets(query, deadline_s=2.0)


def test_missing_and_corrupt_inputs_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        index_sources(RepositoryIndex(tmp_path / "i.sqlite"), [Source("x", tmp_path / "missing")])
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(IndexUnreadableError):
        RepositoryIndex(bad)
    with pytest.raises(ArtifactError, match="invalid tenant"):
        open_artifact(tmp_path, "../etc")
    with pytest.raises(ArtifactError, match="no published artifact"):
        open_artifact(tmp_path, "nobody")


def test_publish_is_versioned_and_corruption_is_refused(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", FILES)
    root = tmp_path / "artifacts"
    first = asyncio.run(customize(root, "acme", [Source("repo", repo)], knobs=Knobs(), task_id=5))
    (repo / "extra.py").write_text("def extra():\n    return 1\n")
    second = asyncio.run(customize(root, "acme", [Source("repo", repo)], knobs=Knobs()))
    assert first.published is not None and second.published is not None
    assert (root / "acme" / "current").resolve() == second.published
    manifest = json.loads((second.published / "manifest.json").read_text())
    assert manifest["tenant"] == "acme" and manifest["version"] == 2 and manifest["sizes"]["files"] == 3
    assert (root / "by-task-id" / "5" / "repo" / "pricing.py").is_file()
    artifact = open_artifact(root, "acme")
    artifact.close()
    with open(second.published / "index.sqlite", "r+b") as handle:
        handle.seek(200)
        handle.write(b"\xff" * 64)
    with pytest.raises(ArtifactError, match="corrupt"):
        open_artifact(root, "acme")


def test_knobs_select_and_record_reasons(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {
        **FILES, "legacy/old.py": "def old():\n    return 0\n", "tests/test_x.py": "def test_x():\n    pass\n",
        "fragile.py": "def fragile():\n    return 1\n",
    })
    git = ["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=n"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "initial"], check=True)
    for n in range(3):
        (repo / "fragile.py").write_text(f"def fragile():\n    return {n + 2}\n")
        subprocess.run([*git, "commit", "-qam", f"fix crash {n}"], check=True)
    knobs = Knobs(exclude=("tests/",), max_bugfix_commits=2, since_days=30,
                  deprecated=("**/legacy/**",))
    outcome = asyncio.run(customize(tmp_path / "art", "acme", [Source("repo", repo)], knobs=knobs))
    skipped = outcome.report.skipped
    assert skipped["deprecated path"] == ["repo/legacy/old.py"]
    assert skipped["matched by --exclude"] == ["repo/tests/test_x.py"]
    assert skipped["more than 2 bug-fix commits"] == ["repo/fragile.py"]
    assert outcome.published is not None
    selection = json.loads((outcome.published / "selection.json").read_text())
    assert selection["selected"] == 2
    manifest = json.loads((outcome.published / "manifest.json").read_text())
    assert manifest["sources"][0]["commit"] and manifest["knobs"]["max_bugfix_commits"] == 2


def _vocabulary(index: RepositoryIndex) -> dict[str, int]:
    return {term: doc for term, doc in index._db.execute("SELECT term, doc FROM chunk_terms")}


def _counted(index: RepositoryIndex) -> dict[str, int]:
    return {term: doc for term, doc in index._db.execute("SELECT term, doc FROM term_docs")}


def test_term_counts_follow_every_write_and_an_older_index_gets_them_on_opening(tmp_path: Path) -> None:
    import random  # noqa: PLC0415

    from splice.retrieval.chunking import chunk_file  # noqa: PLC0415

    stdlib = Path(json.__file__).parent.parent  # real code nobody here wrote
    sources = sorted(stdlib.glob("*.py"))[:40]
    rng = random.Random(5)
    index = RepositoryIndex(tmp_path / "index.sqlite")
    for step in range(30):
        picked = rng.sample(sources, 3)
        if step % 4 == 3:
            index.remove_files([str(path) for path in picked])
            continue
        entries = []
        for path in picked:
            text = path.read_text(encoding="utf-8", errors="replace")
            if step % 2:  # a changed file: the same path with different chunks
                text = "\n".join(text.splitlines()[rng.randrange(50):])
            entries.append((str(path), "r", "python", str(step), chunk_file(str(path), "python", text), None))
        index.replace_files(entries)
        assert _counted(index) == _vocabulary(index)
    assert _counted(index)
    # An index written before the counts were kept is counted once, when it is next opened.
    index._db.execute("DELETE FROM term_docs")
    index._db.execute("DELETE FROM meta WHERE key = 'term_docs'")
    index.close()
    reopened = RepositoryIndex(tmp_path / "index.sqlite")
    assert _counted(reopened) == _vocabulary(reopened) != {}
    query = "def dumps(obj, skipkeys, ensure_ascii, check_circular, allow_nan, cls, indent, separators)"
    fresh = reopened.lexical(query, 10)
    # Read through FTS5's own vocabulary (an artifact without the counts), the search finds the same.
    reopened._frequency_table = "chunk_terms"
    assert fresh and [h.chunk_id for h in reopened.lexical(query, 10)] == [h.chunk_id for h in fresh]
    # An artifact older still, without FTS5's vocabulary view either, counts every term as present.
    reopened._db.execute("DROP TABLE chunk_terms")
    reopened._db.execute("DELETE FROM meta WHERE key = 'term_docs'")
    reopened.close()
    oldest = RepositoryIndex(tmp_path / "index.sqlite", readonly=True)
    assert oldest.lexical(query, 10)


def _automerge(index: RepositoryIndex) -> int:
    row = index._db.execute("SELECT v FROM chunk_fts_config WHERE k = 'automerge'").fetchone()
    return 4 if row is None else int(row[0])  # FTS5 stores the setting only once it is changed


def test_a_save_commits_without_merging_and_the_merge_runs_after_in_steps(tmp_path: Path) -> None:
    from splice.retrieval.live import Retrieval  # noqa: PLC0415

    repo = _repo(tmp_path / "repo", {f"m{n}.py": f"def original_{n}():\n    return {n}\n" for n in range(8)})
    live = Retrieval(RepositoryIndex(tmp_path / "ws.sqlite"), root=repo, semantic=False)
    live.rebuild()
    built = live.index.segment_count()
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    for n, word in enumerate(words):
        assert live.update_file(repo / f"m{n}.py", f"def {word}():\n    return {n}\n")
    # Each save added a b-tree and merged none (FTS5 alone merges once a level holds four).
    assert live.index.segment_count() >= built + 8
    assert _automerge(live.index) == 0
    # What a save wrote is searchable before any merging.
    assert {hit.path for hit in live.index.lexical("hotel", 5)} == {"m7.py"}
    live.merge()
    assert live.index.segment_count() < 4 and _automerge(live.index) == 4
    assert {hit.path for hit in live.index.lexical("delta", 5)} == {"m3.py"}
    assert not live.index.lexical("original", 5)
    # An index whose last write deferred its merges (the process died before merging) gets them back.
    live.update_file(repo / "m0.py", "def again():\n    return 0\n")
    live.index.close()
    assert _automerge(RepositoryIndex(tmp_path / "ws.sqlite")) == 4
