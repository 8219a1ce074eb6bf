"""The embedded engine's stored project index: read back unchanged, updated from changed files, rid of
deleted ones, rebuilt when damaged, and never holding a secret of the workspace or of an open document."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from splice.config import Settings
from splice.context.prompt import FimPrompt
from splice.engines.base import GenerationRequest
from splice.engines.embedded import EmbeddedEngine, ProjectCache
from splice.engines.embedded import project_cache as cache_module
from splice.engines.embedded.lexer import TokenArray, Vocabulary
from splice.engines.embedded.project import ProjectIndex, build_project
from splice.engines.embedded.project_cache import cached_project
from splice.retrieval.live import default_index_path
from splice.server.app import _project_cache as server_project_cache
from splice.workspace import WalkLimits

PLANTED = Path(__file__).resolve().parents[2] / "data" / "secrets" / "planted.jsonl"
LIMITS = WalkLimits()
AN_HOUR_AGO = time.time() - 3600


class Calls:
    """What one :func:`cached_project` call did: its notices, and how many files it lexed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.notices: list[str] = []
        self.lexed = 0
        real = cache_module.file_tokens

        def counting(vocab: Vocabulary, text: str) -> TokenArray:
            self.lexed += 1
            return real(vocab, text)

        monkeypatch.setattr(cache_module, "file_tokens", counting)

    def load(self, root: Path, directory: Path) -> tuple[ProjectIndex, Vocabulary]:
        self.notices.clear()
        self.lexed = 0
        return cached_project(root, ProjectCache(directory, notice=self.notices.append), LIMITS, 64)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    return Calls(monkeypatch)


