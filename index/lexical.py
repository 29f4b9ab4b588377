"""BM25 over our own Vietnamese tokens, backed by bm25s.

bm25s's default tokenizer drops one-letter syllables and digits ("Ý", "Điều
5") and splits NFD text at every combining mark, so we hand it pre-tokenised
lists from :mod:`index.textnorm` and only use its scoring and sparse storage.
Saved as bm25s's plain ``.npy`` + JSON files (no pickles).
"""

from __future__ import annotations

import itertools
import logging
import math
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)

K1 = 1.2
B = 0.75


class LexicalIndex:
    """Scores every indexed row for a query; row ``i`` is the i-th token list given to :meth:`build`."""

    def __init__(self, model: bm25s.BM25 | None, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, token_lists: Iterable[list[str]]) -> LexicalIndex:
        """Index the rows in order, reading each token list once (the store streams them).

        The scores are bm25s's own (``BM25.index``, lucene variant), computed
        from per-row token counts with numpy instead of bm25s's per-row Python
        passes over every token; ``tests/test_lexical.py`` compares the two. Only
        the counts are kept, not the lists: 100,000 chunks' token lists are
        gigabytes of Python strings.
        """
        counts = _count_tokens(token_lists)
        if counts.rows == 0:
            return cls(None, 0)
        model = bm25s.BM25(k1=K1, b=B, method="lucene")
        model.scores = _lucene_scores(counts, K1, B)
        model.vocab_dict = {**counts.vocab, "": len(counts.vocab)}  # bm25s adds the empty token last
        model.unique_token_ids_set = set(model.vocab_dict.values())
        model.nonoccurrence_array = None  # only BM25L and BM25+ use one
        return cls(model, counts.rows)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "size.txt").write_text(str(self.size))
        if self._model is not None:
            self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        size = int((directory / "size.txt").read_text())
        if size == 0:
            return cls(None, 0)
        return cls(bm25s.BM25.load(str(directory), show_progress=False, mmap=False), size)

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every row (0 where nothing matches); unknown tokens are ignored."""
        if self._model is None or not tokens:
            return np.zeros(self.size, dtype=np.float32)
        vocab = self._model.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(known), dtype=np.float32)


EMPTY_ROW = "\u2400"  # an empty token list would make bm25s fail; a placeholder keeps row numbers aligned


@dataclass
class TokenCounts:
    """Distinct (row, token) pairs with their counts, and each row's length."""

    vocab: dict[str, int]
    rows: int
    pair_rows: np.ndarray  # int32
    pair_tokens: np.ndarray  # int32, ids in ``vocab``
    pair_counts: np.ndarray  # float32, as bm25s holds term frequencies
    lengths: np.ndarray  # int64, tokens per row


def _count_tokens(token_lists: Iterable[list[str]]) -> TokenCounts:
    vocab: dict[str, int] = {}
    rows, tokens, counts, lengths = array("i"), array("i"), array("i"), array("q")
    for row, token_list in enumerate(token_lists):
        found = Counter(token_list or [EMPTY_ROW])
        tokens.extend([vocab.setdefault(token, len(vocab)) for token in found])
        counts.extend(found.values())
        rows.extend(itertools.repeat(row, len(found)))
        lengths.append(len(token_list) or 1)
    return TokenCounts(vocab, len(lengths), np.frombuffer(rows, dtype=np.int32),
                       np.frombuffer(tokens, dtype=np.int32), np.frombuffer(counts, dtype=np.int32).astype(np.float32),
                       np.frombuffer(lengths, dtype=np.int64))


def _lucene_scores(counts: TokenCounts, k1: float, b: float) -> dict[str, object]:
    """bm25s's score matrix (CSC: one column per token), operation for operation in the same precision.

    bm25s computes idf in Python floats and stores it as float32, then per row
    ``tf / (k1 * ((1 - b) + b * len / avg_len) + tf)`` in float64 times that
    idf, stored as float32 (Kamphuis et al. 2020, the Lucene variant).
    """
    n_rows, n_vocab = counts.rows, len(counts.vocab)
    avg_len = counts.lengths.mean()  # float64, as bm25s's np.array(lengths).mean()
    df = np.bincount(counts.pair_tokens, minlength=n_vocab)
    idf = np.array([math.log(1 + (n_rows - d + 0.5) / (d + 0.5)) for d in df.tolist()]).astype(np.float32)
    row_norm = k1 * ((1 - b) + b * counts.lengths.astype(np.float64) / avg_len)
    tf = counts.pair_counts.astype(np.float64)
    tfc = tf / (row_norm[counts.pair_rows] + tf)
    scores = (idf[counts.pair_tokens].astype(np.float64) * tfc).astype(np.float32)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(np.bincount(counts.pair_tokens, minlength=n_vocab), out=indptr[1:])
    order = np.argsort((counts.pair_tokens.astype(np.int64) << 32) | counts.pair_rows.astype(np.int64))
    return {"data": scores[order], "indices": counts.pair_rows[order], "indptr": indptr, "num_docs": n_rows}
