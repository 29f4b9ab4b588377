"""Searches while documents are added, replaced and deleted; the same file uploaded twice at once.

Each document exists in two versions: every chunk of version A carries the word "alphaxyz", every chunk
of version B "betaxyz", and B is three times as long. A reader that saw a mix of two states would find
both words among one document's hits, a chunk whose word does not match its document's content hash,
or a document with the chunk count of neither version.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from index.collection import Collection
from index.encoders import load_embedder
from index.search import Searcher
from index.vectors import DenseRetriever
from service.app import create_app
from service.settings import Settings
from tests.conftest import DOCUMENTS, REPO_ROOT

pytestmark = pytest.mark.slow  # starts processes and threads against one index

MARKERS = {"A": "alphaxyz", "B": "betaxyz"}
LINES = {"A": 12, "B": 36}
DOCS = 4
QUERY = "alphaxyz betaxyz tỷ lệ hộ nghèo"
TIME_LIMIT_S = 60.0  # every loop also stops here, so a hang fails instead of stalling the suite


def version(doc: int, name: str) -> bytes:
    """A report whose every numbered line (each its own chunk) carries the version's marker."""
    marker = MARKERS[name]
    head = ["ỦY BAN NHÂN DÂN HUYỆN BÌNH LỤC", f"Số: {doc + 10}/BC-UBND", "BÁO CÁO",
            f"Kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội năm 2023 ({marker})"]
    body = [f"{i}. {marker} Tỷ lệ hộ nghèo giảm còn {i},{doc}% theo chuẩn nghèo đa chiều, tài liệu số {doc} {marker}."
            for i in range(1, LINES[name] + 1)]
    return "\n".join(head + body).encode("utf-8")


def source(doc: int) -> str:
    return f"bao-cao-{doc:02d}.txt"


def marker_of(text: str) -> set[str]:
    return {name for name, marker in MARKERS.items() if marker in text}


class Versions:
    """Content hash -> (version, chunk count) of every document version, worked out by parsing once."""

    def __init__(self, collection: Collection) -> None:
        self.of_hash: dict[str, tuple[str, int]] = {}
        for doc in range(DOCS):
            for name in MARKERS:
                parsed = collection.parse(version(doc, name), source(doc))
                assert all(marker_of(c.text) == {name} for c in parsed.chunks), "a chunk without its marker"
                self.of_hash[parsed.content_hash] = (name, len(parsed.chunks))

    def check_snapshot(self, searcher: Searcher) -> None:
        """A snapshot's documents and chunks describe one state: every chunk matches its document's version."""
        docs = {d.id: d for d in searcher.documents}
        assert {c.document_id for c in searcher.chunks} == set(docs)
        assert len(searcher.chunks) == searcher.lexical.size
        if isinstance(searcher.dense, DenseRetriever):
            assert searcher.dense.vectors.size == len(searcher.chunks) == len(searcher.dense.rowids)
        counts: dict[str, int] = {}
        for chunk in searcher.chunks:
            name, _ = self.of_hash[docs[chunk.document_id].content_hash]
            assert marker_of(chunk.text) == {name}, f"chunk {chunk.id} of version {name} carries another marker"
            counts[chunk.document_id] = counts.get(chunk.document_id, 0) + 1
        assert all(counts[d] == self.of_hash[doc.content_hash][1] for d, doc in docs.items()), "half a document"

    def check_hits(self, hits: list[tuple[str, str, str | None]]) -> None:
        """(document id, chunk text, content hash or None) of one search: one version per document."""
        seen: dict[str, set[str]] = {}
        for doc_id, text, content_hash in hits:
            seen.setdefault(doc_id, set()).update(marker_of(text))
            if content_hash is not None:
                assert marker_of(text) == {self.of_hash[content_hash][0]}
        assert all(len(names) == 1 for names in seen.values()), f"one search saw two versions: {seen}"


def run_together(writer: Callable[[], None], reader: Callable[[], int], readers: int = 2) -> list[int]:
    """Run readers until the writer is done; re-raise the first failure of any thread; reads per reader."""
    done = threading.Event()
    deadline = time.monotonic() + TIME_LIMIT_S

    def read_until_done() -> int:
        count = 0
        while (not done.is_set() or count == 0) and time.monotonic() < deadline:
            count += reader()
            time.sleep(0.002)  # leave the writer some of the GIL
        return count

    def write() -> None:
        try:
            writer()
        finally:
            done.set()

    with ThreadPoolExecutor(readers + 1) as pool:
        read_futures = [pool.submit(read_until_done) for _ in range(readers)]
        pool.submit(write).result(timeout=TIME_LIMIT_S + 30)
        return [f.result(timeout=TIME_LIMIT_S + 30) for f in read_futures]


