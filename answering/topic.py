"""Question ↔ line similarity with the collection's multilingual encoder.

A line that shares words with a question is not necessarily about what it asks
("tăng 17,8%" shares "tỷ lệ … năm 2023" with a forest-cover question). The
encoder reads meaning, also across paraphrase and English, so every candidate
line is scored against the question by cosine similarity. Lines are short and
recur across questions (the same resolutions are asked about again and again),
so their vectors are kept in a bounded cache per encoder: a line is encoded
once per process, and a question costs one query encoding plus its new lines.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from answering.memo import PerObject
from index.encoders import Embedder
from index.search import Searcher

CACHE_LINES = 50_000  # 384 float32 each: about 77 MB at most


class _LineCache:
    """Line text → unit vector, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def get_many(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            encoded = np.asarray(embedder.encode_passages(missing), dtype=np.float32)
            with self.lock:
                for text, vector in zip(missing, encoded, strict=True):
                    self.vectors[text] = vector
                while len(self.vectors) > self.size:
                    self.vectors.popitem(last=False)
        with self.lock:
            rows = []
            for text in texts:
                vector = self.vectors.get(text)
                if vector is None:  # dropped by a concurrent request between the two steps
                    vector = np.asarray(embedder.encode_passages([text]), dtype=np.float32)[0]
                else:
                    self.vectors.move_to_end(text)
                rows.append(vector)
        return np.vstack(rows) if rows else np.zeros((0, 1), dtype=np.float32)


def embedder_of(searcher: Searcher) -> Embedder | None:
    """The encoder the collection was indexed with, or None when it runs lexical-only."""
    dense = getattr(searcher, "dense", None)
    return getattr(dense, "embedder", None) if dense is not None else None


# Encoded lines, per loaded encoder.
_cache: PerObject[Embedder, _LineCache] = PerObject(lambda _: _LineCache(CACHE_LINES))


def similarities(embedder: Embedder, question: str, lines: Sequence[str]) -> np.ndarray:
    """Cosine similarity of the question (as a query) to each line (as a passage)."""
    if not lines:
        return np.zeros(0, dtype=np.float32)
    query = np.asarray(embedder.encode_queries([question]), dtype=np.float32)[0]
    return _cache(embedder).get_many(embedder, lines) @ query
