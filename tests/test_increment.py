"""Incremental writes: segments, tombstones and merges score exactly as a full rebuild; generations stay crash-safe.

The definition tested here: after any sequence of adds and removes, every query's BM25 scores equal, bit for bit,
those of one index built over the live rows (so within 1e-6, with the same ranking), because N, the average
length and each token's document frequency are summed over the live rows of every segment at query time. The
collection-level test checks the same of what a server serves: chunks, scores, rankings, the diacritic
restorer and the indicator records, against ``Collection.rebuild`` over the same store.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import increment as increment_module
from index import lexical as lexical_module
from index.collection import Collection
from index.increment import RestorerSample
from index.lexical import LEXICAL_FORMAT, LexicalIndex, MergePolicy
from index.restore import DiacriticRestorer
from index.search import Searcher
from index.textnorm import query_tokens
from index.vectors import IVF_DRIFT, VectorIndex
from index.writer import Writer
from tests.conftest import DOCUMENTS
from tests.test_collection import assert_consistent

TOKENS = ["hộ", "nghèo", "tỷ_lệ", "~ho", "3,7", "%", "bình", "lục", "năm", "2023", "huyện"]
TIGHT = MergePolicy(max_segments=2, delta_share=0.5, dead_share=0.3)  # merges after almost every write
POLICIES = st.sampled_from([MergePolicy(), TIGHT, MergePolicy(max_segments=3, delta_share=100.0, dead_share=1.0)])


def _assert_scores_equal(index: LexicalIndex, reference: LexicalIndex, queries: list[list[str]]) -> None:
    assert index.size == reference.size
    assert np.array_equal(index.rowids, reference.rowids)
    for query in queries:
        assert np.array_equal(index.scores(query), reference.scores(query)), query


# -- the lexical index alone --------------------------------------------------


operations = st.lists(st.one_of(
    st.tuples(st.just("add"), st.lists(st.lists(st.sampled_from(TOKENS), max_size=12), min_size=1, max_size=6)),
    st.tuples(st.just("remove"), st.lists(st.integers(0, 10_000), min_size=1, max_size=4)),
), min_size=1, max_size=10)


@settings(max_examples=80, deadline=None)
@given(operations, POLICIES)
def test_any_adds_and_removes_score_as_one_build_over_the_live_rows(ops: list[tuple[str, list]],
                                                                   policy: MergePolicy) -> None:
    index, rows, next_rowid = LexicalIndex(), {}, 1
    for kind, payload in ops:
        if kind == "add":
            ids = list(range(next_rowid, next_rowid + len(payload)))
            next_rowid += len(payload) + 3  # row ids leave gaps, as deleted SQLite rows do
            rows.update(zip(ids, payload, strict=True))
            index = index.updated([], ids, payload, policy)
        else:
            live = sorted(rows)
            gone = sorted({live[i % len(live)] for i in payload}) if live else []
            for rowid in gone:
                del rows[rowid]
            index = index.updated(gone, [], [], policy)
        live = sorted(rows)
        reference = LexicalIndex.build([rows[r] for r in live], live)
        _assert_scores_equal(index, reference, [[t] for t in TOKENS] + [TOKENS, ["năm", "năm", "hộ"], ["khác"]])
        assert all(index.document_frequency(t) == reference.document_frequency(t) for t in TOKENS)
        assert len(index.segments) <= max(policy.max_segments, 1)


def test_the_policy_merges_deltas_when_they_are_many_and_everything_when_they_are_large() -> None:
    policy = MergePolicy(max_segments=3, delta_share=0.25, dead_share=0.2)
    assert policy.plan([100], 0) == "none"
    assert policy.plan([100, 5, 5], 0) == "none"
    assert policy.plan([100, 5, 5, 5], 0) == "deltas"  # four segments: the deltas become one
    assert policy.plan([100, 20, 6], 0) == "all"  # deltas past a quarter of the base
    assert policy.plan([100, 5], 22) == "all"  # a fifth of the rows dead
    assert policy.plan([], 0) == "none"


def test_a_saved_index_reloads_and_reuses_its_segment_files(tmp_path: Path) -> None:
    first = LexicalIndex.build([["hộ", "nghèo"], ["bình", "lục"], []], [1, 2, 3])
    first.save(tmp_path / "one")
    second = first.updated([2], [4], [["hộ", "năm"]], MergePolicy(max_segments=4, delta_share=1.0, dead_share=1.0))
    second.save(tmp_path / "two", link_from=tmp_path / "one")
    base = first.segments[0].name
    assert (tmp_path / "two" / base / "rows.npy").stat().st_ino == (tmp_path / "one" / base / "rows.npy").stat().st_ino
    described = json.loads((tmp_path / "two" / "segments.json").read_text(encoding="utf-8"))
    assert described["format"] == LEXICAL_FORMAT and described["tombstones"] == 1 and described["rows"] == 3
    assert [s["rows"] for s in described["segments"]] == [3, 1]
    loaded = LexicalIndex.load(tmp_path / "two")
    _assert_scores_equal(loaded, LexicalIndex.build([["hộ", "nghèo"], [], ["hộ", "năm"]], [1, 3, 4]),
                         [["hộ"], ["năm", "lục"]])


def test_an_added_row_before_the_last_indexed_one_is_refused() -> None:
    index = LexicalIndex.build([["hộ"], ["nghèo"]], [5, 9])
    with pytest.raises(ValueError, match="added row 7 is not after the last indexed row 9"):
        index.updated([], [7], [["năm"]])


# -- diacritics and vectors ---------------------------------------------------

LINES = [line for path in sorted(DOCUMENTS.glob("*.txt")) for line in path.read_text(encoding="utf-8").splitlines()
         if len(line) > 20][:120]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=20), st.lists(st.sampled_from(LINES), max_size=8), st.data())
def test_the_restorer_updated_equals_one_learnt_from_scratch(base: list[str], added: list[str],
                                                            data: st.DataObject) -> None:
    removed = data.draw(st.lists(st.sampled_from(base), max_size=len(base), unique=True)) if base else []
    kept = list(base)
    for text in removed:
        kept.remove(text)
    updated = DiacriticRestorer.from_texts(base).updated(added, removed)
    assert updated.to_json() == DiacriticRestorer.from_texts(kept + added).to_json()
    assert updated.restore("chi tieu ho ngheo") == DiacriticRestorer.from_texts(kept + added).restore(
        "chi tieu ho ngheo")


def test_the_restorer_sample_depends_on_each_chunk_alone() -> None:
    assert RestorerSample.for_chars(3_000_000).step == 1
    assert RestorerSample.for_chars(3_000_001).step == 2
    assert RestorerSample.for_chars(40_000_000).step == 16
    sample = RestorerSample.for_chars(40_000_000)
    ids = [f"{i:020x}" for i in range(4000)]
    taken = [i for i in ids if sample.takes(i)]
    assert 150 < len(taken) < 350 and taken == [i for i in ids if sample.takes(i)]


def _unit(rows: int, dimension: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_flat_index_updated_in_place_equals_a_rebuild() -> None:
    vectors, ids = _unit(260, 16, 0), np.arange(1, 261, dtype=np.int64) * 2
    removed = ids[[3, 40, 199]]
    updated = VectorIndex.build(ids[:200], vectors[:200], 16).updated(removed, ids[200:], vectors[200:])
    keep = ~np.isin(ids, removed)
    rebuilt = VectorIndex.build(ids[keep], vectors[keep], 16)
    assert updated is not None and updated.kind == "flat-ip"
    import faiss

    assert np.array_equal(faiss.vector_to_array(updated.index.id_map), ids[keep])
    assert updated.search(vectors[:8], 10) == rebuilt.search(vectors[:8], 10)


def test_hnsw_losing_vectors_and_ivf_past_its_drift_are_rebuilt_not_updated() -> None:
    vectors, ids = _unit(300, 8, 1), np.arange(300, dtype=np.int64)
    hnsw = VectorIndex.build(ids[:200], vectors[:200], 8, kind="hnsw-m32")
    assert hnsw.updated(ids[:1], ids[200:201], vectors[200:201]) is None  # not the default kind, and a removal
    count = 40_000  # the smallest count whose default kind is IVF
    many, many_ids = _unit(count + 400, 8, 2), np.arange(count + 400, dtype=np.int64)
    ivf = VectorIndex.build(many_ids[:count], many[:count], 8)
    assert ivf.kind == "ivf-fp16" and ivf.trained_count == count
    within = ivf.updated(many_ids[:5], many_ids[count:], many[count:])
    assert within is not None and within.size == count + 395 and within.trained_count == count
    assert within.search(many[count : count + 1], 1)[0][0][0] == count  # an added vector is found
    drifted = int(count * IVF_DRIFT) + 1
    assert ivf.updated(many_ids[:drifted], many_ids[:0], many[:0]) is None


# -- a collection ---------------------------------------------------------------

HEAD = ["HỘI ĐỒNG NHÂN DÂN HUYỆN BÌNH LỤC", "Số: {n}/NQ-HĐND", "NGHỊ QUYẾT",
        "Về nhiệm vụ phát triển kinh tế - xã hội năm {year}"]


def document(n: int, version: int) -> bytes:
    """A short resolution made of real lines of the sample documents; its two versions differ in lines and year."""
    start = (n * 7 + version * 31) % (len(LINES) - 8)
    lines = [h.format(n=n + 10, year=2022 + version) for h in HEAD] + [
        f"{i}. {line}" for i, line in enumerate(LINES[start : start + 4 + n % 3], 1)]
    return "\n".join(lines).encode("utf-8")


QUERIES = ["chỉ tiêu hộ nghèo năm 2023", "chi tieu ho ngheo", "phát triển kinh tế xã hội", "Nghị quyết 12/NQ-HĐND"]


def _served(searcher: Searcher) -> dict[str, object]:
    """Everything a served snapshot answers from, in comparable form."""
    tokens = [query_tokens(q, searcher.options.tokenizer) for q in QUERIES]
    return {"chunks": [c.id for c in searcher.chunks],
            "documents": [(d.id, d.content_hash) for d in searcher.documents],
            "scores": [searcher.lexical.scores(t).tolist() for t in tokens],
            "hits": [[(h.chunk.id, round(h.score, 9)) for h in searcher.search(q, k=10)] for q in QUERIES],
            "restorer": searcher.restorer.to_json() if searcher.restorer else None,
            "indicators": list(searcher.indicator_records)}


collection_ops = st.lists(st.one_of(st.tuples(st.just("add"), st.integers(0, 7), st.integers(0, 1)),
                                    st.tuples(st.just("remove"), st.integers(0, 7), st.just(0))),
                          min_size=1, max_size=7)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(collection_ops, POLICIES)
def test_a_collection_written_incrementally_serves_what_a_full_rebuild_serves(ops: list[tuple[str, int, int]],
                                                                             policy: MergePolicy) -> None:
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(lexical_module, "DEFAULT_POLICY", policy):
        collection = Collection.open(Path(tmp) / "ix")
        collection.searcher()
        with mock.patch.object(Writer, "rebuild_locked", side_effect=AssertionError("a write rebuilt in full")):
            for kind, n, version in ops:
                if kind == "add":
                    collection.ingest([(f"nghi-quyet-{n}.txt", document(n, version))])
                else:
                    collection.remove([d.id for d in collection.store.documents() if d.source == f"nghi-quyet-{n}.txt"])
        incremental = _served(collection.searcher())
        reopened = Collection.open(Path(tmp) / "ix")  # another process: reads the generation from its files
        assert _served(reopened.searcher()) == incremental
        reopened.store.close()
        collection.rebuild()
        assert _served(collection.searcher()) == incremental
        collection.store.close()


class Crash(BaseException):
    """A process dying mid-write: nothing catches it."""


def test_a_crash_during_the_incremental_write_leaves_the_old_generation_live(tmp_path: Path) -> None:
    collection = Collection.open(tmp_path / "ix")
    collection.ingest([("a.txt", document(1, 0)), ("b.txt", document(2, 0))])
    before = (tmp_path / "ix" / "CURRENT").read_text()
    with mock.patch.object(LexicalIndex, "save", side_effect=Crash), pytest.raises(Crash):
        collection.ingest([("c.txt", document(3, 0))])
    assert (tmp_path / "ix" / "CURRENT").read_text() == before  # the store is ahead; the old generation serves
    collection.store.close()
    state = assert_consistent(tmp_path / "ix")  # reopening rebuilds from the store
    assert {"a.txt", "b.txt", "c.txt"} == set(state.documents)
    assert not list((tmp_path / "ix").glob("staging-*"))


def test_a_failed_increment_falls_back_to_a_full_rebuild(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    collection = Collection.open(tmp_path / "ix")
    collection.ingest([("a.txt", document(1, 0))])
    with mock.patch.object(increment_module, "_update_restorer", side_effect=ValueError("broken")):
        collection.ingest([("b.txt", document(2, 0))])
    assert "rebuilding the derived indexes in full" in caplog.text
    assert len(collection.searcher().lexical.segments) == 1  # rebuilt: one base segment
    collection.store.close()
    assert set(assert_consistent(tmp_path / "ix").documents) == {"a.txt", "b.txt"}


def test_an_index_of_the_older_layout_is_rebuilt_when_opened(tmp_path: Path) -> None:
    collection = Collection.open(tmp_path / "ix")
    collection.ingest([("a.txt", document(1, 0))])
    collection.store.close()
    live = tmp_path / "ix" / (tmp_path / "ix" / "CURRENT").read_text()
    manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    manifest["lexical"] = {"library": "bm25s", "method": "lucene", "k1": 1.2, "b": 0.75}
    (live / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (live / "lexical" / "segments.json").unlink()
    reopened = Collection.open(tmp_path / "ix")
    assert reopened.manifest()["lexical"]["format"] == LEXICAL_FORMAT  # type: ignore[index]
    assert reopened.searcher().search("phát triển kinh tế xã hội")
    reopened.store.close()


def test_each_write_links_the_unchanged_base_and_writes_only_its_delta(tmp_path: Path) -> None:
    collection = Collection.open(tmp_path / "ix")
    collection.ingest([("a.txt", document(1, 0)), ("b.txt", document(2, 0))])
    old = tmp_path / "ix" / (tmp_path / "ix" / "CURRENT").read_text()
    with mock.patch.object(lexical_module, "DEFAULT_POLICY", MergePolicy(delta_share=10.0)):  # a small base
        collection.ingest([("c.txt", document(3, 0))])
    new = tmp_path / "ix" / (tmp_path / "ix" / "CURRENT").read_text()
    base = json.loads((old / "lexical" / "segments.json").read_text(encoding="utf-8"))["segments"][0]["name"]
    segments = json.loads((new / "lexical" / "segments.json").read_text(encoding="utf-8"))["segments"]
    assert segments[0]["name"] == base and len(segments) == 2
    for file in (old / "lexical" / base).iterdir():
        assert os.path.samefile(file, new / "lexical" / base / file.name)
    assert json.loads((new / "manifest.json").read_text(encoding="utf-8"))["restorer"]["step"] == 1
    collection.store.close()


@pytest.mark.slow  # loads the tiny test encoder
def test_vectors_are_added_in_place_and_match_a_rebuild(tmp_path: Path, tiny_model_dir: Path) -> None:
    from index.encoders import load_embedder

    embedder, status = load_embedder(str(tiny_model_dir))
    assert embedder is not None, status
    collection = Collection.open(tmp_path / "ix", embedder=embedder, dense_status=status)
    collection.ingest([("a.txt", document(1, 0)), ("b.txt", document(2, 0))])
    collection.searcher()
    with mock.patch.object(Writer, "rebuild_locked", side_effect=AssertionError("a write rebuilt in full")):
        collection.ingest([("c.txt", document(3, 0)), ("b.txt", document(2, 1))])
    served = collection.searcher()
    dense = [[(h.chunk.id, round(h.score, 5)) for h in served.search(q, k=5, mode="dense")] for q in QUERIES]
    collection.rebuild()
    again = collection.searcher()
    assert dense == [[(h.chunk.id, round(h.score, 5)) for h in again.search(q, k=5, mode="dense")] for q in QUERIES]
    collection.store.close()
    assert_consistent(tmp_path / "ix", embedder)  # FAISS ids are the stored rows, in row order