def write(root: Path, rel: str, text: str, *, mtime: float = AN_HOUR_AGO) -> Path:
    """Write a file dated ``mtime`` (an hour ago by default: a file written just before an index is read
    is checked again on the next run, which these tests do not want to depend on)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def workspace(root: Path) -> Path:
    write(root, "shop/cart.py", "def total(cart):\n    return sum(item.price for item in cart.items)\n")
    write(root, "shop/tax.py", "def with_tax(amount, rate):\n    return round(amount * (1 + rate), 2)\n")
    write(root, "util/names.py", "def slug(text):\n    return text.lower().replace(' ', '-')\n")
    write(root, "README.md", "# not code: never read by the engine\n")
    return root


def texts_in(project: ProjectIndex, vocab: Vocabulary) -> set[str]:
    return {vocab.text(token).strip() for token in np.unique(project.corpus.tokens).tolist()}


def decoded(project: ProjectIndex, vocab: Vocabulary) -> list[str]:
    """The corpus as token texts: what two indexes built with differently numbered vocabularies share."""
    return [vocab.text(token) for token in project.corpus.tokens.tolist()]


def same_index(a: ProjectIndex, b: ProjectIndex) -> bool:
    return (a.paths == b.paths and np.array_equal(a.corpus.tokens, b.corpus.tokens)
            and np.array_equal(a.corpus.boundaries, b.corpus.boundaries)
            and np.array_equal(a.suffix_index.suffix_array, b.suffix_index.suffix_array)
            and np.array_equal(a.line_keys, b.line_keys) and np.array_equal(a.line_positions, b.line_positions))


def test_a_warm_run_reads_the_index_back_without_lexing(tmp_path: Path, calls: Calls) -> None:
    root, store = workspace(tmp_path / "ws"), tmp_path / "cache"
    built, _ = calls.load(root, store)
    assert calls.lexed == 3 and len(calls.notices) == 1 and "indexed 3 files" in calls.notices[0]
    warm, vocab = calls.load(root, store)
    assert calls.lexed == 0 and calls.notices == []
    assert same_index(built, warm)
    assert "with_tax" in texts_in(warm, vocab)
    # The line table answers from the mapped arrays as it does from the built ones.
    line = [vocab.lookup(text) for text in ("return", " sum", "(", "item", ".", "price")]
    assert warm.occurrences_of_line(line[:1]) == built.occurrences_of_line(line[:1])


def test_the_stored_index_is_the_one_built_in_memory(tmp_path: Path, calls: Calls) -> None:
    root = workspace(tmp_path / "ws")
    calls.load(root, tmp_path / "cache")
    warm, _ = calls.load(root, tmp_path / "cache")
    fresh = build_project(root, Vocabulary(), LIMITS, 64)
    assert same_index(warm, fresh)


def test_a_changed_file_is_lexed_again_and_the_others_are_not(tmp_path: Path, calls: Calls) -> None:
    root, store = workspace(tmp_path / "ws"), tmp_path / "cache"
    calls.load(root, store)
    write(root, "shop/tax.py", "def with_vat(amount, vat_rate):\n    return amount * (1 + vat_rate)\n",
          mtime=AN_HOUR_AGO + 60)
    updated, vocab = calls.load(root, store)
    assert calls.lexed == 1
    assert len(calls.notices) == 1 and "1 file(s)" in calls.notices[0] and "changed" in calls.notices[0]
    assert {"with_vat", "vat_rate", "slug", "total"} <= texts_in(updated, vocab)
    assert "with_tax" not in texts_in(updated, vocab)
    fresh_vocab = Vocabulary()
    fresh = build_project(root, fresh_vocab, LIMITS, 64)
    assert decoded(updated, vocab) == decoded(fresh, fresh_vocab) and updated.paths == fresh.paths
    assert np.array_equal(updated.corpus.boundaries, fresh.corpus.boundaries)
    assert np.array_equal(np.sort(updated.line_positions), np.sort(fresh.line_positions))
    again, _ = calls.load(root, store)
    assert calls.lexed == 0 and calls.notices == [] and same_index(updated, again)


def test_a_touched_file_is_read_but_the_index_is_kept(tmp_path: Path, calls: Calls) -> None:
    root, store = workspace(tmp_path / "ws"), tmp_path / "cache"
    built, _ = calls.load(root, store)
    os.utime(root / "shop/cart.py", (AN_HOUR_AGO + 60, AN_HOUR_AGO + 60))
    kept, _ = calls.load(root, store)
    assert calls.lexed == 0 and calls.notices == [] and same_index(built, kept)
    manifest = next(store.glob("g-*/manifest.json"))
    mtimes = {path: mtime for path, _, mtime, _, _ in json.loads(manifest.read_text())["files"]}
    assert mtimes["shop/cart.py"] == os.stat(root / "shop/cart.py").st_mtime_ns  # so it is not read again


def test_a_deleted_file_leaves_the_index(tmp_path: Path, calls: Calls) -> None:
    root, store = workspace(tmp_path / "ws"), tmp_path / "cache"
    calls.load(root, store)
    (root / "util/names.py").unlink()
    project, vocab = calls.load(root, store)
    assert calls.lexed == 0 and "changed" in calls.notices[0]
    assert [Path(p).name for p in project.paths] == ["cart.py", "tax.py"]
    assert "slug" not in texts_in(project, vocab)


def test_a_file_added_or_newly_ignored_is_taken_in_or_out(tmp_path: Path, calls: Calls) -> None:
    root, store = workspace(tmp_path / "ws"), tmp_path / "cache"
    calls.load(root, store)
    write(root, "shop/discount.py", "def discounted(price):\n    return price * 0.9\n")
    write(root, ".gitignore", "util/\n")
    project, vocab = calls.load(root, store)
    assert calls.lexed == 1
    assert sorted(Path(p).name for p in project.paths) == ["cart.py", "discount.py", "tax.py"]
    assert "discounted" in texts_in(project, vocab) and "slug" not in texts_in(project, vocab)


@pytest.mark.parametrize("damage", ["truncate tokens", "flip suffix array", "garbage manifest",
                                    "pointer to nowhere", "missing vocabulary", "other fingerprint"])
def test_a_damaged_cache_is_rebuilt_with_one_notice(tmp_path: Path, calls: Calls, damage: str) -> None:
    root, store = workspace(tmp_path / "ws"), tmp_path / "cache"
    built, _ = calls.load(root, store)
    generation = next(store.glob("g-*"))
    if damage == "truncate tokens":
        data = (generation / "tokens.npy").read_bytes()
        (generation / "tokens.npy").write_bytes(data[: len(data) - 8])
    elif damage == "flip suffix array":
        data = bytearray((generation / "suffix_array.npy").read_bytes())
        data[-3] ^= 0xFF
        (generation / "suffix_array.npy").write_bytes(bytes(data))
    elif damage == "garbage manifest":
        (generation / "manifest.json").write_text("{not json")
    elif damage == "pointer to nowhere":
        (store / "current").write_text("../../etc\n")
    elif damage == "missing vocabulary":
        (generation / "vocabulary.json").unlink()
    else:
        manifest = json.loads((generation / "manifest.json").read_text())
        (generation / "manifest.json").write_text(json.dumps({**manifest, "fingerprint": "0" * 64}))
    rebuilt, vocab = calls.load(root, store)
    assert len(calls.notices) == 2 and "unusable" in calls.notices[0] and "rebuilding" in calls.notices[0]
    assert "\n" not in calls.notices[0] and "indexed 3 files" in calls.notices[1]
    assert calls.lexed == 3 and same_index(built, rebuilt) and "with_tax" in texts_in(rebuilt, vocab)
    calls.load(root, store)
    assert calls.lexed == 0 and calls.notices == []
    current = (store / "current").read_text().strip()
    if damage != "pointer to nowhere":  # else the old generation is no longer known as the replaced one
        assert [p.name for p in store.glob("g-*")] == [current]


def test_an_unwritable_cache_leaves_the_index_in_memory(tmp_path: Path, calls: Calls) -> None:
    root = workspace(tmp_path / "ws")
    (tmp_path / "file").write_text("")
    project, vocab = calls.load(root, tmp_path / "file" / "cache")
    assert "with_tax" in texts_in(project, vocab)
    assert calls.notices[-1].startswith("indexed 3 files") and "not stored:" in calls.notices[-1]
    assert "stored for next time" not in " ".join(calls.notices)


def planted(root: Path) -> list[str]:
    """The planted secrets of ``tests/data/secrets``, each in its file of the workspace; their values."""
    secrets = []
    for line in PLANTED.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        write(root, case["path"], case["text"])
        secrets.append(case["secret"])
    return secrets


def cache_bytes(store: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(store.rglob("*")) if path.is_file())


def secrets_in(data: bytes, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret.encode("utf-8") in data]


def test_no_planted_secret_reaches_the_cache(tmp_path: Path, calls: Calls) -> None:
    root, store = workspace(tmp_path / "ws"), tmp_path / "cache"
    secrets = planted(root)
    project, _ = calls.load(root, store)
    assert len(project.paths) > 3  # the files holding them are indexed, redacted
    assert secrets_in(cache_bytes(store), secrets) == []
    write(root, "shop/cart.py", "def total(cart):\n    return sum(cart)\n", mtime=AN_HOUR_AGO + 60)
    calls.load(root, store)
    assert "changed" in calls.notices[0] and secrets_in(cache_bytes(store), secrets) == []


def request_at(path: Path, text: str) -> GenerationRequest:
    prefix, suffix = text.split("<|>")
    return GenerationRequest(prompt=FimPrompt(path=str(path), language="python", prefix=prefix, suffix=suffix),
                             document_prefix=prefix, document_suffix=suffix, multiline=False, num_candidates=4)


async def engine_on(root: Path, store: Path, notices: list[str]) -> EmbeddedEngine:
    engine = EmbeddedEngine(workspace=root, cache=ProjectCache(store, notice=notices.append))
    await engine.start()
    assert engine.wait_until_ready(30)
    return engine


async def test_the_engine_completes_from_the_changed_file(tmp_path: Path) -> None:
    root, store, notices = workspace(tmp_path / "ws"), tmp_path / "cache", []
    current = write(root, "shop/report.py", "")
    text = "def report(amount, rate):\n    <|>\n"
    engine = await engine_on(root, store, notices)
    assert (await engine.generate(request_at(current, text)))[0].text.startswith("return round(amount * (1 + rate)")
    write(root, "shop/tax.py", "def with_tax(amount, rate):\n    return amount + amount * rate\n",
          mtime=AN_HOUR_AGO + 60)
    notices.clear()
    engine = await engine_on(root, store, notices)
    assert "changed" in notices[0]
    assert (await engine.generate(request_at(current, text)))[0].text.startswith("return amount + amount * rate")


async def test_an_open_documents_secret_never_reaches_the_cache(tmp_path: Path) -> None:
    root, store, notices = workspace(tmp_path / "ws"), tmp_path / "cache", []
    secret = "Zq9PlantedOpenDocumentSecret77"
    current = write(root, "shop/live.py", "")
    engine = EmbeddedEngine(workspace=root, cache=ProjectCache(store, notice=notices.append))
    # Lexed before the index exists and after: the live document's tokens go to the engine's vocabulary.
    text = f'API_KEY = "{secret}"\ndef total(cart):\n    <|>\n'
    engine.document_changed(str(current), text.replace("<|>", ""))
    await engine.generate(request_at(current, text))
    await engine.start()
    assert engine.wait_until_ready(30)
    await engine.generate(request_at(current, text))
    write(root, "shop/cart.py", "def total(cart):\n    return len(cart)\n", mtime=AN_HOUR_AGO + 60)
    again = await engine_on(root, store, notices)
    again.document_changed(str(current), text.replace("<|>", ""))
    await again.generate(request_at(current, text))
    assert secret.encode() not in cache_bytes(store)


def test_older_generations_and_abandoned_folders_are_removed(tmp_path: Path, calls: Calls) -> None:
    root, store = workspace(tmp_path / "ws"), tmp_path / "cache"
    calls.load(root, store)
    (store / "tmp-1-abandoned").mkdir()
    os.utime(store / "tmp-1-abandoned", (AN_HOUR_AGO - 3600, AN_HOUR_AGO - 3600))
    (store / "tmp-2-being-written").mkdir()  # another process's, still fresh: left alone
    (store / "g-00000000000000aa").mkdir()  # another writer's, about to be made current: left alone
    (store / "g-00000000000000bb").mkdir()  # an hour old: removed
    os.utime(store / "g-00000000000000bb", (AN_HOUR_AGO, AN_HOUR_AGO))
    write(root, "shop/cart.py", "def total(cart):\n    return 0\n", mtime=AN_HOUR_AGO + 60)
    calls.load(root, store)
    current = (store / "current").read_text().strip()
    assert sorted(p.name for p in store.iterdir()) == sorted(["current", current, "tmp-2-being-written",
                                                              "g-00000000000000aa"])


def test_the_server_stores_its_index_beside_the_retrieval_index_except_when_evaluating(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPLICE_INDEX_DIR", str(tmp_path / "index"))
    root = workspace(tmp_path / "ws")
    cache = server_project_cache(root, Settings())
    assert cache is not None and cache.directory == default_index_path(root).parent / "engine"
    assert server_project_cache(root, Settings(evaluation_guard=str(tmp_path / "guard.json"))) is None
    assert server_project_cache(None, Settings()) is None
