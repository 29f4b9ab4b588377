"""BM25 over our own Vietnamese tokens, backed by bm25s.

bm25s's default tokenizer drops one-letter syllables and digits ("Ý", "Điều
5") and splits NFD text at every combining mark, so we hand it pre-tokenised
lists from :mod:`index.textnorm` and only use its scoring and sparse storage.
Saved as bm25s's plain ``.npy`` + JSON files (no pickles).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
    def build(cls, token_lists: Sequence[list[str]]) -> LexicalIndex:
        if not token_lists:
            return cls(None, 0)
        model = bm25s.BM25(k1=K1, b=B, method="lucene")
        # An empty token list would make bm25s fail; a placeholder keeps row numbers aligned.
        model.index([tokens or ["\u2400"] for tokens in token_lists], show_progress=False)
        return cls(model, len(token_lists))

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
