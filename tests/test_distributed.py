"""The build on a Ray cluster: the index one process builds, and a worker node killed in the middle of a build.

The driver's loop runs first against a stand-in for Ray that runs every task in this process, finishing them in a
shuffled order and killing actors on cue, so that a lost actor and a build that fails are exercised the same way
every time. Then on a real cluster, which the module's fixture starts itself — a head on 127.0.0.2 and a worker on
127.0.0.3, 2 CPUs each, each node ``ray start --block`` in a session of its own (:class:`bench.cluster.LocalCluster`)
— and stops by process id, never with ``ray stop``; stopping fails the module when any process the nodes started is
still running. A Ray that cannot start fails these tests, it does not skip them. The builds on the cluster run
``tracuu index build --ray`` in a subprocess, so this process never imports Ray; the tiny encoder keeps them fast.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from bench.cluster import LocalCluster, alive, holding
from bench.generate import load_sources, variant
from index.collection import Collection
from index.distributed import RayOptions, _Build
from index.encoders import Embedder
from index.errors import DistributedBuildError
from service.cli_common import corpus_files
from tests.conftest import DOCUMENTS, REPO_ROOT

pytestmark = pytest.mark.slow
SEEDS = sorted(DOCUMENTS.glob("*.txt"))
VARIANTS = 2  # of each seed document: 15 files and a copy, about 1,800 chunks with the tiny encoder
BUILD_TIMEOUT_S = 240


# A node that stops answering is declared dead after about 5 s rather than Ray's 15 to 30, so the parse tasks it
# held are retried on the head sooner (Ray's config variables, read from the environment every Ray process inherits).
FAST_FAILURE = {"RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "1000",
                "RAY_health_check_failure_threshold": "5"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(workers=1, env=FAST_FAILURE) as running:
        yield running


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds, variants of them (other places, years, figures), a copy of one and an empty file."""
    folder = tmp_path_factory.mktemp("corpus")
    for seed in SEEDS:
        (folder / seed.name).write_bytes(seed.read_bytes())
    for number, source in enumerate(load_sources(SEEDS) * VARIANTS):
        (folder / f"variant-{number:02d}-{source.path.name}").write_text(variant(source, 11, number), encoding="utf-8")
    (folder / "copy-of-the-first.txt").write_bytes(SEEDS[0].read_bytes())  # its passages are encoded once
    (folder / "empty.txt").write_bytes(b"")  # rejected by both builds
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, corpus: Path, embedder: Embedder) -> Path:
    """The same files built by one process, as ``tracuu index build`` without ``--ray`` does."""
    directory = tmp_path_factory.mktemp("single") / "index"
    collection = Collection.open(directory, embedder=embedder)
    report = collection.ingest_paths(corpus_files(corpus))
    assert [r["source"] for r in report.rejected] == ["empty.txt"]
    collection.store.close()
    return directory


