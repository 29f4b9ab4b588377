"""SQLite chunk store: documents, chunks and metadata — the single source of truth.

The lexical and vector indexes are derived from it and can always be rebuilt
from it. Each write runs in one transaction and bumps ``generation``, which the
derived indexes record, so an index left behind by a crash is detected and
rebuilt rather than served.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from corpus.models import Chunk, DocumentMeta, Indicator, ParsedDocument, Section

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    meta TEXT NOT NULL,
    sections TEXT NOT NULL,
    ingested_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    section TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    header TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    lex_tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
CREATE TABLE IF NOT EXISTS indicators (
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (document_id, ordinal)
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
DROP TABLE IF EXISTS vectors;
CREATE TABLE IF NOT EXISTS embeddings (
    text_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (text_hash, model)
);
"""
# Embeddings are keyed by what the encoder read (sha256 of the chunk's header + text) and the encoder, not by
# chunk id: a re-ingested, replaced or restored document, or a rebuild after a setting that leaves chunk text
# alone, finds its vectors and encodes nothing; they stay when a document goes (it may come back), and
# `tracuu index build --rebuild` starts afresh. (Format 2 kept them per chunk id in "vectors", dropped above.)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the search path needs it: its FAISS/BM25 row id and its lexical tokens."""

    rowid: int
    chunk: Chunk
    lex_tokens: list[str]


@dataclass(frozen=True)
class StoredDocument:
    id: str
    source: str
    content_hash: str
    meta: DocumentMeta
    ingested_at: str


@dataclass(frozen=True)
class ChunkSpan:
    id: str
    section: str
    start: int
    end: int


@dataclass(frozen=True)
class DocumentView:
    """One version of a document as stored: what ``GET /documents/{id}`` shows."""

    document: StoredDocument
    text: str
    sections: list[Section]
    chunks: list[ChunkSpan]


