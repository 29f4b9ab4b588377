"""Encoders: the protocol every text encoder meets, and the backends behind it.

``EmbedderInfo`` and ``Embedder`` live here so that each backend (the bundled
multilingual e5-small, sentence-transformers models) depends on this package
and not on the vector index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class EmbedderInfo:
    """How vectors were made; a saved index is refused when this differs."""

    model: str
    dimension: int
    query_prompt: str
    passage_prompt: str
    max_seq_length: int


class Embedder(Protocol):
    info: EmbedderInfo

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...
