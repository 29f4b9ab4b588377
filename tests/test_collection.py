"""Adding, replacing, deleting and re-ingesting documents; filters; crash safety of a write."""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.collection import BuildSettings, Collection
from index.encoders import Embedder
from index.errors import IndexMismatch
from index.filters import Filters as SearchFilters
from index.folder import FORMAT_VERSION
from index.lexical import LexicalIndex
from index.vectors import DenseRetriever, VectorIndex
from index.writer import dense_text, embedding_key
from tests.conftest import DOCUMENTS, REPO_ROOT

SEEDS = sorted(DOCUMENTS.glob("*.txt"))


def _files(paths: list[Path]) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in paths]


def test_add_replace_delete_and_noop(tmp_path: Path) -> None:
    collection = Collection.open(tmp_path / "idx")
    first = collection.ingest(_files(SEEDS[:2]))
    assert sorted(first.added) == [p.name for p in SEEDS[:2]]
    again = collection.ingest(_files(SEEDS[:2]))
    assert again.unchanged == [p.name for p in SEEDS[:2]] and not again.added and not again.replaced
    generation = collection.store.generation
    assert collection.store.generation == generation  # a no-op re-ingest writes nothing

    changed = SEEDS[0].read_text(encoding="utf-8") + "\nPhấn đấu trồng mới 500 ha cây ăn quả chất lượng cao."
    report = collection.ingest([(SEEDS[0].name, changed.encode("utf-8"))])
    assert report.replaced == [SEEDS[0].name]
    hits = collection.searcher().search("trồng mới 500 ha cây ăn quả", k=3)
    assert hits and "500 ha cây ăn quả" in hits[0].chunk.text
    assert collection.store.counts()[0] == 2

    doc_id = hits[0].document.id
    assert collection.remove([doc_id]) == [doc_id]
    assert collection.store.counts()[0] == 1
    assert all(h.document.id != doc_id for h in collection.searcher().search("cây ăn quả", k=50))
    assert collection.remove([doc_id]) == []


def test_a_rejected_file_does_not_stop_the_batch(tmp_path: Path) -> None:
    collection = Collection.open(tmp_path / "idx")
    collection.ingest(_files(SEEDS[:1]))
    report = collection.ingest([("empty.txt", b""), ("bad.exe", b"MZ"), *_files(SEEDS[1:2])])
    assert {r["source"] for r in report.rejected} == {"empty.txt", "bad.exe"}
    assert report.added == [SEEDS[1].name]
    assert collection.store.counts()[0] == 2  # nothing already indexed was lost


def _store_rows(collection: Collection) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(collection.store.path)) as db:
        return db.execute('SELECT rowid, id, document_id, start, "end", text, header, lex_tokens FROM chunks '
                          "ORDER BY rowid").fetchall()