# -- in process, on a Collection ------------------------------------------------


@pytest.mark.parametrize("legs", ["lexical", "lexical+dense"])
def test_searches_during_adds_replaces_and_deletes_see_one_state(tmp_path: Path, legs: str,
                                                                 request: pytest.FixtureRequest) -> None:
    embedder = None
    if legs == "lexical+dense":
        embedder, status = load_embedder(str(request.getfixturevalue("tiny_model_dir")))
        assert embedder is not None, status
    collection = Collection.open(tmp_path / "idx", embedder=embedder)
    versions = Versions(collection)
    writes = 0

    def writer() -> None:
        nonlocal writes
        current = dict.fromkeys(range(DOCS), "A")
        flipped = {"A": "B", "B": "A"}
        assert len(collection.ingest([(source(d), version(d, "A")) for d in range(DOCS)]).added) == DOCS
        for doc in range(DOCS):
            current[doc] = flipped[current[doc]]
            assert collection.ingest([(source(doc), version(doc, current[doc]))]).replaced == [source(doc)]
            doc_id = next(d.id for d in collection.store.documents() if d.source == source(doc))
            assert collection.remove([doc_id]) == [doc_id]
            other = (doc + 1) % DOCS  # one write that adds one document back and replaces another
            current[doc], current[other] = "A", flipped[current[other]]
            report = collection.ingest([(source(doc), version(doc, "A")),
                                        (source(other), version(other, current[other]))])
            assert (report.added, report.replaced) == ([source(doc)], [source(other)])
            writes += 3

    def reader() -> int:
        searcher = collection.searcher()
        versions.check_snapshot(searcher)
        hits = searcher.search(QUERY, k=100)
        versions.check_hits([(h.document.id, h.chunk.text, h.document.content_hash) for h in hits])
        return 1

    reads = run_together(writer, reader)
    assert writes == 3 * DOCS and all(r > 0 for r in reads)
    versions.check_snapshot(collection.searcher())
    assert len(collection.searcher().documents) == DOCS


@pytest.mark.parametrize("uploads", [2, 4])
def test_the_same_file_added_at_once_from_threads_is_one_document(tmp_path: Path, uploads: int) -> None:
    collection = Collection.open(tmp_path / "idx")
    data = version(0, "A")
    start = threading.Barrier(uploads)

    def add(_: int) -> tuple[list[str], list[str], list[str]]:
        start.wait(timeout=30)
        report = collection.ingest([(source(0), data)])
        return report.added, report.replaced, report.unchanged

    with ThreadPoolExecutor(uploads) as pool:
        reports = list(pool.map(add, range(uploads)))
    assert [d.source for d in collection.store.documents()] == [source(0)]
    assert sum(len(added) for added, _, _ in reports) == 1, f"reported as added more than once: {reports}"
    assert all(not replaced for _, replaced, _ in reports)
    Versions(collection).check_snapshot(collection.searcher())


_ADD_ONCE = """
import json, sys
from pathlib import Path
from index.collection import Collection
collection = Collection.open(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()
report = collection.ingest([(sys.argv[2], Path(sys.argv[3]).read_bytes())])
print(json.dumps([report.added, report.replaced, report.unchanged]), flush=True)
"""