def _flat_dict(record: Any) -> dict[str, Any]:
    """``asdict`` for a dataclass of plain values, without its deep copy (a tuple stays a tuple: JSON alike)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _section(record: dict[str, Any]) -> Section:
    """A stored section; keys a field no longer has (``body_start``, before 2026-11) are dropped."""
    return Section(**{k: v for k, v in record.items() if k in _SECTION_FIELDS})


def _meta_from_json(raw: str) -> DocumentMeta:
    data = json.loads(raw)
    data["years"] = tuple(data.get("years") or ())
    return DocumentMeta(**data)


_SECTION_FIELDS = frozenset(f.name for f in fields(Section))


class ChunkStore:
    """Thin typed access to the SQLite file; one connection per instance."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def close(self) -> None:
        self._db.close()
        with self._readers_lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection: it sees committed data only, never a write in progress on
        ``_db``, and one ``BEGIN`` on it reads one consistent state of the file (WAL)."""
        reader: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False,
                                     isolation_level=None)
            self._local.reader = reader
            with self._readers_lock:
                self._readers.append(reader)
        return reader

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute(
            "INSERT INTO state(key, value) VALUES('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )
        self._db.execute("COMMIT")

    @property
    def generation(self) -> int:
        return read_generation(self._db)

    def content_hash_of(self, source: str) -> str | None:
        row = self._db.execute("SELECT content_hash FROM documents WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def write_document(db: sqlite3.Connection, doc: ParsedDocument, lex_tokens: Sequence[str]) -> None:
        """Insert or replace one document and its chunks inside an open transaction.

        ``lex_tokens`` holds each chunk's tokens as JSON (:func:`index.textnorm.stored_tokens`): tokenising
        workers hand back those strings, so millions of tokens are not unpickled only to be encoded again.
        """
        db.execute("DELETE FROM documents WHERE id = ? OR source = ?", (doc.id, doc.source))
        db.execute(
            "INSERT INTO documents(id, source, content_hash, text, meta, sections) VALUES (?, ?, ?, ?, ?, ?)",
            (doc.id, doc.source, doc.content_hash, doc.text, json.dumps(_flat_dict(doc.meta), ensure_ascii=False),
             json.dumps([_flat_dict(s) for s in doc.sections], ensure_ascii=False)),
        )
        db.executemany(
            'INSERT INTO chunks(id, document_id, ordinal, section, start, "end", text, header, tokens, lex_tokens) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(c.id, c.document_id, c.ordinal, c.section, c.start, c.end, c.text, c.header, c.tokens,
              tokens) for c, tokens in zip(doc.chunks, lex_tokens, strict=True)],
        )
        db.executemany(
            "INSERT INTO indicators(document_id, ordinal, record) VALUES (?, ?, ?)",
            [(doc.id, i, json.dumps(_flat_dict(r), ensure_ascii=False)) for i, r in enumerate(doc.indicators)],
        )

    @staticmethod
    def write_vectors(db: sqlite3.Connection, model: str, text_hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Embeddings per model and text, so nothing already encoded is ever encoded again."""
        db.executemany(
            "INSERT OR REPLACE INTO embeddings(text_hash, model, vector) VALUES (?, ?, ?)",
            [(key, model, np.asarray(v, dtype=np.float32).tobytes())
             for key, v in zip(text_hashes, vectors, strict=True)],
        )

    def save_embeddings(self, model: str, text_hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Keep freshly encoded vectors at once, on a connection of their own and without a new generation.

        Embeddings describe texts, not the collection's state, so saving them early changes nothing a reader
        sees; a build killed while encoding keeps what it encoded, and the rerun encodes only the rest.
        """
        with closing(sqlite3.connect(self.path, timeout=60, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            ChunkStore.write_vectors(db, model, text_hashes, vectors)
            db.execute("COMMIT")

    def known_embeddings(self, model: str, text_hashes: Sequence[str]) -> set[str]:
        """Which of these texts already have a vector from this encoder (looked up by key, vectors not read)."""
        found: set[str] = set()
        for start in range(0, len(text_hashes), 500):  # SQLite's bound-parameter limit
            part = list(text_hashes[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT text_hash FROM embeddings WHERE model = ? AND text_hash IN ({marks})",
                                    (model, *part))
            found.update(key for (key,) in rows)
        return found

    def vectors_for(self, model: str, dimension: int, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """text hash → vector for one encoder (vectors of another dimension, from a changed model, are ignored);
        only those of ``keys`` when given (a write reads its own rows, not the whole table)."""
        query = "SELECT text_hash, vector FROM embeddings WHERE model = ?"
        parts = [keys[i : i + 500] for i in range(0, len(keys), 500)] if keys is not None else [None]
        found: dict[str, np.ndarray] = {}
        for part in parts:  # SQLite's bound-parameter limit
            marks = f" AND text_hash IN ({','.join('?' * len(part))})" if part is not None else ""
            rows = self._db.execute(query + marks, (model, *(part or ())))
            found.update((key, np.frombuffer(blob, dtype=np.float32)) for key, blob in rows)
        return {key: v for key, v in found.items() if v.shape == (dimension,)}

    @staticmethod
    def delete_document(db: sqlite3.Connection, document_id: str) -> bool:
        return db.execute("DELETE FROM documents WHERE id = ?", (document_id,)).rowcount > 0

    def iter_chunks(self) -> Iterable[StoredChunk]:
        """Every chunk in row order: the order the derived indexes are built in."""
        rows = self._db.execute(
            'SELECT rowid, id, document_id, ordinal, section, start, "end", text, header, tokens, lex_tokens '
            "FROM chunks ORDER BY rowid"
        )
        for row in rows:
            chunk = Chunk(id=row[1], document_id=row[2], ordinal=row[3], section=row[4], start=row[5], end=row[6],
                          text=row[7], header=row[8], tokens=row[9])
            yield StoredChunk(rowid=row[0], chunk=chunk, lex_tokens=json.loads(row[10]))

    def chunks_in_order(self, after: int = 0) -> list[tuple[int, Chunk]]:
        """(row id, chunk) in row order, without the lexical tokens a searcher does not need; only the rows past
        ``after`` when given (row ids only grow: they are what writes since then added)."""
        rows = self._db.execute(
            'SELECT rowid, id, document_id, ordinal, section, start, "end", text, header, tokens '
            "FROM chunks WHERE rowid > ? ORDER BY rowid", (after,)
        )
        return [(row[0], Chunk(id=row[1], document_id=row[2], ordinal=row[3], section=row[4], start=row[5],
                               end=row[6], text=row[7], header=row[8], tokens=row[9])) for row in rows]

    def iter_lex_tokens(self, after: int = 0) -> Iterator[list[str]]:
        """Each chunk's lexical tokens in row order (past row ``after``), one at a time: all a lexical build reads."""
        for (raw,) in self._db.execute("SELECT lex_tokens FROM chunks WHERE rowid > ? ORDER BY rowid", (after,)):
            yield json.loads(raw)

    def chunks_of(self, document_ids: Sequence[str], sources: Sequence[str]) -> list[tuple[int, str, str]]:
        """(row id, chunk id, text) of the chunks a write of these documents deletes: read before it does."""
        found: list[tuple[int, str, str]] = []
        for field, values in (("id", document_ids), ("source", sources)):
            for i in range(0, len(values), 500):
                part = values[i : i + 500]
                found += self._db.execute(f"SELECT c.rowid, c.id, c.text FROM chunks c JOIN documents d ON "
                                          f"d.id = c.document_id WHERE d.{field} IN ({','.join('?' * len(part))})",
                                          part).fetchall()
        return sorted(set(found))

    def documents(self) -> list[StoredDocument]:
        rows = self._db.execute("SELECT id, source, content_hash, meta, ingested_at FROM documents ORDER BY source")
        return [StoredDocument(r[0], r[1], r[2], _meta_from_json(r[3]), r[4]) for r in rows]

    def document_view(self, document_id: str) -> DocumentView | None:
        """A document with its text, sections and chunk spans, all read from one committed state.

        Reading them in separate statements could pair one version's text with another's offsets while the
        document is being replaced.
        """
        reader = self._reader()
        reader.execute("BEGIN")
        try:
            row = reader.execute("SELECT id, source, content_hash, meta, ingested_at, text, sections FROM documents "
                                 "WHERE id = ?", (document_id,)).fetchone()
            if row is None:
                return None
            chunks = reader.execute('SELECT id, section, start, "end" FROM chunks WHERE document_id = ? '
                                    "ORDER BY ordinal", (document_id,)).fetchall()
        finally:
            reader.execute("COMMIT")
        document = StoredDocument(row[0], row[1], row[2], _meta_from_json(row[3]), row[4])
        return DocumentView(document, row[5], [_section(x) for x in json.loads(row[6])],
                            [ChunkSpan(*c) for c in chunks])

    def indicators(self, document_ids: Iterable[str] | None = None) -> list[tuple[str, Indicator]]:
        """(document id, record) for every indicator (or those of ``document_ids``), in document and text order."""
        if document_ids is None:
            rows = self._db.execute("SELECT document_id, record FROM indicators ORDER BY document_id, ordinal")
            return [(doc_id, Indicator(**json.loads(record))) for doc_id, record in rows]
        return [found for doc in sorted(set(document_ids)) for found in self._indicators_of(doc)]

    def _indicators_of(self, document_id: str) -> list[tuple[str, Indicator]]:
        rows = self._db.execute("SELECT record FROM indicators WHERE document_id = ? ORDER BY ordinal", (document_id,))
        return [(document_id, Indicator(**json.loads(record))) for (record,) in rows]

    def counts(self) -> tuple[int, int]:
        return read_counts(self._db)

    def content_hashes(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT content_hash FROM documents ORDER BY id")]


def read_generation(db: sqlite3.Connection) -> int:
    """The store's write counter (any connection: the live store or a snapshot's copy of it)."""
    row = db.execute("SELECT value FROM state WHERE key = 'generation'").fetchone()
    return int(row[0]) if row else 0


def read_counts(db: sqlite3.Connection) -> tuple[int, int]:
    """(documents, chunks) as stored."""
    docs = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    return int(docs), int(chunks)
