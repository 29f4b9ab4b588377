"""The dense leg, run for real on a tiny model the tests build: encoding, FAISS, persistence, fusion."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from index.collection import Collection
from index.encoders import load_embedder
from index.encoders.sbert import default_prompts
from index.errors import IndexMismatch, SearchError
from index.search import fuse_rrf
from index.vectors import EXACT_LIMIT, VECTOR_KINDS, VectorIndex
from tests.conftest import DOCUMENTS


def test_unloadable_model_means_lexical_only_with_a_reason() -> None:
    embedder, status = load_embedder("intfloat/multilingual-e5-small-not-installed")
    assert embedder is None
    assert status["status"] == "unavailable"
    assert "could not be loaded" in status["reason"]


def test_prompts_follow_the_model() -> None:
    assert default_prompts("intfloat/multilingual-e5-small", {}) == ("query: ", "passage: ")
    assert default_prompts("BAAI/bge-m3", {}) == ("", "")
    assert default_prompts("any", {"query": "q: ", "document": "d: "}) == ("q: ", "d: ")


def test_tiny_model_encodes_normalised_vectors(tiny_model_dir: Path) -> None:
    embedder, status = load_embedder(str(tiny_model_dir))
    assert embedder is not None and status["status"] == "ok"
    vectors = embedder.encode_passages(["Tỷ lệ hộ nghèo giảm còn 3,7%.", "Thu ngân sách nhà nước"])
    assert vectors.shape == (2, embedder.info.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # the query prompt is applied: the same text encodes differently as a query and as a passage
    query = embedder.encode_queries(["Tỷ lệ hộ nghèo giảm còn 3,7%."])
    assert not np.allclose(query[0], vectors[0])


def test_vector_index_drops_padding_and_caps_k() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.build(np.array([10, 11, 12, 13, 14]), vectors, 8)
    found = index.search(vectors[:1], k=50)[0]
    assert len(found) == 5 and found[0][0] == 10
    assert all(i != -1 for i, _ in found)
    only = index.search(vectors[:1], k=3, allowed_ids=np.array([12, 14]))[0]
    assert {i for i, _ in only} == {12, 14}
    assert index.search(vectors[:1], k=3, allowed_ids=np.array([], dtype=np.int64)) == [[]]


def test_flat_index_matches_exact_numpy_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(200, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.build(np.arange(200), vectors, 16)
    index.save(tmp_path / "v")
    loaded = VectorIndex.load(tmp_path / "v")
    query = vectors[7:8] * 0.5 + vectors[9:10] * 0.5
    expected = np.argsort(-(vectors @ query[0]))[:10]
    assert [i for i, _ in loaded.search(query, 10)[0]] == list(expected)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def easy_vectors() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4,000 random 32-d unit vectors under sparse, non-contiguous ids, and queries that are 20 of them nudged.

    Random directions in 32 dimensions are far apart, so each query's nearest vector is unambiguous even
    through 8-bit codes; 4,000 vectors give IVF 100 lists, of which it probes 16, so the approximate path runs.
    """
    rng = np.random.default_rng(7)
    vectors = _unit(rng.normal(size=(4000, 32)))
    ids = 1000 + 3 * np.arange(4000, dtype=np.int64)
    queries = _unit(vectors[rng.choice(4000, size=20, replace=False)] + 0.05 * rng.normal(size=(20, 32)))
    return ids, vectors, queries


