"""An index folder: the SQLite store plus derived indexes, with a manifest that says how they were built.

Layout::

    INDEX_DIR/store.sqlite          documents, chunks, metadata (the truth)
    INDEX_DIR/CURRENT               name of the live generation folder
    INDEX_DIR/gen-000007/           manifest.json, lexical/ (and vectors when a model is loaded)

A write commits to SQLite in one transaction, then builds a new generation
folder beside the live one and switches ``CURRENT`` with an atomic rename. A
crash anywhere leaves either the old generation live or a store whose
generation the live folder does not match; :meth:`Collection.open` detects the
latter and rebuilds from the store.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import platform
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata as pkg_metadata
from pathlib import Path

import numpy as np

from corpus.chunk import ChunkSettings, estimate_tokens
from corpus.errors import RejectedFile
from corpus.load import DEFAULT_MAX_BYTES, read_bytes
from corpus.models import ParsedDocument
from corpus.pipeline import parse_text
from index.dense import DenseRetriever, Embedder, VectorIndex, info_record, load_embedder
from index.errors import IndexMismatch
from index.lexical import LexicalIndex
from index.search import Searcher, SearchOptions
from index.store import ChunkStore
from index.textnorm import TokenizerOptions, pool_chunksize, tokenize_documents, usable_cpus, worker_pool

FORMAT_VERSION = 2  # 2: indicator records in the store
KEEP_GENERATIONS = 2
PARALLEL_PARSE_MIN_BYTES = 1_000_000  # about 2,500 chunks: below it, starting worker processes costs more than it saves
HEADER_TOKEN_BUDGET = 64  # title, issuer, place, date and section path in the model's tokens
RELOAD_CHECK_S = 0.5  # how stale a server's view may be of a write made by another process


@dataclass(frozen=True)
class BuildSettings:
    """Everything that decides what the derived indexes contain; recorded in the manifest."""

    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    tokenizer: TokenizerOptions = field(default_factory=TokenizerOptions)
    context_headers: bool = True
    max_file_bytes: int = DEFAULT_MAX_BYTES


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    documents: list[ParsedDocument] = field(default_factory=list)


def _versions() -> dict[str, str]:
    names = ("tracuu", "bm25s", "numpy", "faiss-cpu", "sentence-transformers", "pyvi")
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = pkg_metadata.version(name)
        except pkg_metadata.PackageNotFoundError:
            continue
    return found


def lexical_text(chunk_text: str, header: str, settings: BuildSettings) -> str:
    """What BM25 indexes for a chunk: its context header (unless ablated) and its text."""
    return f"{header}\n{chunk_text}" if settings.context_headers else chunk_text


dense_text = lexical_text  # the encoder sees the same header + text the lexical index sees


class Collection:
    """Owns one index folder; serialises writers, hands readers immutable :class:`Searcher` snapshots."""

    def __init__(self, directory: Path, settings: BuildSettings | None = None,
                 search_options: SearchOptions | None = None, embedder: Embedder | None = None,
                 dense_status: dict[str, str] | None = None) -> None:
        self.directory = directory
        self.embedder = embedder
        self.dense_status = dense_status or load_embedder(None)[1]
        settings = settings or BuildSettings()
        # Chunks are sized in the model's own tokens when there is a model; the manifest records which.
        chunking = replace(settings.chunking, token_counter="estimate")
        if embedder:
            # e5/bge silently cut input past max_seq_length; the context header is encoded with the chunk.
            room = max(32, embedder.info.max_seq_length - HEADER_TOKEN_BUDGET)
            chunking = replace(chunking, token_counter=f"tokenizer:{embedder.info.model}",
                               max_tokens=min(chunking.max_tokens, room),
                               overlap_tokens=min(chunking.overlap_tokens, room // 8))
        self.settings = replace(settings, chunking=chunking)
        self.search_options = search_options or SearchOptions(tokenizer=self.settings.tokenizer)
        directory.mkdir(parents=True, exist_ok=True)
        self.store = ChunkStore(directory / "store.sqlite")
        self._write_lock = threading.RLock()
        self._reload_lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._searcher_name: str | None = None  # the generation folder the snapshot was loaded from
        self._checked_at = 0.0

    # -- opening -------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path, settings: BuildSettings | None = None,
             search_options: SearchOptions | None = None, embedder: Embedder | None = None,
             dense_status: dict[str, str] | None = None) -> Collection:
        """Open an index folder, rebuilding derived indexes a crash left behind."""
        collection = cls(directory, settings, search_options, embedder, dense_status)
        manifest = collection.manifest()
        if manifest is not None:
            collection._check_manifest(manifest)
        if manifest is None or manifest.get("store_generation") != collection.store.generation:
            collection.rebuild()
        return collection

    def manifest(self) -> dict[str, object] | None:
        live = self._live_dir()
        if live is None or not (live / "manifest.json").exists():
            return None
        return dict(json.loads((live / "manifest.json").read_text(encoding="utf-8")))

    def _check_manifest(self, manifest: dict[str, object]) -> None:
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatch(
                f"index at {self.directory} has format {manifest.get('format_version')}, this tracuu writes "
                f"{FORMAT_VERSION}; rebuild it: tracuu index build --corpus DIR --index {self.directory} --rebuild"
            )
        wanted = self._settings_record()
        for key in ("chunking", "tokenizer", "context_headers"):
            if manifest.get(key) != wanted[key]:
                raise IndexMismatch(
                    f"index at {self.directory} was built with {key}={manifest.get(key)}, not {wanted[key]}; "
                    f"rebuild it: tracuu index build --corpus DIR --index {self.directory} --rebuild"
                )
        built_dense = manifest.get("dense")
        if self.embedder and isinstance(built_dense, dict):
            for key in ("model", "dimension"):
                if built_dense.get(key) != getattr(self.embedder.info, key):
                    raise IndexMismatch(
                        f"index at {self.directory} holds vectors from {key}={built_dense.get(key)}, but the "
                        f"configured model has {getattr(self.embedder.info, key)}; rebuild it with the model set: "
                        f"TRACUU_EMBED_MODEL=... tracuu index build --corpus DIR --index {self.directory} --rebuild"
                    )

    def _settings_record(self) -> dict[str, object]:
        return {
            "chunking": asdict(self.settings.chunking),
            "tokenizer": asdict(self.settings.tokenizer),
            "context_headers": self.settings.context_headers,
        }

    def _live_dir(self) -> Path | None:
        pointer = self.directory / "CURRENT"
        if not pointer.exists():
            return None
        live = self.directory / pointer.read_text().strip()
        return live if live.is_dir() else None

    # -- reading -------------------------------------------------------------

    def searcher(self) -> Searcher:
        """The live snapshot, refreshed when another process (the CLI, another server worker) made a newer one live.

        Checking costs one small file read, done at most every RELOAD_CHECK_S per process.
        """
        now = time.monotonic()
        if self._searcher is None or now - self._checked_at >= RELOAD_CHECK_S:
            self._checked_at = now
            with self._reload_lock:
                self._refresh()
        assert self._searcher is not None
        return self._searcher

    def _refresh(self) -> None:
        live = self._live_dir()
        if live is None:
            self.rebuild()
            return
        if self._searcher is not None and live.name == self._searcher_name:
            return
        generation = self.store.generation
        manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("store_generation") != generation and self._searcher is not None:
            return  # a writer elsewhere has committed but not yet switched CURRENT; look again later
        if manifest.get("store_generation") != generation:
            self.rebuild()  # first open and nothing consistent to show: wait for the writer, then build
            return
        searcher = self._load_searcher(live)
        if self.store.generation == generation:  # no write landed while the chunks were read
            self._searcher, self._searcher_name = searcher, live.name
        elif self._searcher is None:
            self.rebuild()

    def _load_searcher(self, live: Path) -> Searcher:
        stored = self.store.chunks_in_order()
        dense = None
        if self.embedder is not None and (live / "dense").is_dir():
            rowids = np.array([rowid for rowid, _ in stored], dtype=np.int64)
            dense = DenseRetriever(self.embedder, VectorIndex.load(live / "dense"), rowids)
        return Searcher([chunk for _, chunk in stored], self.store.documents(), LexicalIndex.load(live / "lexical"),
                        dense=dense, dense_status=self.dense_status, options=self.search_options,
                        indicators=self.store.indicators())

    def _build_dense(self, staging: Path) -> dict[str, object] | None:
        """FAISS over the stored vectors; chunks without one for this model are encoded now."""
        if self.embedder is None:
            return None
        info = self.embedder.info
        stored = list(self.store.iter_chunks())
        vectors = self.store.vectors_for(info.model, info.dimension)
        missing = [s.chunk for s in stored if s.chunk.id not in vectors]
        if missing:
            encoded = self.embedder.encode_passages([dense_text(c.text, c.header, self.settings) for c in missing])
            with self.store.transaction() as db:
                ChunkStore.write_vectors(db, info.model, [c.id for c in missing], encoded)
            vectors.update({c.id: v for c, v in zip(missing, encoded, strict=True)})
        ids = np.array([s.rowid for s in stored], dtype=np.int64)
        matrix = np.stack([vectors[s.chunk.id] for s in stored]) if stored else np.zeros((0, info.dimension))
        index = VectorIndex.build(ids, matrix, info.dimension)
        index.save(staging / "dense")
        return info_record(info, index.kind)

    # -- writing -------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One writer at a time, across threads and processes (an flock on the index folder)."""
        with self._write_lock, open(self.directory / ".write.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def rebuild(self) -> None:
        """Derive the lexical (and dense) index from the store into a new generation folder and make it live."""
        with self.exclusive():
            self._rebuild_locked()

    def _rebuild_locked(self) -> None:
        staging = self.directory / f"staging-{time.time_ns()}.tmp"
        LexicalIndex.build(self.store.iter_lex_tokens()).save(staging / "lexical")
        dense = self._build_dense(staging)
        generation = self.store.generation  # read after _build_dense, which may have stored vectors
        folder = self.directory / f"gen-{generation:06d}-{time.time_ns()}"
        docs, chunk_count = self.store.counts()
        manifest = {
            "format_version": FORMAT_VERSION,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "store_generation": generation,
            "documents": docs,
            "chunks": chunk_count,
            "corpus_fingerprint": _fingerprint(self.store.content_hashes()),
            "lexical": {"library": "bm25s", "method": "lucene", "k1": 1.2, "b": 0.75},
            "dense": dense,
            "versions": _versions(),
            **self._settings_record(),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(staging, folder)
        pointer_tmp = self.directory / "CURRENT.tmp"
        pointer_tmp.write_text(folder.name)
        os.replace(pointer_tmp, self.directory / "CURRENT")
        # Load the new snapshot before publishing it: readers keep the old one until this assignment.
        self._searcher, self._searcher_name = self._load_searcher(folder), folder.name
        self._collect_garbage(folder)

    def _collect_garbage(self, live: Path) -> None:
        """Keep the newest generations (a reader may still hold the previous one); drop crash leftovers."""
        gens = sorted((p for p in self.directory.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in gens[:-KEEP_GENERATIONS]:
            if old != live:
                shutil.rmtree(old, ignore_errors=True)
        for leftover in self.directory.glob("staging-*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)

    def parse(self, data: bytes, source: str) -> ParsedDocument:
        raw = read_bytes(data, source, self.settings.max_file_bytes)
        counter = self.embedder.count_tokens if self.embedder else estimate_tokens
        return parse_text(raw, source, self.settings.chunking, counter)

    def _parse_all(self, files: Sequence[tuple[str, bytes]]) -> Iterator[ParsedDocument | dict[str, str]]:
        """Each file parsed, or its rejection as the report lists it; in order.

        A large batch is parsed over processes when chunks are sized by estimate
        (a model's tokenizer stays in this process); parsing is pure per file,
        so the documents are the same either way.
        """
        workers = min(usable_cpus(), len(files))
        if self.embedder is None and workers > 1 and sum(len(data) for _, data in files) >= PARALLEL_PARSE_MIN_BYTES:
            with worker_pool(workers) as pool:
                yield from pool.map(_parse_file, files, itertools.repeat(self.settings),
                                    chunksize=pool_chunksize(len(files), workers))
            return
        for source, data in files:
            try:
                yield self.parse(data, source)
            except RejectedFile as exc:
                yield _rejection(exc)

    def ingest(self, files: Iterable[tuple[str, bytes]]) -> IngestReport:
        """Add, replace or skip each file; a rejected file is reported and the rest still go in."""
        report = IngestReport()
        parsed: list[ParsedDocument] = []
        for doc in self._parse_all(list(files)):
            if isinstance(doc, dict):
                report.rejected.append(doc)
                continue
            if self.store.content_hash_of(doc.source) == doc.content_hash:
                report.unchanged.append(doc.source)  # skipped early: neither tokenised nor encoded
                continue
            parsed.append(doc)
        if parsed:
            outcome = self._write(parsed, [])
            lists = {"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged}
            for doc in parsed:
                lists[outcome[doc.source]].append(doc.source)
            report.documents = [doc for doc in parsed if outcome[doc.source] != "unchanged"]
        return report

    def ingest_paths(self, paths: Sequence[Path]) -> IngestReport:
        def read_all() -> Iterable[tuple[str, bytes]]:
            for path in paths:
                yield path.name, path.read_bytes()

        return self.ingest(read_all())

    def remove(self, document_ids: Sequence[str]) -> list[str]:
        """Delete documents by id; returns the ids that existed."""
        known = {d.id for d in self.store.documents()}
        present = [d for d in document_ids if d in known]
        if present:
            self._write([], present)
        return present

    def _write(self, docs: Sequence[ParsedDocument], remove_ids: Sequence[str]) -> dict[str, str]:
        """Store documents and deletions in one transaction; say per source whether it was added or replaced.

        That is decided under the writer lock: two writers of one file (threads, or server workers) both
        saw it absent before the lock, and only the first one adds it.
        """
        tokens = tokenize_documents([[lexical_text(c.text, c.header, self.settings) for c in doc.chunks]
                                     for doc in docs], self.settings.tokenizer)
        vectors = self._encode(docs)
        with self.exclusive():
            outcome = {doc.source: _outcome(self.store.content_hash_of(doc.source), doc.content_hash) for doc in docs}
            if not remove_ids and set(outcome.values()) == {"unchanged"}:
                return outcome  # another writer stored these very files meanwhile
            with self.store.transaction() as db:
                for doc_id in remove_ids:
                    ChunkStore.delete_document(db, doc_id)
                for doc, doc_tokens in zip(docs, tokens, strict=True):
                    ChunkStore.write_document(db, doc, doc_tokens)
                if vectors is not None and self.embedder is not None:
                    chunk_ids = [c.id for doc in docs for c in doc.chunks]
                    ChunkStore.write_vectors(db, self.embedder.info.model, chunk_ids, vectors)
            self._rebuild_locked()
        return outcome

    def _encode(self, docs: Sequence[ParsedDocument]) -> np.ndarray | None:
        """Embed new chunks before the transaction opens, so the write lock is held briefly."""
        if self.embedder is None:
            return None
        return self.embedder.encode_passages([dense_text(c.text, c.header, self.settings)
                                              for doc in docs for c in doc.chunks])


def _outcome(stored_hash: str | None, new_hash: str) -> str:
    return "added" if stored_hash is None else "unchanged" if stored_hash == new_hash else "replaced"


def _rejection(exc: RejectedFile) -> dict[str, str]:
    return {"source": exc.source, "reason": exc.reason, "kind": exc.kind}


def _parse_file(file: tuple[str, bytes], settings: BuildSettings) -> ParsedDocument | dict[str, str]:
    """:meth:`Collection.parse` without a model, in a worker process (a rejection travels as its report entry)."""
    source, data = file
    try:
        return parse_text(read_bytes(data, source, settings.max_file_bytes), source, settings.chunking)
    except RejectedFile as exc:
        return _rejection(exc)


def _fingerprint(hashes: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:16]
