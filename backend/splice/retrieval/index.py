"""The repository index: one SQLite file holding files, chunks, their FTS5 terms and their vectors.

SQLite because it gives, for free, what an index that is updated while it is read needs: transactions (an
update either lands whole or not at all, so a crash never leaves a half-written file's chunks behind),
concurrent readers, and FTS5's BM25 ranking. Every file's row carries a digest of its text, which makes a
rebuild incremental: unchanged files are skipped, so an interrupted run keeps what it had committed and
the next run carries on from there. Published artifacts are opened read-only and immutable.

One lock serialises use of the connection across the server's threads; each operation holds it briefly.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from splice.errors import IndexUnreadableError
from splice.retrieval.chunking import Chunk
from splice.retrieval.lexical import (
    BODY_WEIGHT,
    SYMBOL_WEIGHT,
    match_expression,
    query_terms,
    selective_terms,
    terms,
)

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, repo TEXT NOT NULL, language TEXT NOT NULL, digest TEXT NOT NULL,
    lines INTEGER NOT NULL, chunks INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, language TEXT NOT NULL, symbol TEXT NOT NULL,
    kind TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, text TEXT NOT NULL,
    vector BLOB
);
CREATE INDEX IF NOT EXISTS chunks_by_path ON chunks(path);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(
    symbol_terms, body_terms, tokenize = "unicode61 tokenchars '_'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5vocab(chunk_fts, 'row');
CREATE TABLE IF NOT EXISTS term_docs (term TEXT PRIMARY KEY, doc INTEGER NOT NULL) WITHOUT ROWID;
"""
# ``chunk_terms`` answers "how many chunks hold this term" by reading the term's whole posting list, about
# 1 ms for a query's 40 terms on a 1,500-chunk index, most of a lexical search. ``term_docs`` keeps the same
# counts in a plain table, updated in the transaction that changes the chunks (a point lookup per term).
_TERM_DOCS_READY = "term_docs"
# FTS5's default: merge once a level holds this many b-trees. A save that deferred its merges leaves the
# setting at 0 until the next merge step; an index opened for writing gets it back (a crash in between).
_AUTOMERGE = 4
_MERGE_STEP_PAGES = 16


@dataclass(frozen=True, kw_only=True)
class Hit:
    """A chunk found by a search, with its score from that search (higher is better)."""

    chunk_id: int
    path: str
    language: str
    symbol: str
    start_line: int
    end_line: int
    text: str
    score: float


