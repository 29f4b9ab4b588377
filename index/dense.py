"""The dense leg: sentence-transformers embeddings in a FAISS index whose ids are chunk row ids.

Model hubs are out of reach here and on many government networks, so the
loader never downloads (``local_files_only``): a model is a local folder, or a
name already in the local cache. When it cannot be loaded the service runs
lexical-only and says why; it never fakes a dense result.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.timing import Stopwatch

log = logging.getLogger("tracuu.dense")

EXACT_LIMIT = 50_000  # below this many vectors exact inner product is both fast and exact
HNSW_M = 32  # graph degree: recall ≥0.95 at 1M 384-d vectors in published FAISS benchmarks
HNSW_EF_SEARCH = 128
BATCH_SIZE = 32


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


def default_prompts(name: str, configured: dict[str, str]) -> tuple[str, str]:
    """The model's own prompts when it declares them; e5's "query: "/"passage: " by name; none otherwise (bge-m3)."""
    query = configured.get("query")
    passage = configured.get("document", configured.get("passage"))
    if query is not None and passage is not None:
        return query, passage
    if "e5" in name.lower():
        return "query: ", "passage: "
    return "", ""


class SentenceTransformerEmbedder:
    """A sentence-transformers model with its prompts, maximum length and normalised output."""

    def __init__(self, name_or_path: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(name_or_path, device="cpu", local_files_only=True)
        declared = {k: v for k, v in (self.model.prompts or {}).items() if isinstance(v, str)}
        query_prompt, passage_prompt = default_prompts(name_or_path, declared)
        self.model.prompts = {"query": query_prompt, "document": passage_prompt}
        get_dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        dimension = get_dimension() or 0
        self.info = EmbedderInfo(
            model=name_or_path, dimension=int(dimension), query_prompt=query_prompt,
            passage_prompt=passage_prompt, max_seq_length=int(self.model.max_seq_length or 512),
        )

    def _encode(self, texts: list[str], prompt_name: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dimension), dtype=np.float32)
        vectors = self.model.encode(texts, prompt_name=prompt_name, batch_size=BATCH_SIZE,
                                    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "document")

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])


def load_embedder(name_or_path: str | None) -> tuple[Embedder | None, dict[str, str]]:
    """The embedder, or None with a status saying why the dense leg is unavailable."""
    if not name_or_path:
        return None, {"status": "unavailable", "reason": "no embedding model configured (TRACUU_EMBED_MODEL)"}
    try:
        embedder = SentenceTransformerEmbedder(name_or_path)
    except Exception as exc:  # any load failure means lexical-only, never a crash
        reason = f"model {name_or_path!r} could not be loaded offline: {type(exc).__name__}: {str(exc)[:200]}"
        log.warning("dense leg unavailable: %s", reason)
        return None, {"status": "unavailable", "reason": reason}
    return embedder, {"status": "ok", "model": embedder.info.model, "dimension": str(embedder.info.dimension)}


def _faiss() -> Any:
    """FAISS, imported on first use; typed as Any because its stubs lag its API (SearchParametersHNSW)."""
    import faiss

    return faiss


class VectorIndex:
    """FAISS ``IndexIDMap2``: exact inner product below :data:`EXACT_LIMIT` vectors, HNSW above."""

    def __init__(self, index: Any, kind: str, dimension: int) -> None:
        self.index = index
        self.kind = kind
        self.dimension = dimension

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dimension: int) -> VectorIndex:
        faiss = _faiss()

        if len(ids) < EXACT_LIMIT:
            inner, kind = faiss.IndexFlatIP(dimension), "flat-ip"
        else:
            inner = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = HNSW_EF_SEARCH
            kind = f"hnsw-m{HNSW_M}"
        index = faiss.IndexIDMap2(inner)
        if len(ids):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        return cls(index, kind, dimension)

    def save(self, directory: Path) -> None:
        faiss = _faiss()

        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(directory / "vectors.faiss"))
        (directory / "vectors.json").write_text(json.dumps({"kind": self.kind, "dimension": self.dimension}))

    @classmethod
    def load(cls, directory: Path) -> VectorIndex:
        faiss = _faiss()

        info = json.loads((directory / "vectors.json").read_text())
        return cls(faiss.read_index(str(directory / "vectors.faiss")), info["kind"], int(info["dimension"]))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """(id, score) best first per query; FAISS's -1 padding is dropped, k is capped at the index size."""
        faiss = _faiss()

        k = min(k, self.size)
        if k <= 0 or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        params = None
        if allowed_ids is not None:
            if len(allowed_ids) == 0:
                return [[] for _ in range(len(queries))]
            selector = faiss.IDSelectorBatch(allowed_ids.astype(np.int64))
            params = (faiss.SearchParametersHNSW(sel=selector, efSearch=HNSW_EF_SEARCH)
                      if self.kind.startswith("hnsw") else faiss.SearchParameters(sel=selector))
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i != -1]
                for row_ids, row_scores in zip(ids, scores, strict=True)]


class DenseRetriever:
    """Encodes queries and searches the vector index; answers in chunk positions of the searcher."""

    def __init__(self, embedder: Embedder, vectors: VectorIndex, rowids: np.ndarray) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.rowids = rowids
        self.position_of = {int(r): i for i, r in enumerate(rowids)}

    def search_batch(self, queries: Sequence[str], k: int, allowed: np.ndarray | None,
                     watch: Stopwatch | None = None) -> list[list[tuple[int, float]]]:
        watch = watch or Stopwatch()
        allowed_ids = self.rowids[allowed] if allowed is not None else None
        with watch.stage("encode"):
            encoded = self.embedder.encode_queries(list(queries))
        with watch.stage("vector"):
            found = self.vectors.search(encoded, k, allowed_ids)
            return [[(self.position_of[i], s) for i, s in row if i in self.position_of] for row in found]


def info_record(info: EmbedderInfo, kind: str) -> dict[str, object]:
    return {**asdict(info), "index": kind, "normalized": True}
