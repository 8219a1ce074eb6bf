"""The embedded engine's project index on disk, so a run on a large workspace starts from what the last run
built instead of lexing every file again.

It lives beside the retrieval index, in the workspace's cache folder (:func:`splice.workspace.
workspace_cache_dir`), under ``engine/``: ``current`` names the generation in use, and a generation folder
holds numpy ``.npy`` arrays (tokens, line boundaries, file starts, suffix array, line table, the
vocabulary's flags), the vocabulary's texts as JSON and ``manifest.json``: the format, a fingerprint of the
code and settings that shape the index, each file's size, modification time and digest, and the length and
CRC-32 of every other file. Nothing is pickled: arrays load with ``allow_pickle=False`` and are
memory-mapped read-only, so a warm start costs a walk that only stats files, reading back a vocabulary, and
checksums, not the hundreds of megabytes lexing a workspace takes. A generation is written in a folder of
its own and published by replacing ``current`` atomically, so a process never reads half of one.

Freshness: files whose size and modification time match the manifest are trusted; the others are read
through the redacting reader and compared by the digest of their redacted text. When files were added,
removed or changed, the unchanged files' tokens are taken from the stored corpus, only the changed ones are
lexed, and the suffix array and line table are recomputed. A file modified within two seconds of being
read is stored as unverified, so a change within the clock's granularity is never mistaken for none.

What is stored is exactly what the engine holds in memory: tokens of the redacted texts of files the walk
admits, and a vocabulary of the project's own (never the one open documents are lexed into), so nothing
the walk refuses or redacts, and nothing of an open document, reaches the disk. A damaged, truncated or
foreign cache is rebuilt with a one-line notice; a cache that cannot be written leaves the index in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from splice.engines.embedded import corpus as corpus_module
from splice.engines.embedded import lexer as lexer_module
from splice.engines.embedded import project as project_module
from splice.engines.embedded.corpus import TokenCorpus
from splice.engines.embedded.engine import ProjectCache
from splice.engines.embedded.lexer import TokenArray, Vocabulary
from splice.engines.embedded.project import ProjectIndex, code_entries, file_tokens, joined_corpus, project_index
from splice.logging import get_logger
from splice.workspace import WalkLimits, WorkspaceEntry, read_entry

_log = get_logger()

FORMAT = 1
_GENERATION = re.compile(r"g-[0-9a-f]{16}")
_RACY_NS = 2_000_000_000  # a file modified this close to being read is checked again next time
_STALE_TEMP_S = 3600  # an unfinished generation this old belongs to a process that died
_YOUNG_S = 60  # a generation this new may be another writer's, about to be made current
_QUIET_S = 0.5  # reading that ends sooner than this shows no progress bar
_QUIET_TOKENS = 1_000_000  # indexing fewer tokens than this (well under a second) is not announced
_ARRAYS: dict[str, tuple[str, ...]] = {  # file -> the dtypes it may hold
    "tokens": ("int32",), "boundaries": ("int64",), "file_starts": ("int64",),
    "suffix_array": ("int32", "int64"), "line_keys": ("uint64",), "line_positions": ("int64",),
    "newline": ("bool",), "deltas": ("int64",), "words": ("bool",),
}

class CacheDamaged(Exception):
    """A stored index that cannot be used; the message says why, for the notice."""


@dataclass(frozen=True)
class _Record:
    """One file the walk admitted, as it was when read: its stat, the digest of what was read (the
    redacted text, or why it was refused), and whether it is in the corpus."""

    size: int
    mtime_ns: int
    digest: str
    indexed: bool


@dataclass
class _Stored:
    """A generation read back: its folder, its records, and the index arrays (memory-mapped)."""

    folder: Path
    records: dict[str, _Record]
    order: list[str]  # indexed files, relative paths, in corpus order
    vocab: Vocabulary
    corpus: TokenCorpus
    arrays: dict[str, npt.NDArray[Any]]
    numbers: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.numbers = {path: number for number, path in enumerate(self.order)}

    def tokens_of(self, path: str) -> TokenArray:
        """The stored tokens of one indexed file (without the separator before the next)."""
        number = self.numbers[path]
        starts = self.corpus.file_starts
        end = int(starts[number + 1]) - 1 if number + 1 < starts.size else self.corpus.size
        return np.asarray(self.corpus.tokens[int(starts[number]):end])


@dataclass
class _Survey:
    """The workspace compared with a stored generation: a record for every file visited, the indexed ones
    in walk order, and the tokens of those that are new or changed."""

    records: dict[str, _Record] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    lexed: dict[str, TokenArray] = field(default_factory=dict)
    restated: bool = False  # a file was read again: its record differs from the stored one


def fingerprint(limits: WalkLimits, max_line_positions: int) -> str:
    """What a stored index must have been made under to be used: this format, the code that decides what
    is read, redacted and how it is lexed and laid out, and the settings that shape it."""
    from splice import secrets as secrets_module  # noqa: PLC0415 - as above
    from splice import workspace as workspace_module  # noqa: PLC0415 - only its source is read

    digest = hashlib.sha256(f"{FORMAT}|{limits!r}|{max_line_positions}".encode())
    for module in (lexer_module, corpus_module, project_module, workspace_module, secrets_module):
        source = getattr(module, "__file__", None)
        digest.update(Path(source).read_bytes() if source else module.__name__.encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def cached_project(root: Path, cache: ProjectCache, limits: WalkLimits,
                   max_line_positions: int) -> tuple[ProjectIndex, Vocabulary]:
    """The project index of ``root`` and its vocabulary: read back when nothing changed, updated from the
    changed files when some did, built when there is no usable stored index; stored for next time."""
    started = time.monotonic()
    key = fingerprint(limits, max_line_positions)
    stored: _Stored | None = None
    try:
        stored = _read_generation(cache.directory, key)
    except CacheDamaged as exc:
        cache.tell(f"the engine's cached index of {root} is unusable ({exc}); rebuilding it")
    vocab = stored.vocab if stored is not None else Vocabulary()
    survey = _survey(root, limits, stored, vocab, cache)
    paths = [os.path.normpath(str(root / path)) for path in survey.order]
    if stored is not None and not survey.lexed and survey.order == stored.order:
        if survey.restated:
            _restate(stored.folder, survey.records)
        return _project_from(root, stored, paths, max_line_positions), vocab
    files = [survey.lexed[path] if path in survey.lexed else stored.tokens_of(path)  # type: ignore[union-attr]
             for path in survey.order]
    corpus = joined_corpus(files, vocab.boundary_mask())
    if cache.progress is not None and corpus.size >= _QUIET_TOKENS:
        cache.progress(f"indexing {corpus.size:,} tokens of {len(paths)} files for the engine", 0, 0)
    project = project_index(root, corpus, paths, max_line_positions=max_line_positions)
    kept = "stored for next time"
    try:
        _write_generation(cache.directory, key, root, survey, project, vocab)
    except OSError as exc:
        kept = f"not stored: {cache.directory}: {exc.strerror or exc}"
    seconds = time.monotonic() - started
    if stored is None:
        cache.tell(f"indexed {len(paths)} files of {root} for the engine in {seconds:.1f} s ({kept})")
    else:
        changed = len(survey.lexed) + len(set(stored.order) - set(survey.order))
        cache.tell(f"{changed} file(s) of {root} changed since the engine's index was stored; "
                   f"updated it in {seconds:.1f} s ({kept})")
    return project, vocab


def _project_from(root: Path, stored: _Stored, paths: list[str], max_line_positions: int) -> ProjectIndex:
    arrays = stored.arrays
    return project_index(root, stored.corpus, paths, max_line_positions=max_line_positions,
                         suffix_array=arrays["suffix_array"], lines=(arrays["line_keys"], arrays["line_positions"]))


# The walk against the manifest ------------------------------------------------------------------------------

def _survey(root: Path, limits: WalkLimits, stored: _Stored | None, vocab: Vocabulary,
            cache: ProjectCache) -> _Survey:
    """Compare the walk with ``stored``: stat every code file, read only those whose stat changed (all of
    them without a stored index), lexing the ones whose redacted text differs."""
    known = stored.records if stored is not None else {}
    started_ns = time.time_ns()
    visited: list[tuple[WorkspaceEntry, os.stat_result]] = []
    for entry in code_entries(root, limits):
        try:
            visited.append((entry, entry.entry.stat()))
        except OSError:
            continue  # vanished or unreadable: the reader would skip it too
    unread = sum(1 for entry, info in visited if not _unchanged(known.get(entry.path), info))
    survey = _Survey()
    done = 0
    reading = time.monotonic()
    for entry, info in visited:
        record = known.get(entry.path)
        if not _unchanged(record, info):
            done += 1
            record = _read_record(entry, info, limits, vocab, started_ns, record, survey)
            if cache.progress is not None and time.monotonic() - reading >= _QUIET_S:
                cache.progress("reading and lexing the workspace for the engine", done, unread)
        assert record is not None
        survey.records[entry.path] = record
        if record.indexed:
            survey.order.append(entry.path)
            if len(survey.order) >= limits.max_files:
                break
    return survey


def _unchanged(record: _Record | None, info: os.stat_result) -> bool:
    return record is not None and record.size == info.st_size and record.mtime_ns == info.st_mtime_ns


def _read_record(entry: WorkspaceEntry, info: os.stat_result, limits: WalkLimits, vocab: Vocabulary,
                 started_ns: int, previous: _Record | None, survey: _Survey) -> _Record:
    """Read one file whose stat is new; lex it into ``survey`` when its content is."""
    source = read_entry(entry, limits)
    if isinstance(source, str):
        digest, indexed = f"refused: {source}", False
    else:
        digest, indexed = hashlib.blake2b(source.text.encode("utf-8"), digest_size=16).hexdigest(), True
    mtime_ns = -1 if info.st_mtime_ns >= started_ns - _RACY_NS else info.st_mtime_ns
    survey.restated = True
    if not isinstance(source, str) and (previous is None or previous.digest != digest or not previous.indexed):
        survey.lexed[entry.path] = file_tokens(vocab, source.text)
    return _Record(size=info.st_size, mtime_ns=mtime_ns, digest=digest, indexed=indexed)


# Reading a generation back -----------------------------------------------------------------------------------

def _read_generation(directory: Path, key: str) -> _Stored | None:
    """The generation ``current`` names, verified; None when there is none; CacheDamaged when unusable."""
    try:
        name = (directory / "current").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CacheDamaged(f"cannot read its pointer: {exc}") from exc
    if not _GENERATION.fullmatch(name):
        raise CacheDamaged("its pointer names no generation")
    folder = directory / name
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise CacheDamaged("it was written in another format")
        if manifest.get("fingerprint") != key:
            raise CacheDamaged("it was made by another version of Splice or with other settings")
        return _stored(folder, manifest)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise CacheDamaged(f"{type(exc).__name__}: {exc}") from exc


def _stored(folder: Path, manifest: dict[str, Any]) -> _Stored:
    checksums: dict[str, list[int]] = manifest["checksums"]
    for name in (*(f"{array}.npy" for array in _ARRAYS), "vocabulary.json"):
        size, crc = checksums[name]
        if _checksum(folder / name) != (size, crc):
            raise CacheDamaged(f"{name} is truncated or altered")
    arrays = {name: _mapped(folder / f"{name}.npy", dtypes) for name, dtypes in _ARRAYS.items()}
    texts = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
    vocab = Vocabulary.restored(texts, arrays["newline"].tolist(), arrays["deltas"].tolist(),
                                arrays["words"].tolist())
    records = {path: _Record(int(size), int(mtime), str(digest), bool(indexed))
               for path, size, mtime, digest, indexed in manifest["files"]}
    order = [path for path, record in records.items() if record.indexed]
    corpus = TokenCorpus(tokens=arrays["tokens"], boundaries=arrays["boundaries"], file_starts=arrays["file_starts"])
    if corpus.file_starts.size != max(len(order), 1) or arrays["suffix_array"].size != corpus.size:
        raise CacheDamaged("its arrays do not fit its manifest")
    return _Stored(folder, records, order, vocab, corpus, arrays)


def _mapped(path: Path, dtypes: tuple[str, ...]) -> npt.NDArray[Any]:
    """A stored array, memory-mapped read-only (an empty one is simply read)."""
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.dtype.name not in dtypes or array.ndim != 1:
        raise CacheDamaged(f"{path.name} holds {array.dtype.name} in {array.ndim} dimension(s)")
    return np.asarray(array)


def _checksum(path: Path) -> tuple[int, int]:
    """Size and CRC-32 of a file, read in blocks (through the page cache, not into this process)."""
    crc = size = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return size, crc


# Writing a generation ---------------------------------------------------------------------------------------

def _write_generation(directory: Path, key: str, root: Path, survey: _Survey, project: ProjectIndex,
                      vocab: Vocabulary) -> None:
    """Store ``project`` as a new generation and make it current; older generations are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f"tmp-{os.getpid()}-{secrets.token_hex(4)}"
    temporary.mkdir()
    try:
        texts, newline, deltas, words = vocab.snapshot()
        arrays: dict[str, npt.NDArray[Any]] = {
            "tokens": project.corpus.tokens, "boundaries": project.corpus.boundaries,
            "file_starts": project.corpus.file_starts, "suffix_array": project.suffix_index.suffix_array,
            "line_keys": project.line_keys, "line_positions": project.line_positions,
            "newline": np.asarray(newline, dtype=np.bool_), "deltas": np.asarray(deltas, dtype=np.int64),
            "words": np.asarray(words, dtype=np.bool_),
        }
        checksums: dict[str, tuple[int, int]] = {}
        for name, array in arrays.items():
            np.save(temporary / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
            checksums[f"{name}.npy"] = _checksum(temporary / f"{name}.npy")
        (temporary / "vocabulary.json").write_text(json.dumps(texts), encoding="utf-8")
        checksums["vocabulary.json"] = _checksum(temporary / "vocabulary.json")
        _write_manifest(temporary, {"format": FORMAT, "fingerprint": key, "root": str(root), "checksums": checksums},
                        survey.records)
        name = f"g-{secrets.token_hex(8)}"
        os.rename(temporary, directory / name)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    pointer = directory / f"current.{os.getpid()}.tmp"
    pointer.write_text(name + "\n", encoding="utf-8")
    try:
        replaced = (directory / "current").read_text(encoding="utf-8").strip()
    except OSError:
        replaced = ""
    os.replace(pointer, directory / "current")
    _remove_old(directory, keep=name, replaced=replaced)


def _write_manifest(folder: Path, head: dict[str, Any], records: dict[str, _Record]) -> None:
    manifest = {**head, "files": [[path, r.size, r.mtime_ns, r.digest, r.indexed] for path, r in records.items()]}
    temporary = folder / f"manifest.json.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(manifest), encoding="utf-8")
    os.replace(temporary, folder / "manifest.json")


def _restate(folder: Path, records: dict[str, _Record]) -> None:
    """Record new stats of files whose content did not change, so the next run need not read them."""
    try:
        head = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        head.pop("files", None)
        _write_manifest(folder, head, records)
    except (OSError, ValueError) as exc:  # another process replaced the generation: nothing to keep
        _log.info("embedded.project_cache_restate_skipped", error=str(exc))


def _remove_old(directory: Path, keep: str, replaced: str) -> None:
    """Delete the generation ``keep`` replaced, older ones, and unfinished ones left by processes that died.
    A young generation that is not ``replaced`` is left alone: a second writer may be about to point
    ``current`` at it (its own clean-up removes this one then)."""
    now = time.time()
    try:
        for entry in os.scandir(directory):
            if entry.name == keep or not entry.is_dir(follow_symlinks=False):
                continue
            age = now - entry.stat().st_mtime
            old = _GENERATION.fullmatch(entry.name) and (entry.name == replaced or age > _YOUNG_S)
            if old or (entry.name.startswith("tmp-") and age > _STALE_TEMP_S):
                shutil.rmtree(entry.path, ignore_errors=True)
    except OSError as exc:  # another process is cleaning up too; whatever is left goes next time
        _log.info("embedded.project_cache_cleanup_skipped", error=str(exc))
