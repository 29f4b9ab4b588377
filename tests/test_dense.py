"""The dense leg, run for real on a tiny model the tests build: encoding, FAISS, persistence, fusion."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from index.collection import Collection
from index.dense import VectorIndex, default_prompts, load_embedder
from index.errors import IndexMismatch, SearchError
from index.search import fuse_rrf
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


def test_rrf_with_an_empty_leg_keeps_the_other_ranking() -> None:
    alone = fuse_rrf({"lexical": [3, 1, 2]}, {"lexical": 1.0})
    with_empty = fuse_rrf({"lexical": [3, 1, 2], "dense": []}, {"lexical": 1.0, "dense": 1.0})
    assert alone == with_empty
    assert sorted(alone, key=alone.__getitem__, reverse=True) == [3, 1, 2]


def test_rrf_weights_and_agreement() -> None:
    fused = fuse_rrf({"lexical": [1, 2], "dense": [2, 3]}, {"lexical": 1.0, "dense": 1.0})
    assert max(fused, key=fused.__getitem__) == 2  # found by both legs
    assert fused[2] == pytest.approx(1 / 62 + 1 / 61)


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
    from index.search import SearchFilters

    return SearchFilters(**kwargs)
