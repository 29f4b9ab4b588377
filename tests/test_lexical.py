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


def _assert_same_as_bm25s(token_lists: list[list[str]]) -> None:
    """Every token's scores alone, and a few queries' sums, equal bm25s's bit for bit."""
    ours = LexicalIndex.build(iter(token_lists))
    theirs = bm25s.BM25(k1=K1, b=B, method="lucene")
    theirs.index([tokens or [EMPTY_ROW] for tokens in token_lists], show_progress=False)
    assert ours.size == theirs.scores["num_docs"]
    vocabulary = [token for token in theirs.vocab_dict if token]
    assert {t for t in vocabulary if ours.document_frequency(t)} == set(vocabulary)
    queries = [[token] for token in vocabulary]
    queries += [token_lists[0][:3], token_lists[-1][-2:], ["năm", "2024", "năm"], ["không-có"]]
    for query in queries:
        known = [t for t in query if t in theirs.vocab_dict and t]
        expected = theirs.get_scores(known) if known else np.zeros(len(token_lists), dtype=np.float32)
        got = ours.scores(query)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), query


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
