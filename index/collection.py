"""A collection: one index folder opened for reading and writing.

:class:`Collection` ties the folder layout (:mod:`index.folder`), the store,
the writer (:mod:`index.writer`) and the live :class:`~index.search.Searcher`
together. Readers get immutable snapshots; a server notices a generation that
another process (the CLI, another worker) made live within ``RELOAD_CHECK_S``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from corpus.chunk import estimate_tokens
from corpus.load import read_bytes
from corpus.models import Chunk, Indicator, ParsedDocument
from corpus.pipeline import parse_text
from index.encoders import Embedder, load_embedder
from index.folder import IndexFolder, check_manifest, read_manifest
from index.increment import Increment, StoredRows, load_restorer
from index.lexical import LEXICAL_FORMAT, LexicalIndex
from index.restore import DiacriticRestorer
from index.search import Searcher, SearchOptions
from index.store import ChunkStore, StoredDocument
from index.vectors import DenseRetriever, VectorIndex
from index.writer import BuildSettings, IngestReport, Writer, for_embedder

log = logging.getLogger(__name__)

RELOAD_CHECK_S = 0.5  # how stale a server's view may be of a write made by another process

__all__ = ["BuildSettings", "Collection", "IngestReport"]


class Collection:
    """Owns one index folder; serialises writers, hands readers immutable :class:`Searcher` snapshots."""

    def __init__(self, directory: Path, settings: BuildSettings | None = None,
                 search_options: SearchOptions | None = None, embedder: Embedder | None = None,
                 dense_status: dict[str, str] | None = None) -> None:
        self.directory = directory
        self.embedder = embedder
        self.dense_status = dense_status or load_embedder(None)[1]
        self.settings = for_embedder(settings or BuildSettings(), embedder)
        self.search_options = search_options or SearchOptions(tokenizer=self.settings.tokenizer)
        directory.mkdir(parents=True, exist_ok=True)
        self.folder = IndexFolder(directory)
        self.store = ChunkStore(self.folder.store_path)
        self.writer = Writer(self.folder, self.store, self.settings, embedder, self._install)
        self._reload_lock = threading.Lock()
        # the snapshot served and the generation folder it was loaded from, assigned together: threads read the
        # pair without a lock, and a snapshot's name must be its own
        self._served: tuple[Searcher, str] | None = None
        self._checked_at = 0.0

    @classmethod
    def open(cls, directory: Path, settings: BuildSettings | None = None,
             search_options: SearchOptions | None = None, embedder: Embedder | None = None,
             dense_status: dict[str, str] | None = None) -> Collection:
        """Open an index folder, rebuilding derived indexes a crash left behind."""
        collection = cls(directory, settings, search_options, embedder, dense_status)
        manifest = collection.manifest()
        if manifest is not None:
            check_manifest(manifest, collection.settings.record(), embedder.info if embedder else None, directory)
        stale = manifest is None or manifest.get("store_generation") != collection.store.generation
        lexical = (manifest or {}).get("lexical")
        outdated = not isinstance(lexical, dict) or lexical.get("format") != LEXICAL_FORMAT
        if stale or outdated or (embedder is not None and not (manifest or {}).get("dense")):
            # a crash left it behind, it was built by an older tracuu, or an encoder came since: built again now
            collection.rebuild()
        return collection

    def manifest(self) -> dict[str, object] | None:
        return self.folder.manifest()

    # -- reading -------------------------------------------------------------

    def searcher(self) -> Searcher:
        """The live snapshot, refreshed when another process (the CLI, another server worker) made a newer one live.

        Checking costs one small file read, done at most every RELOAD_CHECK_S per process.
        """
        now = time.monotonic()
        if self._searcher is None or now - self._checked_at >= RELOAD_CHECK_S:
            self._checked_at = now
            with self._reload_lock:
                self._refresh_or_keep()
        assert self._searcher is not None
        return self._searcher

    @property
    def _searcher(self) -> Searcher | None:
        return self._served[0] if self._served else None

    @property
    def served_generation(self) -> str | None:
        """The generation folder this process answers from (replicas report it in ``/health``)."""
        return self._served[1] if self._served else None

    def _refresh_or_keep(self) -> None:
        """Refresh; a replica that already serves keeps its snapshot when the new one cannot be read yet.

        Replicas switch on their own: one may still be loading a generation that a writer's garbage
        collection removes two publications later. Its requests must not fail for that, so the error is logged
        and the next check (RELOAD_CHECK_S later) loads whatever is live then.
        """
        if self._searcher is None:
            self._refresh()
            return
        try:
            self._refresh()
        except OSError as error:  # a folder removed under it; anything else is a real fault and surfaces
            log.warning("kept generation %s: the live one could not be loaded (%s)", self.served_generation, error)

    def _refresh(self) -> None:
        live = self.folder.live_dir()
        manifest = read_manifest(live) if live is not None else None
        if live is None or manifest is None:
            if self._searcher is None:
                self.rebuild()
            return  # a replica that serves keeps serving: the pointer moved on between two reads; look again later
        if live.name == self.served_generation:
            return
        generation = self.store.generation
        if manifest.get("store_generation") != generation and self._searcher is not None:
            return  # a writer elsewhere has committed but not yet switched CURRENT; look again later
        if manifest.get("store_generation") != generation:
            self.rebuild()  # first open and nothing consistent to show: wait for the writer, then build
            return
        searcher = self._load_searcher(live)
        if searcher is not None and self.store.generation == generation:  # no write landed while rows were read
            self._served = (searcher, live.name)
        elif self._searcher is None:
            self.rebuild()

    def _load_searcher(self, live: Path, lexical: LexicalIndex | None = None, vectors: VectorIndex | None = None,
                       stored: StoredRows | None = None, restorer: DiacriticRestorer | None = None) -> Searcher | None:
        """The snapshot of a generation folder (None if the store holds other rows than it indexes).

        From the snapshot served, only what differs is read: segments already in memory are reused, and only
        the chunks and indicator records of the rows and documents a write changed are read from the store.
        """
        lexical = lexical or LexicalIndex.load(live / "lexical")
        rowids = lexical.rowids
        chunks = [chunk for _, chunk in stored] if stored is not None else self._chunks(rowids.tolist())
        if chunks is None:
            return None
        documents = self.store.documents()
        dense = None
        if self.embedder is not None and (live / "dense").is_dir():
            dense = DenseRetriever(self.embedder, vectors or VectorIndex.load(live / "dense"), rowids)
        return Searcher(chunks, documents, lexical, dense=dense, dense_status=self.dense_status,
                        options=self.search_options, indicators=self._indicators(documents),
                        restorer=restorer or load_restorer(live))

    def _chunks(self, rowids: list[int]) -> list[Chunk] | None:
        """The chunks of these store rows, in order: those the served snapshot holds are reused, others read."""
        served = self._searcher
        if served is not None:
            before = served.lexical.rowids
            kept = np.isin(before, rowids)
            added = self.store.chunks_in_order(after=served.lexical.max_rowid)
            if before[kept].tolist() + [rowid for rowid, _ in added] == rowids:
                return [c for c, keep in zip(served.chunks, kept.tolist(), strict=True) if keep] + [c for _, c in added]
        stored = self.store.chunks_in_order()
        return [chunk for _, chunk in stored] if [rowid for rowid, _ in stored] == rowids else None

    def _indicators(self, documents: list[StoredDocument]) -> list[tuple[str, Indicator]]:
        """Indicator records of these documents: the served snapshot's, re-read only for documents that changed."""
        served = self._searcher
        if served is None:
            return self.store.indicators()
        before = {d.id: d.content_hash for d in served.documents}
        now = {d.id: d.content_hash for d in documents}
        changed = {doc for doc in before.keys() | now.keys() if before.get(doc) != now.get(doc)}
        kept = [record for record in served.indicator_records if record[0] not in changed]
        return sorted(kept + self.store.indicators(changed & now.keys()), key=lambda record: record[0])

    def _install(self, live: Path, published: StoredRows | Increment) -> None:
        """Called by the writer with each generation it publishes: readers switch to it at this assignment.

        After an incremental write, a process that serves nothing yet (the CLI) loads nothing: its next
        :meth:`searcher` call reads the generation then.
        """
        if isinstance(published, Increment):
            if self._served is None:
                return
            served, served_name = self._served  # one read: the name is that snapshot's, whatever runs meanwhile
            vectors, restorer = published.vectors, published.restorer
            if published.same_rows and published.parent == served_name:  # a merge: only segments changed
                vectors = served.dense.vectors if isinstance(served.dense, DenseRetriever) else None
                restorer = served.restorer
            searcher = self._load_searcher(live, published.lexical, vectors, restorer=restorer)
        else:
            searcher = self._load_searcher(live, stored=published)
        if searcher is None:
            raise RuntimeError(f"generation {live.name} does not index the rows of the store it was built from")
        self._served = (searcher, live.name)

    def close(self, merge_timeout_s: float = 60.0) -> None:
        """Let a background merge under way publish (it uses the store), then close the store."""
        self.writer.merger.wait(merge_timeout_s)
        self.store.close()

    # -- writing -------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One writer at a time, across threads and processes (an flock on the index folder)."""
        with self.folder.exclusive():
            yield

    def rebuild(self) -> None:
        self.writer.rebuild()

    def parse(self, data: bytes, source: str) -> ParsedDocument:
        """One file as this collection would store it (chunks sized by its encoder); raises on a rejection."""
        counter = self.embedder.count_tokens if self.embedder else estimate_tokens
        raw = read_bytes(data, source, self.settings.max_file_bytes)
        return parse_text(raw, source, self.settings.chunking, counter)

    def ingest(self, files: Iterable[tuple[str, bytes]]) -> IngestReport:
        return self.writer.ingest(files)

    def ingest_paths(self, paths: Sequence[Path]) -> IngestReport:
        def read_all() -> Iterable[tuple[str, bytes]]:
            for path in paths:
                yield path.name, path.read_bytes()

        return self.ingest(read_all())

    def remove(self, document_ids: Sequence[str]) -> list[str]:
        return self.writer.remove(document_ids)