def test_the_same_file_added_at_once_from_processes_is_one_document(tmp_path: Path) -> None:
    """Two processes (the CLI and a server, or two server workers) add one file: it is reported added once."""
    Collection.open(tmp_path / "idx").store.close()
    upload = tmp_path / source(2)
    upload.write_bytes(version(2, "B"))
    procs = [subprocess.Popen([sys.executable, "-c", _ADD_ONCE, str(tmp_path / "idx"), source(2), str(upload)],
                              cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:  # both go as close together as two pipe writes
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = [json.loads(proc.communicate(timeout=TIME_LIMIT_S)[0]) for proc in procs]
    assert sorted(len(added) for added, _, _ in reports) == [0, 1], reports
    assert sorted(len(unchanged) for _, _, unchanged in reports) == [0, 1], reports
    collection = Collection.open(tmp_path / "idx")
    assert [d.source for d in collection.store.documents()] == [source(2)]
    Versions(collection).check_snapshot(collection.searcher())


def test_reading_a_document_while_it_is_replaced_sees_one_version(tmp_path: Path) -> None:
    seeded = Collection.open(tmp_path / "idx")
    seeded.ingest([(source(0), version(0, "A"))])
    seeded.store.close()
    app = create_app(Settings(index_dir=tmp_path / "idx", embed_model="none", api_key=None))
    with TestClient(app) as client:
        collection: Collection = app.state.collection
        document_id = collection.searcher().documents[0].id

        def writer() -> None:
            for i in range(20):
                collection.ingest([(source(0), version(0, "BA"[i % 2]))])

        def reader() -> int:
            body = client.get(f"/documents/{document_id}").json()
            (name,) = marker_of(body["text"])
            assert len(body["chunks"]) == LINES[name] + 1, f"text of version {name}, chunks of the other"
            return 1

        run_together(writer, reader, readers=1)


# -- over HTTP, against a real server -------------------------------------------


@contextmanager
def serving(index_dir: Path) -> Iterator[str]:
    """Uvicorn on an ephemeral loopback port in a thread, with the app's real lifespan."""
    app = create_app(Settings(index_dir=index_dir, embed_model="none", api_key=None))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    seeded = Collection.open(tmp_path / "idx")
    seeded.ingest([(p.name, p.read_bytes()) for p in sorted(DOCUMENTS.glob("*.txt"))[:2]])
    seeded.store.close()
    with serving(tmp_path / "idx") as url:
        yield url


def _upload(url: str, name: str, data: bytes) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=60) as client:
        return client.post("/documents", files={"files": (name, data, "text/plain")})


def _sources(url: str) -> list[str]:
    with httpx.Client(base_url=url, timeout=60) as client:
        response = client.get("/documents", params={"limit": 500})
        assert response.status_code == 200
        return [d["source"] for d in response.json()["documents"]]


@pytest.mark.parametrize("uploads", [2, 4])
def test_the_same_file_uploaded_at_once_is_one_document(base_url: str, uploads: int) -> None:
    start = threading.Barrier(uploads)

    def upload(_: int) -> httpx.Response:
        start.wait(timeout=30)
        return _upload(base_url, source(1), version(1, "A"))

    with ThreadPoolExecutor(uploads) as pool:
        responses = list(pool.map(upload, range(uploads)))
    assert [r.status_code for r in responses] == [200] * uploads
    bodies = [r.json() for r in responses]
    assert sum(len(b["added"]) for b in bodies) == 1, bodies
    assert all(len(b["added"]) + len(b["unchanged"]) + len(b["replaced"]) == 1 for b in bodies)
    assert _sources(base_url).count(source(1)) == 1


def test_http_searches_during_uploads_and_deletes_all_answer(base_url: str) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def writer() -> None:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            for round_ in range(2):
                for doc in range(2):
                    for name in ("A", "B"):
                        response = client.post("/documents",
                                               files={"files": (source(doc), version(doc, name), "text/plain")})
                        assert response.status_code == 200, response.text
                    doc_id = next(d["id"] for d in client.get("/documents", params={"limit": 500}).json()["documents"]
                                  if d["source"] == source(doc))
                    if round_ == 0:
                        assert client.delete(f"/documents/{doc_id}").status_code == 200

    def reader() -> int:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            answers = [client.get("/search", params={"q": QUERY, "k": 50}),
                       client.post("/search", json={"query": "kinh tế xã hội", "k": 10}),
                       client.get("/documents", params={"limit": 500})]
        with lock:
            statuses.extend(r.status_code for r in answers)
        assert [r.status_code for r in answers] == [200, 200, 200], [r.text[:200] for r in answers]
        hits: list[dict[str, Any]] = answers[0].json()["results"]
        _one_version_per_document(hits)
        for listed in answers[2].json()["documents"]:
            if listed["source"].startswith("bao-cao-"):
                _one_version_of_document(client_url=base_url, document_id=listed["id"])
        return 1

    reads = run_together(writer, reader, readers=3)
    assert all(r > 0 for r in reads) and set(statuses) == {200}
    assert _sources(base_url).count(source(0)) == 1 and _sources(base_url).count(source(1)) == 1


def _one_version_per_document(hits: list[dict[str, Any]]) -> None:
    seen: dict[str, set[str]] = {}
    for hit in hits:
        seen.setdefault(hit["document"]["id"], set()).update(marker_of(hit["text"]))
    assert all(len(names) <= 1 for names in seen.values()), f"one search saw two versions: {seen}"


def _one_version_of_document(client_url: str, document_id: str) -> None:
    """A document read whole: its text and its chunk list come from the same version (or it is gone)."""
    with httpx.Client(base_url=client_url, timeout=60) as client:
        response = client.get(f"/documents/{document_id}")
    if response.status_code == 404:
        return  # deleted since it was listed
    assert response.status_code == 200, response.text[:200]
    body = response.json()
    (name,) = marker_of(body["text"])
    assert len(body["chunks"]) == LINES[name] + 1, f"text of version {name}, chunks of the other"
    assert max(c["end"] for c in body["chunks"]) == len(body["text"])
