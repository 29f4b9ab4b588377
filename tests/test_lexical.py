"""index.lexical: our vectorised build gives bm25s's own index, score for score (an oracle test)."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.load import read_path
from corpus.pipeline import parse_text
from index.lexical import EMPTY_ROW, K1, B, LexicalIndex
from index.textnorm import document_tokens

DOCUMENTS = Path(__file__).resolve().parents[1] / "corpus" / "documents"


def _columns(model: bm25s.BM25) -> dict[str, tuple[list[int], list[float]]]:
    """token → (rows, scores) of its column: comparable whatever ids the two builds gave the tokens."""
    scores = model.scores
    columns = {}
    for token, token_id in model.vocab_dict.items():
        if token_id + 1 >= len(scores["indptr"]):
            continue  # bm25s's empty token has no column
        start, end = scores["indptr"][token_id], scores["indptr"][token_id + 1]
        columns[token] = (scores["indices"][start:end].tolist(), scores["data"][start:end].tolist())
    return columns


def _assert_same_as_bm25s(token_lists: list[list[str]]) -> None:
    ours = LexicalIndex.build(iter(token_lists))._model
    theirs = bm25s.BM25(k1=K1, b=B, method="lucene")
    theirs.index([tokens or [EMPTY_ROW] for tokens in token_lists], show_progress=False)
    assert ours is not None
    assert set(ours.vocab_dict) == set(theirs.vocab_dict)
    assert ours.scores["num_docs"] == theirs.scores["num_docs"]
    assert ours.scores["data"].dtype == theirs.scores["data"].dtype
    assert ours.scores["indices"].dtype == theirs.scores["indices"].dtype
    assert _columns(ours) == _columns(theirs)  # float lists compared exactly
    for query in (token_lists[0][:3], token_lists[-1][-2:], ["năm", "2024"]):
        known = [t for t in query if t in theirs.vocab_dict and t]
        if known:
            assert np.array_equal(ours.get_scores(known), theirs.get_scores(known))


def test_the_build_matches_bm25s_on_the_seed_documents() -> None:
    token_lists = []
    for path in sorted(DOCUMENTS.glob("*.txt")):
        doc = parse_text(read_path(path), path.name)
        token_lists += [document_tokens(f"{c.header}\n{c.text}") for c in doc.chunks]
    _assert_same_as_bm25s(token_lists)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["hộ", "nghèo", "tỷ_lệ", "~ho", "3,7", "%", "bình", "lục", "năm"]),
                         max_size=30), min_size=1, max_size=25))
def test_the_build_matches_bm25s_on_any_token_lists(token_lists: list[list[str]]) -> None:
    _assert_same_as_bm25s(token_lists)


def test_an_empty_collection_builds_an_empty_index() -> None:
    index = LexicalIndex.build(iter([]))
    assert index.size == 0
    assert index.scores(["hộ"]).shape == (0,)