@pytest.mark.parametrize("kind", VECTOR_KINDS)
def test_every_kind_finds_the_exact_nearest_vector(kind: str,
                                                   easy_vectors: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    ids, vectors, queries = easy_vectors
    index = VectorIndex.build(ids, vectors, 32, kind=kind)
    assert index.kind == kind and index.size == 4000
    if kind.startswith("ivf"):
        assert index.settings == {"nlist": 100, "nprobe": 16}
    found = index.search(queries, 10)
    expected = ids[np.argmax(queries @ vectors.T, axis=1)]
    assert [row[0][0] for row in found] == list(expected)
    assert all(len(row) == 10 for row in found)


@pytest.mark.parametrize("kind", VECTOR_KINDS)
def test_every_kind_honours_the_allowed_ids(kind: str,
                                            easy_vectors: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    ids, vectors, queries = easy_vectors
    index = VectorIndex.build(ids, vectors, 32, kind=kind)
    allowed = np.sort(np.random.default_rng(3).choice(ids, size=200, replace=False))  # 5%: IVF probes every list
    found = index.search(queries, 5, allowed_ids=allowed)
    scores = queries @ vectors[np.isin(ids, allowed)].T
    for row, best in zip(found, allowed[np.argmax(scores, axis=1)], strict=True):
        assert len(row) == 5 and set(i for i, _ in row) <= set(allowed.tolist())
        assert row[0][0] == best
    assert index.search(queries[:1], 5, allowed_ids=np.array([ids[42]])) == [[(int(ids[42]), pytest.approx(
        float(queries[0] @ vectors[42]), abs=0.02))]]


@pytest.mark.parametrize("kind", VECTOR_KINDS)
def test_every_kind_survives_save_and_load(kind: str, tmp_path: Path,
                                           easy_vectors: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    ids, vectors, queries = easy_vectors
    index = VectorIndex.build(ids, vectors, 32, kind=kind)
    index.save(tmp_path / "v")
    loaded = VectorIndex.load(tmp_path / "v")
    assert (loaded.kind, loaded.size, loaded.settings) == (kind, 4000, index.settings)
    assert loaded.search(queries, 10) == index.search(queries, 10)
    allowed = ids[::7]
    assert loaded.search(queries, 3, allowed) == index.search(queries, 3, allowed)


def test_default_kind_follows_size_and_memory() -> None:
    assert VectorIndex.default_kind(EXACT_LIMIT - 1, 384) == "flat-ip"
    assert VectorIndex.default_kind(EXACT_LIMIT, 384) == "ivf-fp16"
    assert VectorIndex.default_kind(1_000_000, 384) == "ivf-fp16"  # 768 MB of fp16 codes
    assert VectorIndex.default_kind(1_400_000, 384) == "ivf-sq8"  # fp16 would pass 1 GB
    assert VectorIndex.default_kind(1_000, 384, exact_limit=500, memory_budget=100_000) == "ivf-sq8"
    assert VectorIndex.ivf_lists(1_000_000) == 1024 and VectorIndex.ivf_lists(100_000) == 512
    assert VectorIndex.ivf_lists(10) == 1


def test_unknown_or_untrainable_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown vector index kind 'ivf-pq'"):
        VectorIndex.build(np.arange(3), np.eye(3, dtype=np.float32), 3, kind="ivf-pq")
    with pytest.raises(ValueError, match="use flat-ip"):
        VectorIndex.build(np.zeros(0, dtype=np.int64), np.zeros((0, 3), dtype=np.float32), 3, kind="ivf-sq8")
    assert VectorIndex.build(np.zeros(0, dtype=np.int64), np.zeros((0, 3)), 3).kind == "flat-ip"


def test_rrf_with_an_empty_leg_keeps_the_other_ranking() -> None:
    alone = fuse_rrf({"lexical": [3, 1, 2]}, {"lexical": 1.0})
    with_empty = fuse_rrf({"lexical": [3, 1, 2], "dense": []}, {"lexical": 1.0, "dense": 1.0})
    assert alone == with_empty
    assert sorted(alone, key=alone.__getitem__, reverse=True) == [3, 1, 2]


def test_rrf_weights_and_agreement() -> None:
    fused = fuse_rrf({"lexical": [1, 2], "dense": [2, 3]}, {"lexical": 1.0, "dense": 1.0}, k=60)
    assert max(fused, key=fused.__getitem__) == 2  # found by both legs
    assert fused[2] == pytest.approx(1 / 62 + 1 / 61)
    default = fuse_rrf({"lexical": [1, 2], "dense": [2, 3]}, {"lexical": 1.0, "dense": 0.5})  # RRF_K = 10
    assert default[2] == pytest.approx(1 / 12 + 0.5 / 11)


@pytest.fixture(scope="module")
def dense_index(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    embedder, _ = load_embedder(str(tiny_model_dir))
    directory = tmp_path_factory.mktemp("dense-index")
    collection = Collection.open(directory, embedder=embedder)
    collection.ingest_paths(sorted(DOCUMENTS.glob("*.txt")))
    collection.store.close()
    return directory


def test_hybrid_search_uses_both_legs_and_persists(dense_index: Path, tiny_model_dir: Path) -> None:
    embedder, status = load_embedder(str(tiny_model_dir))
    collection = Collection.open(dense_index, embedder=embedder, dense_status=status)
    manifest = collection.manifest()
    assert manifest is not None and manifest["dense"]["model"] == str(tiny_model_dir)
    assert manifest["chunking"]["token_counter"] == f"tokenizer:{tiny_model_dir}"
    searcher = collection.searcher()
    dense_hits = searcher.search("chỉ tiêu hộ nghèo 2023 của Bình Lục", k=5, mode="dense")
    assert len(dense_hits) == 5 and all(h.legs == ("dense",) for h in dense_hits)
    hybrid = searcher.search("chỉ tiêu hộ nghèo 2023 của Bình Lục", k=20, mode="hybrid")
    assert any("dense" in h.legs for h in hybrid) and any("lexical" in h.legs for h in hybrid)
    filtered = searcher.search("hộ nghèo", k=10, mode="dense", filters=_filters(locality="Vĩnh Bảo"))
    assert filtered and {h.document.meta.locality for h in filtered} == {"Vĩnh Bảo"}


def test_chunks_fit_the_model_window(dense_index: Path, tiny_model_dir: Path) -> None:
    embedder, _ = load_embedder(str(tiny_model_dir))
    assert embedder is not None
    collection = Collection.open(dense_index, embedder=embedder)
    chunks = collection.searcher().chunks
    assert chunks
    for chunk in chunks:
        assert embedder.count_tokens(chunk.text) <= embedder.info.max_seq_length - 64


def test_dense_mode_without_model_is_a_clear_error(dense_index: Path) -> None:
    with pytest.raises(IndexMismatch, match="rebuild"):
        Collection.open(dense_index)  # built with the model's tokenizer, opened without it
    lexical_only = Collection.open(Path(str(dense_index) + "-lex"))
    with pytest.raises(SearchError, match="unavailable"):
        lexical_only.searcher().search("hộ nghèo", mode="dense")


def test_opening_with_another_model_says_how_to_rebuild(dense_index: Path, tiny_model_dir: Path,
                                                        tmp_path: Path) -> None:
    other_dir = tmp_path / "other-model"
    shutil.copytree(tiny_model_dir, other_dir)
    embedder, _ = load_embedder(str(other_dir))
    copy = tmp_path / "index"
    shutil.copytree(dense_index, copy)
    with pytest.raises(IndexMismatch, match="--rebuild"):
        Collection.open(copy, embedder=embedder)


def _filters(**kwargs: str):
    from index.filters import Filters as SearchFilters

    return SearchFilters(**kwargs)
