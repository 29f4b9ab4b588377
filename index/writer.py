"""The writer: files parsed (over processes for large batches), tokenised, encoded, stored, and a new generation built.

Everything that changes an index folder goes through :class:`Writer`, under the
folder's writer lock. Parsing, tokenising and encoding happen before the lock
is taken, so readers and other writers wait only for the SQLite transaction and
the rebuild of the derived indexes.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from corpus.chunk import ChunkSettings, estimate_tokens
from corpus.errors import RejectedFile
from corpus.load import DEFAULT_MAX_BYTES, read_bytes
from corpus.models import Chunk, ParsedDocument
from corpus.pipeline import Stage, _untimed, parse_text
from index.encoders import Embedder
from index.folder import FORMAT_VERSION, IndexFolder, fingerprint, versions
from index.increment import Increment, RestorerSample, StoredRows, publish_increment, save_restorer
from index.lexical import LexicalIndex
from index.merging import BackgroundMerger
from index.restore import DiacriticRestorer
from index.store import ChunkStore
from index.textnorm import TokenizerOptions, pool_chunksize, stored_tokens, tokenize_documents, usable_cpus, worker_pool
from index.vectors import VectorIndex, info_record

PARALLEL_PARSE_MIN_BYTES = 1_000_000  # about 2,500 chunks: below it, starting worker processes costs more than it saves
HEADER_TOKEN_BUDGET = 64  # title, issuer, place, date and section path in the model's tokens

Published = Callable[[Path, "StoredRows | Increment"], None]
Tokenized = tuple[ParsedDocument, list[str]]  # a document and its chunks' lexical tokens (JSON, as stored)
Progress = Callable[[str, int, int], None]  # (what: "files" or "chunks encoded", done so far, total)
KEYED_LOOKUP_MAX = 5_000  # vectors read by key up to this many rows, else the whole table in one pass
ENCODE_BATCH = 64  # passages per encoder call: small enough for a progress bar to move, large enough to batch


def _quiet(what: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class BuildSettings:
    """Everything that decides what the derived indexes contain; recorded in the manifest."""

    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    tokenizer: TokenizerOptions = field(default_factory=TokenizerOptions)
    context_headers: bool = True
    max_file_bytes: int = DEFAULT_MAX_BYTES

    def record(self) -> dict[str, object]:
        """The part of the settings a manifest records and an open checks."""
        return {"chunking": asdict(self.chunking), "tokenizer": asdict(self.tokenizer),
                "context_headers": self.context_headers}


@dataclass(frozen=True)
class StoredBatch:
    """What one transaction of :meth:`Writer.store_locked` did: per source added/replaced/unchanged, and the
    (row id, chunk id, text) of the rows it deleted, which the next generation takes out."""

    outcome: dict[str, str]
    removed: list[tuple[int, str, str]]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    documents: list[ParsedDocument] = field(default_factory=list)


def for_embedder(settings: BuildSettings, embedder: Embedder | None) -> BuildSettings:
    """Chunks sized in the model's own tokens when there is a model; the manifest records which."""
    chunking = replace(settings.chunking, token_counter="estimate")
    if embedder:
        # e5/bge silently cut input past max_seq_length; the context header is encoded with the chunk.
        room = max(32, embedder.info.max_seq_length - HEADER_TOKEN_BUDGET)
        chunking = replace(chunking, token_counter=f"tokenizer:{embedder.info.model}",
                           max_tokens=min(chunking.max_tokens, room),
                           overlap_tokens=min(chunking.overlap_tokens, room // 8))
    return replace(settings, chunking=chunking)


def lexical_text(chunk_text: str, header: str, settings: BuildSettings) -> str:
    """What BM25 indexes for a chunk: its context header (unless ablated) and its text."""
    return f"{header}\n{chunk_text}" if settings.context_headers else chunk_text


dense_text = lexical_text  # the encoder sees the same header + text the lexical index sees


def embedding_key(text: str) -> str:
    """What an embedding is stored under (with the encoder's name): the hash of the text the encoder read."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def parse_file(file: tuple[str, bytes], settings: BuildSettings,
               counter: Callable[[str], int] = estimate_tokens) -> ParsedDocument | dict[str, str]:
    """One file parsed, or its rejection as the report lists it (picklable: it runs in worker processes)."""
    source, data = file
    try:
        return parse_text(read_bytes(data, source, settings.max_file_bytes), source, settings.chunking, counter)
    except RejectedFile as exc:
        return {"source": exc.source, "reason": exc.reason, "kind": exc.kind}


def parse_all(files: Sequence[tuple[str, bytes]], settings: BuildSettings,
              embedder: Embedder | None) -> Iterator[ParsedDocument | dict[str, str]]:
    """Each file parsed, or its rejection; in order.

    A large batch is parsed over processes when chunks are sized by estimate
    (a model's tokenizer stays in this process); parsing is pure per file,
    so the documents are the same either way.
    """
    workers = min(usable_cpus(), len(files))
    if embedder is None and workers > 1 and sum(len(data) for _, data in files) >= PARALLEL_PARSE_MIN_BYTES:
        with worker_pool(workers) as pool:
            yield from pool.map(parse_file, files, itertools.repeat(settings),
                                chunksize=pool_chunksize(len(files), workers))
        return
    counter = embedder.count_tokens if embedder else estimate_tokens
    for file in files:
        yield parse_file(file, settings, counter)


def parse_tokenized(file: tuple[str, bytes], settings: BuildSettings,
                    counter: Callable[[str], int] = estimate_tokens) -> Tokenized | dict[str, str]:
    """One file parsed with its chunks' lexical tokens as the store keeps them, or its rejection (a Ray task's
    work: :mod:`index.distributed`); the same as :func:`parse_file` then :func:`lexical_tokens`."""
    doc = parse_file(file, settings, counter)
    if isinstance(doc, dict):
        return doc
    return doc, stored_tokens([lexical_text(c.text, c.header, settings) for c in doc.chunks], settings.tokenizer)


def lexical_tokens(docs: Sequence[ParsedDocument], settings: BuildSettings) -> list[list[str]]:
    """Each document's chunks as the lexical index stores them (over processes for large batches)."""
    return tokenize_documents([[lexical_text(c.text, c.header, settings) for c in doc.chunks] for doc in docs],
                              settings.tokenizer)


class Writer:
    """Adds, replaces and removes documents, then publishes a new generation through ``published``."""

    def __init__(self, folder: IndexFolder, store: ChunkStore, settings: BuildSettings, embedder: Embedder | None,
                 published: Published) -> None:
        self.folder, self.store, self.settings, self.embedder = folder, store, settings, embedder
        self._published = published
        self.progress: Progress = _quiet  # the CLI sets a progress bar here
        self.incremental = True  # False: every write rebuilds the derived indexes (benchmarks, tests compare)
        self.merger = BackgroundMerger(self)  # segment merges after a write, off its path (index.merging)

    def ingest(self, files: Iterable[tuple[str, bytes]]) -> IngestReport:
        """Add, replace or skip each file; a rejected file is reported and the rest still go in."""
        report = IngestReport()
        parsed: list[ParsedDocument] = []
        batch = list(files)
        for done, doc in enumerate(parse_all(batch, self.settings, self.embedder), 1):
            self.progress("files", done, len(batch))
            if isinstance(doc, dict):
                report.rejected.append(doc)
            elif self.store.content_hash_of(doc.source) == doc.content_hash:
                report.unchanged.append(doc.source)  # skipped early: neither tokenised nor encoded
            else:
                parsed.append(doc)
        if parsed:
            outcome = self.write(parsed, [])
            lists = {"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged}
            for doc in parsed:
                lists[outcome[doc.source]].append(doc.source)
            report.documents = [doc for doc in parsed if outcome[doc.source] != "unchanged"]
        return report

    def remove(self, document_ids: Sequence[str]) -> list[str]:
        """Delete documents by id; returns the ids that existed."""
        known = {d.id for d in self.store.documents()}
        present = [d for d in document_ids if d in known]
        if present:
            self.write([], present)
        return present

    def write(self, docs: Sequence[ParsedDocument], remove_ids: Sequence[str],
              stage: Stage = _untimed) -> dict[str, str]:
        """Store documents and deletions in one transaction; say per source whether it was added or replaced.

        That is decided under the writer lock: two writers of one file (threads, or server workers) both
        saw it absent before the lock, and only the first one adds it. ``stage`` times each step (benchmarks).
        """
        with stage("word segmentation + tokens"):
            tokens = lexical_tokens(docs, self.settings)
        if self.embedder is not None:
            with stage("encoding"):
                self._encode(docs)
        with self.folder.exclusive():
            parent = self.live_parent()
            stored = self.store_locked(docs, remove_ids, tokens, stage)
            if stored is None:
                return {doc.source: "unchanged" for doc in docs}  # another writer stored these very files meanwhile
            with stage("index writes: BM25 build + snapshot load"):
                self.publish_locked(parent, stored.removed)
        return stored.outcome

    def store_locked(self, docs: Sequence[ParsedDocument], remove_ids: Sequence[str], tokens: Sequence[Sequence[str]],
                     stage: Stage = _untimed) -> StoredBatch | None:
        """Under the writer lock: documents (tokenised, vectors already stored) and deletions in one transaction,
        with no new generation yet; None when every document is stored as it is and nothing is removed."""
        outcome = {doc.source: _outcome(self.store.content_hash_of(doc.source), doc.content_hash) for doc in docs}
        if not remove_ids and set(outcome.values()) == {"unchanged"}:
            return None
        removed = self.store.chunks_of([*remove_ids, *(d.id for d in docs)], [d.source for d in docs])
        with stage("index writes: SQLite"), self.store.transaction() as db:
            for doc_id in remove_ids:
                ChunkStore.delete_document(db, doc_id)
            for doc, doc_tokens in zip(docs, tokens, strict=True):
                ChunkStore.write_document(db, doc, doc_tokens)
        return StoredBatch(outcome, removed)

    def publish_locked(self, parent: Path | None, removed: Sequence[tuple[int, str, str]]) -> None:
        """Under the writer lock: the generation describing the store, advanced from ``parent`` (the live one when
        the writes began, ``removed`` the rows they deleted) where it can be, else rebuilt in full."""
        if parent is None or not publish_increment(self, parent, removed):
            self.rebuild_locked()

    def live_parent(self) -> Path | None:
        """Under the writer lock: the live generation when the next one can be made from it, else None."""
        return self.folder.live_dir() if self.incremental and self.live_is_current() else None

    def live_is_current(self) -> bool:
        """Whether the live generation describes the store as it is now (so a write can start from it)."""
        manifest = self.folder.manifest()
        return manifest is not None and manifest.get("store_generation") == self.store.generation

    def _encode(self, docs: Sequence[ParsedDocument]) -> None:
        """Embed the chunks whose text this encoder has not seen, before the transaction opens (a short lock)."""
        assert self.embedder is not None
        texts = {embedding_key(t): t for t in (dense_text(c.text, c.header, self.settings)
                                               for doc in docs for c in doc.chunks)}
        known = self.store.known_embeddings(self.embedder.info.vector_key, list(texts))
        self._encode_and_save({key: text for key, text in texts.items() if key not in known})

    def _encode_and_save(self, missing: dict[str, str]) -> dict[str, np.ndarray]:
        """Encode texts by key in batches, saving each batch as soon as it is encoded (a build killed meanwhile
        keeps it) and reporting progress between batches."""
        assert self.embedder is not None
        keys = list(missing)
        vectors: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), ENCODE_BATCH):
            batch = keys[start : start + ENCODE_BATCH]
            encoded = self.embedder.encode_passages([missing[key] for key in batch])
            self.store.save_embeddings(self.embedder.info.vector_key, batch, encoded)
            vectors.update(zip(batch, encoded, strict=True))
            self.progress("chunks encoded", start + len(batch), len(keys))
        return vectors

    def rebuild(self) -> None:
        """Derive the lexical (and dense) index from the store into a new generation folder and make it live."""
        with self.folder.exclusive():
            self.rebuild_locked()

    def rebuild_locked(self) -> None:
        stored = self.store.chunks_in_order()  # read once: the dense build, the restorer and the searcher share it
        staging = self.folder.staging()
        lexical = LexicalIndex.build(self.store.iter_lex_tokens(), [rowid for rowid, _ in stored])
        lexical.save(staging / "lexical")
        sample = RestorerSample.of(chunk.text for _, chunk in stored)
        save_restorer(DiacriticRestorer.from_texts(sample.texts(chunk for _, chunk in stored)), staging)
        dense = self.build_dense(staging, stored)
        self.publish(staging, self.manifest(lexical, dense, sample), stored)

    def manifest(self, lexical: LexicalIndex, dense: dict[str, object] | None,
                 sample: RestorerSample) -> dict[str, object]:
        """What a generation folder says about itself; read after the dense build, which may have stored vectors."""
        docs, chunk_count = self.store.counts()
        return {
            "format_version": FORMAT_VERSION,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "store_generation": self.store.generation,
            "documents": docs,
            "chunks": chunk_count,
            "corpus_fingerprint": fingerprint(self.store.content_hashes()),
            "lexical": {key: value for key, value in lexical.describe().items() if key != "segments"},
            "restorer": sample.record(),
            "dense": dense,
            "versions": versions(),
            **self.settings.record(),
        }

    def publish(self, staging: Path, manifest: dict[str, object], published: StoredRows | Increment) -> Path:
        """Make the staged generation live, hand it to the collection, then drop generations nobody needs."""
        live = self.folder.publish(staging, int(str(manifest["store_generation"])), manifest)
        # Load the new snapshot before the old generations go: readers keep the old one until it is swapped.
        self._published(live, published)
        self.folder.collect_garbage(live)
        return live

    def build_dense(self, staging: Path, stored: StoredRows) -> dict[str, object] | None:
        """FAISS over the stored vectors; texts without one for this encoder are encoded now."""
        if self.embedder is None:
            return None
        info = self.embedder.info
        ids = np.array([rowid for rowid, _ in stored], dtype=np.int64)
        index = VectorIndex.build(ids, self.chunk_vectors([c for _, c in stored]), info.dimension)
        index.save(staging / "dense")
        return info_record(info, index.kind)

    def chunk_vectors(self, chunks: Sequence[Chunk]) -> np.ndarray:
        """The encoder's vector of each chunk, in order: stored ones read, the others encoded and stored now."""
        assert self.embedder is not None
        info = self.embedder.info
        texts = [dense_text(c.text, c.header, self.settings) for c in chunks]
        keys = [embedding_key(text) for text in texts]
        # A few rows are looked up by key; for a whole collection one pass over the table is quicker.
        wanted = keys if len(keys) <= KEYED_LOOKUP_MAX else None
        vectors = self.store.vectors_for(info.vector_key, info.dimension, wanted)
        vectors.update(self._encode_and_save({k: t for k, t in zip(keys, texts, strict=True) if k not in vectors}))
        return np.stack([vectors[key] for key in keys]) if keys else np.zeros((0, info.dimension), dtype=np.float32)


def _outcome(stored_hash: str | None, new_hash: str) -> str:
    return "added" if stored_hash is None else "unchanged" if stored_hash == new_hash else "replaced"