@pytest.mark.slow  # worker processes
def test_a_batch_spread_over_processes_stores_what_one_process_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing and tokenising are pure per file: worker processes change the speed, never the store."""
    import index.textnorm
    import index.writer

    batch = [("empty.txt", b""), *_files(SEEDS), ("bad.exe", b"MZ")]
    serial = Collection.open(tmp_path / "serial")
    serial_report = serial.ingest(batch)
    monkeypatch.setattr(index.writer, "PARALLEL_PARSE_MIN_BYTES", 1)
    monkeypatch.setattr(index.textnorm, "PARALLEL_MIN_CHUNKS", 1)
    monkeypatch.setattr(index.writer, "usable_cpus", lambda: 2)
    monkeypatch.setattr(index.textnorm, "usable_cpus", lambda: 2)
    spread = Collection.open(tmp_path / "spread")
    spread_report = spread.ingest(batch)
    assert spread_report.rejected == serial_report.rejected and len(spread_report.rejected) == 2
    assert spread_report.added == serial_report.added == [p.name for p in SEEDS]
    assert spread_report.documents == serial_report.documents
    assert _store_rows(spread) == _store_rows(serial)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Collection:
    collection = Collection.open(tmp_path_factory.mktemp("filters"))
    collection.ingest(_files(SEEDS))
    return collection


@pytest.mark.parametrize(
    ("filters", "expected_localities"),
    [
        (SearchFilters(locality="Bình Lục"), {"Bình Lục"}),
        (SearchFilters(locality="binh luc"), {"Bình Lục"}),
        (SearchFilters(province="Hải Phòng"), {"Vĩnh Bảo", "Bình Giang"}),  # Hải Dương is in Hải Phòng since 2025
        (SearchFilters(level="tỉnh"), {"Bắc Giang"}),
        (SearchFilters(doc_type="Thông báo"), {"Thường Xuân"}),
        (SearchFilters(year=2022), {"Bình Lục"}),
        (SearchFilters(year_from=2024), {"Bình Giang", "Bắc Giang", "Vĩnh Bảo", "Thường Xuân"}),
        (SearchFilters(year_to=2023), {"Bình Lục", "Vĩnh Bảo"}),
    ],
)
def test_each_filter(seeded: Collection, filters: SearchFilters, expected_localities: set[str]) -> None:
    hits = seeded.searcher().search("kinh tế xã hội", k=100, filters=filters)
    assert {h.document.meta.locality for h in hits} == expected_localities


def test_document_id_filter(seeded: Collection) -> None:
    target = seeded.store.documents()[0].id
    hits = seeded.searcher().search("nhiệm vụ", k=50, filters=SearchFilters(document_id=target))
    assert hits and {h.document.id for h in hits} == {target}


def test_filter_matching_nothing_returns_nothing(seeded: Collection) -> None:
    assert seeded.searcher().search("hộ nghèo", filters=SearchFilters(province="Cà Mau")) == []


def test_k_larger_than_the_collection(seeded: Collection) -> None:
    searcher = seeded.searcher()
    hits = searcher.search("năm", k=100_000)
    assert hits == searcher.search("năm", k=len(searcher.chunks))  # capped at the collection, not an error
    assert len({h.chunk.id for h in hits}) == len(hits) > 50  # "năm" is in most chunks; none comes twice


def test_opening_with_other_chunking_says_how_to_rebuild(seeded: Collection) -> None:
    from corpus.chunk import ChunkSettings

    with pytest.raises(IndexMismatch, match="--rebuild"):
        Collection.open(seeded.directory, BuildSettings(chunking=ChunkSettings(max_tokens=100)))


def test_manifest_describes_the_index(seeded: Collection) -> None:
    manifest = seeded.manifest()
    assert manifest is not None
    assert manifest["documents"] == 5 and manifest["chunks"] == len(seeded.searcher().chunks)
    assert manifest["store_generation"] == seeded.store.generation
    assert manifest["chunking"]["token_counter"] == "estimate"
    assert {"bm25s", "numpy", "python"} <= set(manifest["versions"])


# -- crash safety --------------------------------------------------------------------

ORPHANS_AND_DUPLICATES = {
    "chunks without a document": "SELECT COUNT(*) FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)",
    "documents without a chunk": "SELECT COUNT(*) FROM documents WHERE id NOT IN (SELECT document_id FROM chunks)",
    "indicators without a document":
        "SELECT COUNT(*) FROM indicators WHERE document_id NOT IN (SELECT id FROM documents)",
    "duplicate chunk ids": "SELECT COUNT(*) - COUNT(DISTINCT id) FROM chunks",
    "duplicate document ids": "SELECT COUNT(*) - COUNT(DISTINCT id) FROM documents",
    "duplicate document sources": "SELECT COUNT(*) - COUNT(DISTINCT source) FROM documents",
    "documents with missing or repeated chunk ordinals":
        "SELECT COUNT(*) FROM (SELECT document_id FROM chunks GROUP BY document_id "
        "HAVING MIN(ordinal) != 0 OR MAX(ordinal) != COUNT(*) - 1 OR COUNT(DISTINCT ordinal) != COUNT(*))",
}


@dataclass(frozen=True)
class IndexState:
    """What a consistent index folder holds, as read straight from its store."""

    documents: dict[str, str]  # source -> content hash
    chunk_ids: tuple[str, ...]  # in row order: the order of BM25 rows and FAISS ids
    rowids: tuple[int, ...]
    generation: int


def assert_consistent(directory: Path, embedder: Embedder | None = None,
                      expected_chunks: dict[str, int] | None = None) -> IndexState:
    """Open an index folder as a server would, then check that store, manifest, BM25 and FAISS agree.

    Every chunk belongs to a stored document and none is duplicated or missing (``expected_chunks``
    gives each source's chunk count when known); the live manifest, the BM25 rows, the FAISS ids and
    the vectors table all describe exactly the stored chunks; the served snapshot is that same state.
    """
    collection = Collection.open(directory, embedder=embedder)  # repairs what a crash left, as at start-up
    try:
        state = _check_store(directory / "store.sqlite", embedder, expected_chunks)
        _check_generation_folder(directory, state, embedder)
        _check_served(collection, state, embedder)
    finally:
        collection.store.close()
    return state


def _check_store(path: Path, embedder: Embedder | None, expected_chunks: dict[str, int] | None) -> IndexState:
    with closing(sqlite3.connect(path)) as db:
        for problem, query in ORPHANS_AND_DUPLICATES.items():
            assert db.execute(query).fetchone()[0] == 0, problem
        documents = dict(db.execute("SELECT source, content_hash FROM documents").fetchall())
        per_source = dict(db.execute("SELECT d.source, COUNT(*) FROM chunks c JOIN documents d "
                                     "ON d.id = c.document_id GROUP BY d.source").fetchall())
        if expected_chunks is not None:
            assert per_source == {s: expected_chunks[s] for s in documents}, "a document is half-written"
        texts = dict(db.execute("SELECT id, text FROM documents").fetchall())
        rows = db.execute('SELECT rowid, id, document_id, start, "end", text FROM chunks ORDER BY rowid').fetchall()
        assert all(texts[doc][start:end] == text for _, _, doc, start, end, text in rows)
        if embedder is not None:
            info = embedder.info
            vectors = dict(db.execute("SELECT text_hash, length(vector) FROM embeddings WHERE model = ?",
                                      (info.vector_key,)).fetchall())
            read = [embedding_key(dense_text(text, header, BuildSettings()))
                    for text, header in db.execute("SELECT text, header FROM chunks ORDER BY rowid")]
            assert all(key in vectors for key in read), "a chunk without its vector"
            assert set(vectors.values()) <= {4 * info.dimension}
        generation = int(db.execute("SELECT value FROM state WHERE key = 'generation'").fetchone()[0])
    return IndexState(documents, tuple(r[1] for r in rows), tuple(r[0] for r in rows), generation)


def _check_generation_folder(directory: Path, state: IndexState, embedder: Embedder | None) -> None:
    live = directory / (directory / "CURRENT").read_text().strip()
    manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["documents"], manifest["chunks"], manifest["store_generation"]) == (
        len(state.documents), len(state.chunk_ids), state.generation)
    assert LexicalIndex.load(live / "lexical").size == len(state.chunk_ids)
    if embedder is not None:
        import faiss

        assert manifest["dense"]["model"] == embedder.info.model
        vectors = VectorIndex.load(live / "dense")
        assert vectors.size == len(state.chunk_ids)
        assert tuple(int(i) for i in faiss.vector_to_array(vectors.index.id_map)) == state.rowids


def _check_served(collection: Collection, state: IndexState, embedder: Embedder | None) -> None:
    searcher = collection.searcher()
    assert tuple(c.id for c in searcher.chunks) == state.chunk_ids
    assert {d.source: d.content_hash for d in searcher.documents} == state.documents
    assert searcher.lexical.size == len(state.chunk_ids)
    if embedder is not None:
        assert isinstance(searcher.dense, DenseRetriever) and searcher.dense.vectors.size == len(state.chunk_ids)
        assert tuple(int(r) for r in searcher.dense.rowids) == state.rowids
    if state.documents:
        assert searcher.search("kinh tế xã hội", k=5)
        if embedder is not None:
            assert searcher.search("kinh tế xã hội", k=5, mode="dense")


# Importing sentence-transformers costs seconds, so one process loads the model once and forks a fresh
# ingesting process per kill; it forks before any inference, so no torch thread pool is inherited.
_ZYGOTE = """
import os, signal, sys, traceback
from pathlib import Path
from index.collection import Collection
from index.encoders import load_embedder
embedder, status = load_embedder(sys.argv[1])
assert embedder is not None, status
print("loaded", flush=True)
child = 0
for line in sys.stdin:
    command, *args = line.rstrip("\\n").split("\\t")
    if command == "ingest":
        child = os.fork()
        if child == 0:
            try:
                collection = Collection.open(Path(args[0]), embedder=embedder)
                print("ready", flush=True)
                collection.ingest_paths(sorted(Path(args[1]).glob("*.txt")))
                print("done", flush=True)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(0)  # never return into this loop
    elif command == "kill":
        os.kill(child, signal.SIGKILL)  # an exited child stays a zombie until reaped: its pid is still ours
        os.waitpid(child, 0)
        print("killed", flush=True)
"""
BATCH_COPIES = 4  # 4 x 5 shortened seeds: 20 documents, ~650 chunks, each one encoded
BATCH_CHARS = 2500


def _shortened(seed: Path) -> bytes:
    """A seed's first paragraphs: real text with its heading, small enough to encode 20 copies quickly."""
    text = seed.read_text(encoding="utf-8")
    return text[: text.index("\n", BATCH_CHARS)].encode("utf-8")


def _base_files() -> list[tuple[str, bytes]]:
    return [(f"base-{seed.name}", _shortened(seed)) for seed in SEEDS[:2]]


@pytest.fixture(scope="module")
def crash_batch(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, dict[str, int]]:
    """The batch a subprocess ingests, and each file's chunk count when parsed whole."""
    batch = tmp_path_factory.mktemp("batch")
    for copy in range(BATCH_COPIES):
        for seed in SEEDS:
            (batch / f"{copy:02d}-{seed.name}").write_bytes(_shortened(seed))
    parser = Collection(tmp_path_factory.mktemp("parser"), embedder=embedder)
    files = [*_base_files(), *_files(sorted(batch.iterdir()))]
    expected = {name: len(parser.parse(data, name).chunks) for name, data in files}
    parser.store.close()
    return batch, expected


class Ingester:
    """Drives the forking process: start an ingest, then SIGKILL it."""

    def __init__(self, model_dir: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _ZYGOTE, str(model_dir)], cwd=REPO_ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("loaded", timeout=120)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def send(self, *fields: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\t".join(map(str, fields)) + "\n")
        self.proc.stdin.flush()

    def expect(self, wanted: str, timeout: float = 60.0) -> list[str]:
        seen = []
        while (line := self.lines.get(timeout=timeout)) != wanted:
            seen.append(line)
        return seen

    def finished(self) -> bool:
        return "done" in list(self.lines.queue)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def ingester(tiny_model_dir: Path) -> Iterator[Ingester]:
    forking = Ingester(tiny_model_dir)
    yield forking
    forking.close()


Trigger = Callable[[Path, set[str]], bool]


def _grown(name: str) -> Trigger:
    return lambda directory, _: (directory / name).exists() and (directory / name).stat().st_size > 0


def _appeared(pattern: str) -> Trigger:
    return lambda directory, before: bool({p.name for p in directory.glob(pattern)} - before)


KILL_POINTS: dict[str, Trigger] = {
    "parsing and encoding": lambda _, __: True,  # as soon as the subprocess has opened the index
    "committing to the store": _grown("store.sqlite-wal"),  # WAL frames are written at commit
    "building the next generation": _appeared("staging-*.tmp"),
    "switching CURRENT": _appeared("gen-*"),
}


def _kill_when(ingester: Ingester, directory: Path, trigger: Trigger, timeout: float = 60.0) -> bool:
    """SIGKILL the ingest once ``trigger`` fires; False when it had already finished (a kill too late)."""
    before = {p.name for p in directory.iterdir()}
    deadline = time.monotonic() + timeout
    while not trigger(directory, before) and not ingester.finished() and time.monotonic() < deadline:
        time.sleep(0.001)
    ingester.send("kill")
    return "done" not in ingester.expect("killed")


@pytest.mark.slow  # kills ingesting processes
@pytest.mark.parametrize("kill_point", list(KILL_POINTS))
def test_killed_ingest_leaves_a_consistent_index(tmp_path: Path, ingester: Ingester, embedder: Embedder,
                                                 crash_batch: tuple[Path, dict[str, int]], kill_point: str) -> None:
    """SIGKILL a subprocess ingesting 20 documents with a dense index, then restart: the old state or the new."""
    batch, expected = crash_batch
    directory = tmp_path / "idx"
    base = Collection.open(directory, embedder=embedder)
    base.ingest(_base_files())
    base.store.close()
    before = assert_consistent(directory, embedder, expected)
    answer_before = _answer(directory, embedder)

    ingester.send("ingest", directory, batch)
    ingester.expect("ready")
    _kill_when(ingester, directory, KILL_POINTS[kill_point])

    after = assert_consistent(directory, embedder, expected)
    new_sources = set(before.documents) | {p.name for p in batch.iterdir()}
    assert set(after.documents) in (set(before.documents), new_sources), "neither the old state nor the new"
    if after.documents == before.documents:  # the old state, intact: same rows, same answers
        assert after.chunk_ids == before.chunk_ids and _answer(directory, embedder) == answer_before

    rerun = Collection.open(directory, embedder=embedder)
    report = rerun.ingest_paths(sorted(batch.iterdir()))
    rerun.store.close()
    assert set(report.added) | set(report.unchanged) == {p.name for p in batch.iterdir()}
    final = assert_consistent(directory, embedder, expected)
    assert set(final.documents) == new_sources
    assert final.chunk_ids[: len(before.chunk_ids)] == before.chunk_ids  # the first two documents were not rewritten
    assert not list(directory.glob("staging-*"))


def _answer(directory: Path, embedder: Embedder) -> list[tuple[str, float]]:
    collection = Collection.open(directory, embedder=embedder)
    hits = collection.searcher().search("chỉ tiêu kinh tế xã hội năm 2023", k=5)
    collection.store.close()
    return [(h.chunk.id, round(h.score, 5)) for h in hits]


def test_health_of_manifest_json_is_readable(seeded: Collection) -> None:
    live = (seeded.directory / "CURRENT").read_text()
    data = json.loads((seeded.directory / live / "manifest.json").read_text(encoding="utf-8"))
    assert data["format_version"] == FORMAT_VERSION == 3


class CountingEmbedder:
    """The tiny encoder, counting the passages it is asked to encode."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.info, self.encoded = inner, inner.info, 0

    def encode_passages(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.encoded += len(texts)
        return self.inner.encode_passages(texts)

    def encode_queries(self, texts: list[str]):  # type: ignore[no-untyped-def]
        return self.inner.encode_queries(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


@pytest.mark.slow  # encodes with the tiny model
def test_nothing_already_encoded_is_encoded_again(tmp_path: Path, embedder: Embedder) -> None:
    counting = CountingEmbedder(embedder)
    collection = Collection.open(tmp_path / "index", embedder=counting)
    first = collection.ingest_paths(SEEDS[:2])
    chunks = collection.store.counts()[1]
    assert first.added and counting.encoded == chunks
    collection.rebuild()  # a rebuild reads the stored vectors
    assert counting.encoded == chunks
    text = SEEDS[0].read_text(encoding="utf-8")
    replaced = collection.ingest([(SEEDS[0].name, (text + "\n\nPhụ lục: danh mục công trình bổ sung.\n").encode())])
    assert replaced.replaced == [SEEDS[0].name]
    assert 0 < counting.encoded - chunks <= 3  # only the chunks whose text changed (the last one or two)
    collection.remove([collection.store.documents()[0].id])
    before = counting.encoded
    collection.ingest_paths(SEEDS[:2])  # the removed document comes back: its vectors are still stored
    assert counting.encoded == before


_ENCODE_AND_DIE = """
import sys
from pathlib import Path
from index.collection import Collection
from index.encoders import load_embedder
embedder, status = load_embedder(None)
collection = Collection.open(Path(sys.argv[1]), embedder=embedder, dense_status=status)
collection.ingest_paths([Path(p) for p in sys.argv[2:]])
"""


@pytest.mark.slow  # encodes the seeds with the bundled encoder in a process it kills
def test_a_build_killed_while_encoding_reruns_encoding_only_what_was_missing(tmp_path: Path, bundled) -> None:
    directory = tmp_path / "index"
    proc = subprocess.Popen([sys.executable, "-c", _ENCODE_AND_DIE, str(directory), *map(str, SEEDS)],
                            cwd=REPO_ROOT)
    saved = 0
    try:
        deadline = time.monotonic() + 240
        while saved < 64 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if (directory / "store.sqlite").exists():
                with closing(sqlite3.connect(directory / "store.sqlite", timeout=30)) as db:
                    try:
                        saved = db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
                    except sqlite3.OperationalError:  # the file exists a moment before its tables do
                        saved = 0
    finally:
        proc.kill()
        proc.wait()
    assert saved >= 64, "the build never saved a batch of vectors before the deadline"
    with closing(sqlite3.connect(directory / "store.sqlite")) as db:
        saved = db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]  # a batch may have landed since
    counting = CountingEmbedder(bundled)
    collection = Collection.open(directory, embedder=counting)
    assert collection.store.counts() == (0, 0)  # nothing half-written: the documents had not been committed
    collection.ingest_paths(SEEDS)
    chunks = collection.store.counts()[1]
    with closing(sqlite3.connect(directory / "store.sqlite")) as db:
        total = db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    assert counting.encoded == total - saved < chunks  # what the killed run saved was not encoded again
    assert_consistent(directory, embedder=counting)