def text_digest(text: str) -> str:
    """The digest that tells whether a file changed since it was indexed."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class RepositoryIndex:
    """An open index file. ``readonly`` opens a published artifact immutably."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        try:
            if readonly:
                if not self.path.is_file():
                    raise IndexUnreadableError(f"index {self.path} does not exist")
                uri = f"file:{self.path}?mode=ro&immutable=1"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # an index directory that cannot exist is a message, not a traceback
                    raise IndexUnreadableError(f"cannot create {self.path.parent}: {exc.strerror or exc}") from exc
                self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                self._fill_term_docs()
                self._restore_automerge()
            schema = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if self._term_docs_ready():
                self._frequency_table: str | None = "term_docs"
            else:
                # An artifact published before the counts table existed is read through FTS5's own
                # vocabulary, and one older still, without that either, counts every term as present.
                vocabulary = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'chunk_terms'").fetchone()
                self._frequency_table = "chunk_terms" if vocabulary is not None else None
        except sqlite3.DatabaseError as exc:
            raise IndexUnreadableError(f"index {self.path} is not a readable Splice index: {exc}") from exc
        if schema is None or schema[0] != SCHEMA_VERSION:
            raise IndexUnreadableError(f"index {self.path} has schema {schema[0] if schema else 'none'}, "
                              f"expected {SCHEMA_VERSION}; rebuild it")
        self._chunk_count: int | None = None

    def _restore_automerge(self) -> None:
        """FTS5's merging back on if a save that deferred its merges was the last write (one read when it is
        on, the usual case)."""
        row = self._db.execute("SELECT v FROM chunk_fts_config WHERE k = 'automerge'").fetchone()
        if row is not None and row[0] != _AUTOMERGE:
            self._set_automerge(_AUTOMERGE)

    def _term_docs_ready(self) -> bool:
        return self._db.execute("SELECT 1 FROM meta WHERE key = ?", (_TERM_DOCS_READY,)).fetchone() is not None

    def _fill_term_docs(self) -> None:
        """Count every term's chunks once, for an index written before ``term_docs`` was kept (checked
        inside the write transaction, so a second process opening it meanwhile waits and then skips)."""
        if self._term_docs_ready():
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if self._term_docs_ready():
                self._db.execute("COMMIT")
                return
            self._db.execute("DELETE FROM term_docs")
            self._db.execute("INSERT INTO term_docs SELECT term, doc FROM chunk_terms")
            self._db.execute("INSERT INTO meta VALUES (?, '1')", (_TERM_DOCS_READY,))
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the file; later calls fail."""
        with self._lock:
            self._db.close()

    # Metadata ---------------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # Writing ----------------------------------------------------------------------------------------

    def digests(self) -> dict[str, str]:
        """Indexed path -> digest of the text indexed for it."""
        with self._lock:
            return {str(p): str(d) for p, d in self._db.execute("SELECT path, digest FROM files")}

    def digests_of(self, paths: Sequence[str]) -> dict[str, str]:
        """Digests of those of ``paths`` that are indexed."""
        placeholders = ",".join("?" * len(paths))
        with self._lock:
            rows = self._db.execute(f"SELECT path, digest FROM files WHERE path IN ({placeholders})", list(paths))
            return {str(p): str(d) for p, d in rows}

    def replace_files(self, entries: Iterable[tuple[str, str, str, str, Sequence[Chunk],
                                                   npt.NDArray[np.float32] | None]], *,
                      defer_merges: bool = False) -> None:
        """Replace each ``(path, repo, language, digest, chunks, vectors)`` in one transaction.

        ``defer_merges`` (one file saved in a live index): FTS5 merges its b-trees in the transaction that
        adds a segment, which made one save in twenty take 40-60 ms instead of 5-15 while holding the lock
        every search needs. The save then commits without merging, and :meth:`merge_step` does that work
        in short transactions of its own."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if defer_merges:
                    self._set_automerge(0)
                counts: Counter[str] = Counter()
                for path, repo, language, digest, chunks, vectors in entries:
                    self._delete(path, counts)
                    lines = max((c.end_line for c in chunks), default=0)
                    self._db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)",
                                     (path, repo, language, digest, lines, len(chunks)))
                    for number, chunk in enumerate(chunks):
                        blob = None if vectors is None else vectors[number].astype(np.float16).tobytes()
                        cursor = self._db.execute(
                            "INSERT INTO chunks (path, language, symbol, kind, start_line, end_line, text, vector)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (path, chunk.language, chunk.symbol, chunk.kind, chunk.start_line, chunk.end_line,
                             chunk.text, blob),
                        )
                        symbol_terms, body_terms = terms(chunk.symbol), terms(chunk.text)
                        self._db.execute("INSERT INTO chunk_fts (rowid, symbol_terms, body_terms) VALUES (?, ?, ?)",
                                         (cursor.lastrowid, " ".join(symbol_terms), " ".join(body_terms)))
                        # Each term is lower-case ASCII letters, digits and ``_``, which FTS5's ``unicode61``
                        # tokenizer (``_`` a token character) keeps whole: its tokens are exactly these.
                        counts.update({*symbol_terms, *body_terms})
                self._count_terms(counts)
                self._db.execute("COMMIT")
            except BaseException:
                # An interrupt can land after COMMIT has ended the transaction: nothing is left to undo then.
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._chunk_count = None

    def _set_automerge(self, segments: int) -> None:
        self._db.execute("INSERT INTO chunk_fts (chunk_fts, rank) VALUES ('automerge', ?)", (segments,))

    def merge_step(self, pages: int = _MERGE_STEP_PAGES) -> bool:
        """Do up to about ``pages`` pages of the b-tree merging a deferred save left, in one short
        transaction, and turn FTS5's own merging back on; whether there was any to do."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._set_automerge(_AUTOMERGE)
                before = self._db.total_changes
                self._db.execute("INSERT INTO chunk_fts (chunk_fts, rank) VALUES ('merge', ?)", (pages,))
                # FTS5's documented signal: the merge command changed two rows or more if it did any work.
                merged = self._db.total_changes - before >= 2
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return merged

    def remove_files(self, paths: Iterable[str]) -> None:
        """Forget ``paths`` in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                counts: Counter[str] = Counter()
                for path in paths:
                    self._delete(path, counts)
                self._count_terms(counts)
                self._db.execute("COMMIT")
            except BaseException:
                # An interrupt can land after COMMIT has ended the transaction: nothing is left to undo then.
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._chunk_count = None

    def _delete(self, path: str, counts: Counter[str]) -> None:
        """Remove ``path``'s rows; the chunk counts of its terms go down in ``counts``."""
        ids = [row[0] for row in self._db.execute("SELECT id FROM chunks WHERE path = ?", (path,))]
        if ids:
            for symbol_terms, body_terms in self._db.execute(
                    f"SELECT symbol_terms, body_terms FROM chunk_fts WHERE rowid IN ({','.join('?' * len(ids))})", ids):
                counts.subtract({*symbol_terms.split(), *body_terms.split()})
            self._db.executemany("DELETE FROM chunk_fts WHERE rowid = ?", ((i,) for i in ids))
            self._db.execute("DELETE FROM chunks WHERE path = ?", (path,))
        self._db.execute("DELETE FROM files WHERE path = ?", (path,))

    def _count_terms(self, counts: Counter[str]) -> None:
        """Add ``counts`` (chunks gained or lost per term) to ``term_docs``, inside the caller's transaction."""
        changed = [(term, delta) for term, delta in counts.items() if delta]
        self._db.executemany(
            "INSERT INTO term_docs VALUES (?, ?) ON CONFLICT (term) DO UPDATE SET doc = doc + excluded.doc", changed)
        self._db.executemany("DELETE FROM term_docs WHERE term = ? AND doc <= 0",
                             ((term,) for term, delta in changed if delta < 0))

    def finalize(self) -> None:
        """Make the file self-contained and compact for publishing: merge FTS5 segments, drop the WAL."""
        with self._lock:
            self._db.execute("INSERT INTO chunk_fts (chunk_fts) VALUES ('optimize')")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute("VACUUM")

    # Reading ----------------------------------------------------------------------------------------

    def segment_count(self) -> int:
        """How many b-trees FTS5 holds (every search reads each): what merging keeps small."""
        with self._lock:
            # FTS5's ``%_idx`` table holds a row per leaf page of each b-tree, keyed by the b-tree's id.
            return int(self._db.execute("SELECT count(DISTINCT segid) FROM chunk_fts_idx").fetchone()[0])

    def chunk_count(self) -> int:
        with self._lock:
            if self._chunk_count is None:
                self._chunk_count = int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])
            return self._chunk_count

    def totals(self) -> dict[str, int]:
        """Files, chunks and lines indexed."""
        with self._lock:
            files, lines = self._db.execute("SELECT count(*), coalesce(sum(lines), 0) FROM files").fetchone()
        return {"files": int(files), "chunks": self.chunk_count(), "lines": int(lines)}

    def lexical(self, query: str, limit: int, *, exclude_path: str | None = None) -> list[Hit]:
        """The ``limit`` best chunks for ``query`` by BM25 over identifier terms, best first."""
        wanted = query_terms(query)
        with self._lock:
            chosen = selective_terms(self._frequencies(list(wanted)), wanted, self.chunk_count())
            if not chosen:
                return []
            rows = self._ranked(match_expression(chosen), limit, exclude_path)
        # FTS5's bm25() is lower-is-better; flip it so every search reports higher-is-better.
        return [Hit(chunk_id=r[0], path=r[1], language=r[2], symbol=r[3], start_line=r[4], end_line=r[5],
                    text=r[6], score=-float(r[7])) for r in rows]

    def definitions(self, names: Sequence[str], limit: int, *, exclude_path: str | None = None) -> list[Hit]:
        """Chunks whose symbol holds one of the identifiers ``names`` (lower-cased, whole), best first."""
        wanted = [name for name in dict.fromkeys(names) if name]
        if not wanted:
            return []
        expression = "symbol_terms : (" + match_expression(wanted) + ")"
        with self._lock:
            rows = self._ranked(expression, limit, exclude_path)
        return [Hit(chunk_id=r[0], path=r[1], language=r[2], symbol=r[3], start_line=r[4], end_line=r[5],
                    text=r[6], score=-float(r[7])) for r in rows]

    def _frequencies(self, names: list[str]) -> dict[str, int]:
        """How many chunks hold each of ``names`` (absent: none)."""
        if not names:
            return {}
        if self._frequency_table is None:
            return dict.fromkeys(names, 1)
        rows = self._db.execute(f"SELECT term, doc FROM {self._frequency_table} WHERE term IN"
                                f" ({','.join('?' * len(names))})", names)
        return {str(term): int(doc) for term, doc in rows}

    def _ranked(self, expression: str, limit: int, exclude_path: str | None) -> list[tuple[Any, ...]]:
        """Rows of the best ``limit`` chunks for an FTS5 expression. The ranking runs on the FTS5 table
        alone (``ORDER BY rank LIMIT`` is what FTS5 optimises); chunk rows are joined only for the winners."""
        extra = 8 if exclude_path is not None else 0
        ranked = self._db.execute(
            f"SELECT rowid, bm25(chunk_fts, {SYMBOL_WEIGHT}, {BODY_WEIGHT}) AS score FROM chunk_fts"
            " WHERE chunk_fts MATCH ? ORDER BY score LIMIT ?", (expression, limit + extra)).fetchall()
        if not ranked:
            return []
        placeholders = ",".join("?" * len(ranked))
        rows = {r[0]: r for r in self._db.execute(
            "SELECT id, path, language, symbol, start_line, end_line, text FROM chunks"
            f" WHERE id IN ({placeholders})", [r[0] for r in ranked])}
        out = [(*rows[i], score) for i, score in ranked if i in rows and rows[i][1] != exclude_path]
        out.sort(key=lambda r: (r[7], r[0]))
        return out[:limit]

    def hits(self, ids: Sequence[int]) -> dict[int, Hit]:
        """Chunks by id (score 0)."""
        if not ids:
            return {}
        placeholders = ",".join("?" * len(ids))
        with self._lock:
            rows = self._db.execute(
                "SELECT id, path, language, symbol, start_line, end_line, text FROM chunks"
                f" WHERE id IN ({placeholders})", list(ids)).fetchall()
        return {r[0]: Hit(chunk_id=r[0], path=r[1], language=r[2], symbol=r[3], start_line=r[4], end_line=r[5],
                          text=r[6], score=0.0) for r in rows}

    def vectors(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Ids and vectors (one row each) of every chunk that has a vector."""
        with self._lock:
            rows = self._db.execute("SELECT id, vector FROM chunks WHERE vector IS NOT NULL ORDER BY id").fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        # One buffer for all rows: a frombuffer per row cost more than reading them (50k chunks: 0.15 s).
        widths = {len(r[1]) for r in rows}
        if len(widths) != 1:
            raise IndexUnreadableError(f"the index at {self.path} holds vectors of {len(widths)} different sizes")
        joined = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16)
        return ids, joined.reshape(len(rows), -1).astype(np.float32)

    def file_chunks(self, path: str) -> list[tuple[int, npt.NDArray[np.float32] | None]]:
        """Ids and vectors of one file's chunks."""
        with self._lock:
            rows = self._db.execute("SELECT id, vector FROM chunks WHERE path = ? ORDER BY id", (path,)).fetchall()
        return [(int(r[0]), None if r[1] is None else np.frombuffer(r[1], dtype=np.float16).astype(np.float32))
                for r in rows]
