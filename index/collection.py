"""A collection: one index folder opened for reading and writing.

:class:`Collection` ties the folder layout (:mod:`index.folder`), the store,
the writer (:mod:`index.writer`) and the live :class:`~index.search.Searcher`
together. Readers get immutable snapshots; a server notices a generation that
another process (the CLI, another worker) made live within ``RELOAD_CHECK_S``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from corpus.chunk import estimate_tokens
from corpus.load import read_bytes
from corpus.models import ParsedDocument
from corpus.pipeline import parse_text
from index.encoders import Embedder, load_embedder
from index.folder import IndexFolder, check_manifest, read_manifest
from index.lexical import LexicalIndex
from index.search import Searcher, SearchOptions
from index.store import ChunkStore
from index.vectors import DenseRetriever, VectorIndex
from index.writer import BuildSettings, IngestReport, StoredRows, Writer, for_embedder, load_restorer

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
        self._searcher: Searcher | None = None
        self._searcher_name: str | None = None  # the generation folder the snapshot was loaded from
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
        if stale or (embedder is not None and not (manifest or {}).get("dense")):
            collection.rebuild()  # a crash left it behind, or an encoder came since: vectors are built now
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
                self._refresh()
        assert self._searcher is not None
        return self._searcher

    def _refresh(self) -> None:
        live = self.folder.live_dir()
        manifest = read_manifest(live) if live is not None else None
        if live is None or manifest is None:
            self.rebuild()
            return
        if self._searcher is not None and live.name == self._searcher_name:
            return
        generation = self.store.generation
        if manifest.get("store_generation") != generation and self._searcher is not None:
            return  # a writer elsewhere has committed but not yet switched CURRENT; look again later
        if manifest.get("store_generation") != generation:
            self.rebuild()  # first open and nothing consistent to show: wait for the writer, then build
            return
        searcher = self._load_searcher(live, self.store.chunks_in_order())
        if self.store.generation == generation:  # no write landed while the chunks were read
            self._searcher, self._searcher_name = searcher, live.name
        elif self._searcher is None:
            self.rebuild()

    def _load_searcher(self, live: Path, stored: StoredRows) -> Searcher:
        dense = None
        if self.embedder is not None and (live / "dense").is_dir():
            rowids = np.array([rowid for rowid, _ in stored], dtype=np.int64)
            dense = DenseRetriever(self.embedder, VectorIndex.load(live / "dense"), rowids)
        return Searcher([chunk for _, chunk in stored], self.store.documents(), LexicalIndex.load(live / "lexical"),
                        dense=dense, dense_status=self.dense_status, options=self.search_options,
                        indicators=self.store.indicators(), restorer=load_restorer(live))

    def _install(self, live: Path, stored: StoredRows) -> None:
        """Called by the writer with each generation it publishes: readers switch to it at this assignment."""
        self._searcher, self._searcher_name = self._load_searcher(live, stored), live.name

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
