"""Encoders: the protocol every text encoder meets, and the backends behind it.

``EmbedderInfo`` and ``Embedder`` live here so that each backend (the bundled
multilingual e5-small, sentence-transformers models) depends on this package
and not on the vector index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

log = logging.getLogger("tracuu.encoders")


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


def load_embedder(name_or_path: str | None) -> tuple[Embedder | None, dict[str, str]]:
    """The embedder, or None with a status saying why the dense leg is unavailable."""
    if not name_or_path:
        return None, {"status": "unavailable", "reason": "no embedding model configured (TRACUU_EMBED_MODEL)"}
    try:
        from index.encoders.sbert import SentenceTransformerEmbedder

        embedder: Embedder = SentenceTransformerEmbedder(name_or_path)
    except Exception as exc:  # any load failure means lexical-only, never a crash
        reason = f"model {name_or_path!r} could not be loaded offline: {type(exc).__name__}: {str(exc)[:200]}"
        log.warning("dense leg unavailable: %s", reason)
        return None, {"status": "unavailable", "reason": reason}
    return embedder, {"status": "ok", "model": embedder.info.model, "dimension": str(embedder.info.dimension)}