def _build(cluster: LocalCluster, corpus: Path, index: Path, model: Path) -> subprocess.Popen[str]:
    env = {**os.environ, **cluster.env, "TRACUU_EMBED_MODEL": str(model)}
    return subprocess.Popen([sys.executable, "-m", "service.cli", "index", "build", "--corpus", str(corpus),
                             "--index", str(index), "--ray", cluster.address, "--json"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(build: subprocess.Popen[str]) -> tuple[int, dict[str, Any], str]:
    out, err = build.communicate(timeout=BUILD_TIMEOUT_S)
    try:
        return build.returncode, json.loads(out) if build.returncode == 0 else {}, err
    except json.JSONDecodeError as exc:
        raise AssertionError(f"not the JSON summary: {out[-2000:]!r}; stderr: {err[-3000:]}") from exc


def _query(index: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"file:{index / 'store.sqlite'}?mode=ro", uri=True)) as db:
        return db.execute(sql).fetchall()


def _rows(index: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a build stores but the time it did so."""
    return {"documents": _query(index, "SELECT id, source, content_hash, text, meta, sections FROM documents "
                                       "ORDER BY id"),
            "chunks": _query(index, 'SELECT rowid, id, document_id, ordinal, section, start, "end", text, header, '
                                    "tokens, lex_tokens FROM chunks ORDER BY rowid"),
            "indicators": _query(index, "SELECT document_id, ordinal, record FROM indicators ORDER BY 1, 2")}


def _stored_vectors(index: Path) -> int:
    try:
        return int(_query(index, "SELECT COUNT(*) FROM embeddings")[0][0])
    except sqlite3.Error:  # not created yet
        return 0


def _vectors(index: Path) -> dict[str, np.ndarray]:
    return {key: np.frombuffer(blob, dtype=np.float32) for key, blob in
            _query(index, "SELECT text_hash, vector FROM embeddings")}


def _assert_same_index(built: Path, reference: Path, embedder: Embedder) -> None:
    """Same documents, chunk ids, texts and offsets, rows and tokens; vectors within 1e-5; same search results."""
    ours, theirs = _rows(built), _rows(reference)
    for table, rows in theirs.items():
        assert ours[table] == rows, f"{table} differ"
    vectors, expected = _vectors(built), _vectors(reference)
    assert vectors.keys() == expected.keys()
    assert max(float(np.abs(vectors[key] - expected[key]).max()) for key in expected) <= 1e-5
    one, other = Collection.open(built, embedder=embedder), Collection.open(reference, embedder=embedder)
    try:
        for query in ("chỉ tiêu hộ nghèo năm 2023", "kế hoạch đầu tư công trung hạn", "xây dựng nông thôn mới"):
            hits = [(h.chunk.id, round(h.score, 4)) for h in one.searcher().search(query, k=10)]
            assert hits == [(h.chunk.id, round(h.score, 4)) for h in other.searcher().search(query, k=10)]
        assert one.manifest()["corpus_fingerprint"] == other.manifest()["corpus_fingerprint"]  # type: ignore[index]
    finally:
        one.store.close()
        other.store.close()


def test_a_build_on_the_cluster_is_the_single_process_build(tmp_path: Path, cluster: LocalCluster, corpus: Path,
                                                             reference: Path, embedder: Embedder,
                                                             tiny_model_dir: Path) -> None:
    code, summary, err = _finish(_build(cluster, corpus, tmp_path / "index", tiny_model_dir))
    assert code == 0, err[-3000:]
    assert summary["cluster"]["nodes"] == 2 and summary["cluster"]["actors"] == 2, summary["cluster"]
    assert [r["source"] for r in summary["rejected"]] == ["empty.txt"]
    assert len(summary["added"]) == len(corpus_files(corpus)) - 1
    assert summary["cluster"]["encoded"] == len(_vectors(reference))  # the copy's passages were encoded once
    _assert_same_index(tmp_path / "index", reference, embedder)


def test_a_worker_node_killed_mid_build(tmp_path: Path, cluster: LocalCluster, corpus: Path, reference: Path,
                                        embedder: Embedder, tiny_model_dir: Path) -> None:
    """Killed once the first batch of vectors is stored: the build finishes on the head or fails in one line; the
    rerun completes it, stores nothing twice and encodes none of the passages already stored."""
    index = tmp_path / "index"
    build = _build(cluster, corpus, index, tiny_model_dir)
    deadline = time.monotonic() + BUILD_TIMEOUT_S
    while build.poll() is None and time.monotonic() < deadline:
        if _stored_vectors(index) > 0:
            break
        time.sleep(0.05)
    assert build.poll() is None, "the build ended before a batch was stored: nothing left to kill it in"
    worker = cluster.workers[0]
    worker.kill()
    code, summary, err = _finish(build)
    assert not alive(worker.started), "the killed node left processes running"
    if code == 0:  # finished on the head, the lost batches sent to its actor
        assert summary["cluster"]["lost_actors"] == 1 and len(summary["added"]) == len(corpus_files(corpus)) - 1
    else:  # a clean failure: one line saying why, and what was stored stays
        assert code == 2 and err.strip().splitlines()[-1].startswith("tracuu: "), err[-3000:]
        assert "Traceback" not in err
    stored = len(_vectors(index))
    code, rerun, err = _finish(_build(cluster, corpus, index, tiny_model_dir))  # on the head alone
    assert code == 0, err[-3000:]
    assert rerun["cluster"]["encoded"] == len(_vectors(index)) - stored  # only what was missing
    _assert_same_index(index, reference, embedder)


class _FakeRay:
    """Ray's API as the driver uses it, run in this process: a task or actor call runs when its result is fetched,
    and :meth:`wait` hands back a random one of those pending; actor ``i`` dies on its ``die_after[i]``-th encode
    call (its node killed in the middle of the batch), and every call to it fails from then on."""

    class exceptions:  # noqa: N801 - the module's name in Ray
        class RayError(Exception):
            pass

        class RayTaskError(RayError):
            pass

    util = SimpleNamespace(scheduling_strategies=SimpleNamespace(
        NodeAffinitySchedulingStrategy=lambda node, soft: node))

    def __init__(self, nodes: int, die_after: dict[int, int] | None = None, seed: int = 0) -> None:
        self.node_list = [{"Alive": True, "Resources": {"CPU": 2.0}, "NodeID": f"node-{i}"} for i in range(nodes)]
        self.die_after, self.rng, self.started = die_after or {}, random.Random(seed), 0

    def nodes(self) -> list[dict[str, Any]]:
        return self.node_list

    def remote(self, target: Any) -> Any:
        if isinstance(target, type):
            def start(*args: Any) -> _FakeActor:
                self.started += 1
                return _FakeActor(self, target(*args), self.die_after.get(self.started - 1))

            return SimpleNamespace(options=lambda **_: SimpleNamespace(remote=start))
        return SimpleNamespace(remote=lambda *args: (lambda: target(*args)))

    def wait(self, refs: list[Any], num_returns: int = 1, timeout: float | None = None) -> tuple[list[Any], list[Any]]:
        if num_returns >= len(refs):
            return list(refs), []
        pick = self.rng.choice(refs)
        return [pick], [ref for ref in refs if ref is not pick]

    def get(self, ref: Any) -> Any:
        return ref()

    def kill(self, actor: _FakeActor) -> None:
        actor.dead = True


class _FakeActor:
    def __init__(self, ray: _FakeRay, instance: Any, die_after: int | None) -> None:
        self.ray, self.instance, self.die_after, self.dead, self.calls = ray, instance, die_after, False, 0
        self.ready = SimpleNamespace(remote=lambda: (lambda: self.call("ready")))
        self.encode = SimpleNamespace(remote=lambda texts: (lambda: self.call("encode", texts)))

    def call(self, name: str, *args: Any) -> Any:
        if name == "encode":
            self.calls += 1
            self.dead = self.dead or self.calls == self.die_after
        if self.dead:
            raise _FakeRay.exceptions.RayError("The actor died: its node was killed")
        return getattr(self.instance, name)(*args)


def _build_with(fake: _FakeRay, index: Path, corpus: Path, embedder: Embedder) -> Any:
    collection = Collection.open(index, embedder=embedder)
    options = RayOptions(encode_batch=32, write_chunks=300)
    try:
        return _Build(collection.writer, options, ray=fake).run(corpus_files(corpus))
    finally:
        collection.store.close()


def test_the_driver_loop_builds_what_one_process_builds_when_an_actor_is_lost(
        tmp_path: Path, corpus: Path, reference: Path, embedder: Embedder) -> None:
    """Tasks finishing in any order, an actor lost with its batches: the same store, rows and vectors."""
    report = _build_with(_FakeRay(nodes=2, die_after={0: 4}), tmp_path / "index", corpus, embedder)
    assert report.actors == 2 and report.lost_actors == 1
    assert [r["source"] for r in report.rejected] == ["empty.txt"]
    _assert_same_index(tmp_path / "index", reference, embedder)


def test_a_build_that_loses_every_actor_fails_cleanly_and_a_rerun_completes_it(
        tmp_path: Path, corpus: Path, reference: Path, embedder: Embedder) -> None:
    index = tmp_path / "index"
    with pytest.raises(DistributedBuildError, match="every encoder actor is gone"):
        _build_with(_FakeRay(nodes=1, die_after={0: 40}), index, corpus, embedder)
    documents, stored = len(_rows(index)["documents"]), len(_vectors(index))
    assert 0 < documents < len(_rows(reference)["documents"])  # what was complete went in before the failure
    assert 0 < stored < len(_vectors(reference))
    rerun = _build_with(_FakeRay(nodes=1), index, corpus, embedder)
    assert rerun.encoded == len(_vectors(index)) - stored  # nothing stored was encoded again
    assert len(rerun.unchanged) == documents
    _assert_same_index(index, reference, embedder)


def test_a_local_cluster_builds_what_one_process_builds_and_leaves_nothing_running(tmp_path: Path) -> None:
    """``--ray local``, lexical-only: Ray started inside the command and gone with it (every process it started
    inherits the token given here, and none is left once the command has returned)."""
    token = secrets.token_hex(16)
    env = {**os.environ, "TRACUU_EMBED_MODEL": "none", "RAY_AUTH_TOKEN": token}
    done = subprocess.run([sys.executable, "-m", "service.cli", "index", "build", "--corpus", str(DOCUMENTS),
                           "--index", str(tmp_path / "ray"), "--ray", "local", "--json"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["cluster"]["nodes"] == 1
    deadline = time.monotonic() + 20
    while holding("RAY_AUTH_TOKEN", token) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not holding("RAY_AUTH_TOKEN", token), "Ray processes outlived the command"
    single = Collection.open(tmp_path / "single")
    single.ingest_paths(SEEDS)
    single.store.close()
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "single")


def test_ray_is_imported_only_by_a_build_on_ray() -> None:
    code = "import sys, index.distributed, service.cli; sys.exit('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, timeout=120).returncode == 0
