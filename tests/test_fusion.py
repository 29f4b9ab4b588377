"""Fusion and collapse: properties that hold for any rankings (hypothesis), and the per-query leg weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus.models import Chunk, DocumentMeta
from index.query import parse_query
from index.search import SearchHit, SearchOptions, collapse_by_document, fuse_rrf, leg_weights
from index.store import StoredDocument

rankings = st.lists(st.integers(0, 60), unique=True, max_size=30)


def _order(fused: dict[int, float]) -> list[int]:
    return sorted((row for row, score in fused.items() if score > 0), key=lambda row: -fused[row])


@given(rankings, rankings, st.integers(1, 100))
def test_a_leg_weighted_zero_leaves_the_other_leg_as_it_was(lexical: list[int], dense: list[int], k: int) -> None:
    assert _order(fuse_rrf({"lexical": lexical, "dense": dense}, {"lexical": 1.0, "dense": 0.0}, k)) == lexical
    assert _order(fuse_rrf({"lexical": lexical, "dense": dense}, {"lexical": 0.0, "dense": 1.0}, k)) == dense


@given(rankings, st.integers(1, 100), st.floats(0.1, 3.0))
def test_agreeing_legs_keep_their_order_and_an_empty_leg_changes_nothing(ranking: list[int], k: int,
                                                                         weight: float) -> None:
    both = fuse_rrf({"lexical": ranking, "dense": ranking}, {"lexical": 1.0, "dense": weight}, k)
    assert _order(both) == ranking
    alone = fuse_rrf({"lexical": ranking}, {"lexical": 1.0}, k)
    assert fuse_rrf({"lexical": ranking, "dense": []}, {"lexical": 1.0, "dense": weight}, k) == alone


@given(rankings, rankings)
def test_fusion_is_deterministic_and_ties_keep_first_seen_order(lexical: list[int], dense: list[int]) -> None:
    fused = fuse_rrf({"lexical": lexical, "dense": dense}, {"lexical": 1.0, "dense": 1.0})
    assert list(fused) == list(dict.fromkeys(lexical + dense))  # insertion order: the stable tie-break
    assert fused == fuse_rrf({"lexical": lexical, "dense": dense}, {"lexical": 1.0, "dense": 1.0})


def _hit(document: str, ordinal: int) -> SearchHit:
    chunk = Chunk(id=f"{document}-{ordinal}", document_id=document, ordinal=ordinal, section="", start=0, end=1,
                  text="x", header="", tokens=1)
    return SearchHit(chunk, StoredDocument(document, f"{document}.txt", "h", DocumentMeta(), ""), 1.0, ("lexical",))


@given(st.lists(st.sampled_from("abcdefg"), max_size=40), st.integers(1, 10))
def test_collapse_keeps_each_documents_best_passage_in_rank_order(documents: list[str], k: int) -> None:
    hits = [_hit(doc, i) for i, doc in enumerate(documents)]
    collapsed = collapse_by_document(hits, k)
    expected = list(dict.fromkeys(documents))[:k]
    assert [h.document.id for h in collapsed] == expected
    for hit in collapsed:
        assert hit.chunk.ordinal == documents.index(hit.document.id)  # its best (first-ranked) passage
        assert hit.more_in_document == documents.count(hit.document.id) - 1


def test_leg_weights_follow_what_the_query_is() -> None:
    options = SearchOptions()
    accented = parse_query("chỉ tiêu hộ nghèo năm 2023 của Bình Lục")
    assert leg_weights(accented, options) == {"lexical": 1.0, "dense": options.dense_weight}
    unaccented = replace(parse_query("chi tieu ho ngheo nam 2023"), known_share=1.0)
    english = replace(parse_query("What is the poverty rate target?"), known_share=0.2)
    assert leg_weights(unaccented, options)["dense"] < options.dense_weight < leg_weights(english, options)["dense"]
    fixed = replace(options, adaptive=False)
    assert leg_weights(unaccented, fixed) == leg_weights(english, fixed) == leg_weights(accented, fixed)


def test_a_pasted_passage_leans_on_the_lexical_leg() -> None:
    """/similar starts from a whole passage: measured, the encoder adds less there than BM25 over its words."""
    options = SearchOptions()
    passage = parse_query(" ".join(["Tăng cường công tác thu gom, phân loại rác thải sinh hoạt tại nguồn"] * 3))
    assert leg_weights(passage, options)["dense"] == options.dense_weight * options.passage_dense_factor
    assert leg_weights(passage, options)["dense"] < options.dense_weight


def test_a_collapsed_search_puts_documents_holding_the_rare_term_first(sample_index: Path) -> None:
    """Which places decided "tổ chức diễn tập khu vực phòng thủ": passages holding its rarest compound
    ("diễn tập", in 3 of 291 passages) score 1.5 times as much; a query without a rare term and a pasted
    passage keep their order."""
    from index.collapse import LIFT, holds, lift_specific, rarest_term
    from index.collection import Collection

    collection = Collection.open(sample_index)
    try:
        searcher = collection.searcher()
        lexical, options = searcher.lexical, searcher.options.tokenizer
        query = searcher.parse("Tổ chức diễn tập khu vực phòng thủ trong các nghị quyết")
        assert rarest_term(lexical, options, query) == "dien tap"
        hits = searcher.search(query, 50)
        lifted = lift_specific(hits, lexical, options, query)
        before = {hit.chunk.id: hit.score for hit in hits}
        assert sorted(hit.chunk.id for hit in lifted) == sorted(before)
        for hit in lifted:
            factor = 1.0 + LIFT if holds(hit.chunk.text, "dien tap") else 1.0
            assert hit.score == pytest.approx(before[hit.chunk.id] * factor)
        assert [hit.score for hit in lifted] == sorted((hit.score for hit in lifted), reverse=True)
        assert holds(searcher.search(query, 3, collapse=True)[0].chunk.text, "dien tap")
        common = searcher.parse("nhiệm vụ phát triển kinh tế xã hội")  # its rarest compound is in many passages
        assert lift_specific(hits, lexical, options, common) == list(hits)
        pasted = searcher.parse(" ".join(["diễn tập khu vực phòng thủ"] * 8))  # a passage for /similar
        assert lift_specific(hits, lexical, options, pasted) == list(hits)
    finally:
        collection.store.close()
