"""Replicas: ``tracuu serve --workers 2`` answers from one immutable generation per process, and a new generation
(an upload through one replica, a removal and a full rebuild by another process) rolls out to every replica while
searches go on, without one failed request.

The server runs as a real process tree on loopback (uvicorn's supervisor and two worker processes); a bounded
request loop runs on a thread for as long as the writes take.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bench.cluster import HEAD_IP, LocalCluster
from bench.http import Server
from index.collection import Collection
from tests.conftest import DOCUMENTS

pytestmark = pytest.mark.slow  # a server process tree and a request loop

MAX_REQUESTS = 3000
MAX_SECONDS = 120.0
MARKER = "zetaxyz"
UPLOAD = f"Nghị quyết thử về {MARKER}\nChỉ tiêu {MARKER}: trồng mới 12 ha rừng phòng hộ năm 2024.\n".encode()


@dataclass
class Observed:
    """What the request loop saw: failures by kind, and per replica (pid) the generations it answered from."""

    failures: dict[str, int] = field(default_factory=dict)
    generations: dict[int, list[str]] = field(default_factory=dict)
    requests: int = 0


def _loop(base_url: str, stop: threading.Event, seen: Observed) -> None:
    """Searches and health checks, each on a new connection so that both workers take some."""
    deadline = time.monotonic() + MAX_SECONDS
    while not stop.is_set() and seen.requests < MAX_REQUESTS and time.monotonic() < deadline:
        seen.requests += 1
        path = "/health" if seen.requests % 2 else "/search"
        try:
            response = httpx.get(base_url + path, params={"q": "hộ nghèo", "mode": "lexical"}, timeout=30.0)
        except httpx.HTTPError as error:
            seen.failures[type(error).__name__] = seen.failures.get(type(error).__name__, 0) + 1
            continue
        if response.status_code != 200:
            kind = f"HTTP {response.status_code} {path}"
            seen.failures[kind] = seen.failures.get(kind, 0) + 1
        elif path == "/health":
            replica = response.json()["replica"]
            seen.generations.setdefault(replica["pid"], []).append(replica["generation"])


def _live(index_dir: Path) -> str:
    return (index_dir / "CURRENT").read_text().strip()


def _until_every_replica_serves(base_url: str, pids: set[int], generation: str, timeout_s: float = 30.0) -> set[int]:
    """The pids seen answering from ``generation`` (on new connections) before the deadline."""
    done: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while done != pids and time.monotonic() < deadline:
        replica = httpx.get(f"{base_url}/health", timeout=10.0).json()["replica"]
        if replica["generation"] == generation:
            done.add(replica["pid"])
        time.sleep(0.05)
    return done


def _until_both_answered(seen: Observed, timeout_s: float = 60.0) -> None:
    """Wait (bounded) until the request loop has met both replicas: on a busy host one may come up seconds after
    the other (a fixed 2-second wait once saw the second replica's first answer only after the rollout)."""
    deadline = time.monotonic() + timeout_s
    while len(seen.generations) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)


def _rollout(server: Server, index_dir: Path, files: list[Path]) -> Observed:
    """Searches and health checks on a thread while a replica takes an upload, then another process removes a
    document and rebuilds in full; every replica must end on the generation that is live after that."""
    first = server.wait_ready(timeout_s=180)
    stop, seen = threading.Event(), Observed()
    loop = threading.Thread(target=_loop, args=(server.base_url, stop, seen), daemon=True)
    loop.start()
    try:
        _until_both_answered(seen)  # both replicas have answered from the first generation
        upload = httpx.post(f"{server.base_url}/documents", files=[("files", ("thu.txt", UPLOAD, "text/plain"))],
                            timeout=60.0)
        assert upload.status_code == 200, upload.text
        other = Collection.open(index_dir)  # another process's writes (the CLI): a removal, then a full rebuild
        other.remove([d.id for d in other.store.documents() if d.source == files[0].name])
        other.rebuild()
        final = _live(index_dir)
        other.store.close()
        time.sleep(2.0)
    finally:
        stop.set()
        loop.join(timeout=60)
    assert seen.failures == {}, f"{seen.failures} in {seen.requests} requests"
    assert len(seen.generations) == 2, f"requests reached {len(seen.generations)} replica(s)"
    assert {gens[0] for gens in seen.generations.values()} == {first["replica"]["generation"]}
    assert _until_every_replica_serves(server.base_url, set(seen.generations), final) == set(seen.generations)
    hits = httpx.get(f"{server.base_url}/search", params={"q": MARKER, "mode": "lexical"}, timeout=10.0).json()
    assert {hit["document"]["source"] for hit in hits["results"]} == {"thu.txt"}
    assert httpx.get(f"{server.base_url}/health", timeout=10.0).json()["documents"] == len(files)  # +1 -1
    return seen


def _seed_index(index_dir: Path) -> list[Path]:
    files = sorted(DOCUMENTS.glob("*.txt"))
    collection = Collection.open(index_dir)
    collection.ingest_paths(files)
    collection.store.close()
    return files


def test_a_new_generation_rolls_out_to_both_worker_processes_without_a_failed_request(tmp_path: Path) -> None:
    """uvicorn's worker processes on one machine (tracuu serve --workers 2)."""
    files = _seed_index(tmp_path / "ix")
    server = Server(tmp_path / "ix", workers=2)
    seen = Observed()
    try:
        seen = _rollout(server, tmp_path / "ix", files)
    finally:
        server.stop()
    assert server.process.poll() is not None
    left = [pid for pid in seen.generations if Path(f"/proc/{pid}").exists()]
    assert not left, f"worker processes {left} outlived the server"


def test_a_new_generation_rolls_out_to_both_ray_serve_replicas_without_a_failed_request(tmp_path: Path) -> None:
    """Ray Serve replicas (tracuu serve --ray ADDRESS --replicas 2) on a head and a worker node on loopback; the
    cluster's close fails the test if any process it started is left."""
    files = _seed_index(tmp_path / "ix")
    with LocalCluster(workers=1) as cluster:
        server = Server(tmp_path / "ix", workers=2, ray=cluster.address, host=HEAD_IP, extra_env=cluster.env)
        try:
            seen = _rollout(server, tmp_path / "ix", files)
        finally:
            server.stop()
        assert server.process.returncode == 0, "the driver did not take the application down on SIGTERM"
        assert len(seen.generations) == 2
