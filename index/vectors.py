"""Vectors: FAISS indexes over chunk embeddings, and the dense retriever that queries them.

The encoders that make the vectors live in :mod:`index.encoders`; this module
only stores and searches them, answering in chunk row ids.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from index.encoders import Embedder, EmbedderInfo
from index.timing import Stopwatch

EXACT_LIMIT = 40_000  # one-core exact scan, p50 per query here: 3–4 ms at 40k, 5–7 ms at 50k (bench/vectors.py)
VECTOR_MEMORY_BUDGET = 1_000_000_000  # bytes of vector codes; 8-bit codes only past it (recall 0.96 vs fp16's 0.998)
HNSW_M = 32  # graph degree, for an HNSW index asked for by kind (no size picks it: see VectorIndex.default_kind)
HNSW_EF_SEARCH = 128  # recall@10 0.990 at 100k in bench/vectors.py
IVF_NPROBE = 16  # at 1M (1024 lists, fp16): recall@10 0.998 at p50 0.7 ms; 8 gave 0.995, 32 gave 0.9997 at 1.6 ms
IVF_MAX_LISTS = 1024  # k-means costs lists² × points per list: 1024 lists train in ~8 s here, 2048 took 42 s
IVF_TRAIN_PER_LIST = 40  # k-means wants ≥ 39 points per centroid; a larger sample only lengthens the build
IVF_KMEANS_ITERATIONS = 10  # FAISS's default is 25; 10 already gives the recall above, and time grows with each
IVF_SEED = 20_240_601  # the training sample and k-means start: the same vectors build the same index
# An IVF index's centroids describe the vectors it was trained on. Vectors added later are filed under the nearest
# centroid (FAISS's add), which stays good while they resemble the trained ones; past this change in count since
# training, or when the count asks for another number of lists, a write retrains (rebuilds) instead.
IVF_DRIFT = 0.2
VECTOR_KINDS = ("flat-ip", f"hnsw-m{HNSW_M}", "ivf-fp16", "ivf-sq8")


def _faiss() -> Any:
    """FAISS, imported on first use; typed as Any because its stubs lag its API (SearchParametersHNSW)."""
    import faiss

    return faiss


class VectorIndex:
    """Inner product over normalised vectors, answered in the ids given at build (chunk row ids).

    The FAISS index behind it depends on the count (:meth:`default_kind`): exact search while a scan is fast
    enough, then an inverted file whose vector codes shrink to fit :data:`VECTOR_MEMORY_BUDGET`.
    """

    def __init__(self, index: Any, kind: str, dimension: int, trained_count: int | None = None) -> None:
        self.index = index
        self.kind = kind
        self.dimension = dimension
        self.trained_count = self.size if trained_count is None else trained_count  # IVF: vectors it was trained on

    @staticmethod
    def default_kind(count: int, dimension: int, exact_limit: int = EXACT_LIMIT,
                     memory_budget: int = VECTOR_MEMORY_BUDGET) -> str:
        """Exact below ``exact_limit``; IVF with fp16 codes while they fit ``memory_budget``; 8-bit codes beyond.

        HNSW is never the default. At 100k vectors here (bench/vectors.py) it took 25–29 s to build against
        IVF's 2–3 s, and 2.3× the memory, for lower recall at higher latency (0.990 at 0.34–0.42 ms against
        0.994 at 0.17–0.19 ms); at 1M its float32 vectors alone pass 1 GB and its build would take ~5 minutes.
        """
        if count < exact_limit:
            return "flat-ip"
        if count * dimension * 2 <= memory_budget:
            return "ivf-fp16"
        return "ivf-sq8"

    @staticmethod
    def ivf_lists(count: int) -> int:
        """The power of two nearest 2√count, at most :data:`IVF_MAX_LISTS`, and few enough to train each one."""
        nearest = 2 ** round(math.log2(2 * math.sqrt(max(count, 1))))
        return max(1, min(nearest, IVF_MAX_LISTS, count // IVF_TRAIN_PER_LIST))

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dimension: int, kind: str | None = None) -> VectorIndex:
        """An index of ``vectors`` answering in ``ids``; ``kind`` (one of :data:`VECTOR_KINDS`) overrides the size."""
        kind = kind or cls.default_kind(len(ids), dimension)
        if kind not in VECTOR_KINDS:
            raise ValueError(f"unknown vector index kind {kind!r}; use one of {', '.join(VECTOR_KINDS)}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if kind.startswith("ivf"):
            return cls(cls._build_ivf(ids, vectors, dimension, kind), kind, dimension)
        faiss = _faiss()
        if kind == "flat-ip":
            inner = faiss.IndexFlatIP(dimension)
        else:
            inner = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = HNSW_EF_SEARCH
        index = faiss.IndexIDMap2(inner)
        if len(ids):
            index.add_with_ids(vectors, ids)
        return cls(index, kind, dimension)

    @classmethod
    def _build_ivf(cls, ids: np.ndarray, vectors: np.ndarray, dimension: int, kind: str) -> Any:
        """IVF over scalar-quantised codes; it stores the given ids itself, so no IDMap (and no id translation)."""
        if not len(ids):
            raise ValueError(f"a {kind} index is trained on its vectors and none were given; use flat-ip")
        faiss = _faiss()
        nlist = cls.ivf_lists(len(ids))
        qtype = faiss.ScalarQuantizer.QT_fp16 if kind == "ivf-fp16" else faiss.ScalarQuantizer.QT_8bit
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dimension), dimension, nlist, qtype,
                                              faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = IVF_KMEANS_ITERATIONS
        index.cp.seed = IVF_SEED
        rng = np.random.default_rng(IVF_SEED)
        sample = rng.choice(len(ids), size=min(len(ids), nlist * IVF_TRAIN_PER_LIST), replace=False)
        index.train(vectors[np.sort(sample)])
        index.nprobe = min(nlist, IVF_NPROBE)
        index.add_with_ids(vectors, ids)
        return index

    def updated(self, removed: np.ndarray, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex | None:
        """A copy with ``removed`` ids taken out and ``vectors`` added under ``ids``; None where only a rebuild
        gives what a rebuild would: another kind for the new count, an HNSW graph losing nodes (FAISS cannot
        remove from one), an IVF index drifted past :data:`IVF_DRIFT` (see there).

        Flat: the same vectors in the same order as a rebuild (FAISS keeps order when it removes), so the same
        results. IVF within the drift: the old centroids, so results may differ slightly from a retrained index.
        The copy costs a memory copy; readers keep searching this index meanwhile.
        """
        count = self.size - len(removed) + len(ids)
        if self.default_kind(count, self.dimension) != self.kind or (self.kind.startswith("hnsw") and len(removed)):
            return None
        if self.kind.startswith("ivf") and (abs(count - self.trained_count) > IVF_DRIFT * self.trained_count
                                            or self.ivf_lists(count) != int(self.index.nlist)):
            return None
        faiss = _faiss()
        index = faiss.clone_index(self.index)
        if len(removed):
            index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(removed, dtype=np.int64)))
        if len(ids):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, np.int64))
        return VectorIndex(index, self.kind, self.dimension, self.trained_count)

    @property
    def settings(self) -> dict[str, int]:
        """The search-time parameters FAISS keeps in the index file, for the manifest and the benchmarks."""
        if self.kind.startswith("ivf"):
            return {"nlist": int(self.index.nlist), "nprobe": int(self.index.nprobe)}
        if self.kind.startswith("hnsw"):
            hnsw = _faiss().downcast_index(self.index.index).hnsw
            return {"efSearch": int(hnsw.efSearch), "efConstruction": int(hnsw.efConstruction)}
        return {}

    def save(self, directory: Path) -> None:
        faiss = _faiss()

        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(directory / "vectors.faiss"))
        (directory / "vectors.json").write_text(json.dumps({"kind": self.kind, "dimension": self.dimension,
                                                            "count": self.size, "trained_count": self.trained_count,
                                                            **self.settings}))

    @classmethod
    def load(cls, directory: Path) -> VectorIndex:
        faiss = _faiss()

        info = json.loads((directory / "vectors.json").read_text())
        return cls(faiss.read_index(str(directory / "vectors.faiss")), info["kind"], int(info["dimension"]),
                   info.get("trained_count"))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """(id, score) best first per query; FAISS's -1 padding is dropped, k is capped at the index size."""
        k = min(k, self.size)
        if k <= 0 or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        params = None
        if allowed_ids is not None:
            if len(allowed_ids) == 0:
                return [[] for _ in range(len(queries))]
            params = self._filtered(allowed_ids)
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i != -1]
                for row_ids, row_scores in zip(ids, scores, strict=True)]

    def _filtered(self, allowed_ids: np.ndarray) -> Any:
        """Search parameters that admit only ``allowed_ids``, each index type in its own parameter class."""
        faiss = _faiss()
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_ids, dtype=np.int64))
        # Only the allowed share of what a search visits can be returned, so it visits more as the filter
        # narrows: about as many allowed candidates as an unfiltered search, up to everything (exact).
        widen = self.size / len(allowed_ids)
        if self.kind.startswith("hnsw"):
            ef_search = min(max(self.size, HNSW_EF_SEARCH), math.ceil(HNSW_EF_SEARCH * widen))
            return faiss.SearchParametersHNSW(sel=selector, efSearch=ef_search)
        if self.kind.startswith("ivf"):
            nprobe = min(int(self.index.nlist), math.ceil(int(self.index.nprobe) * widen))
            return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        return faiss.SearchParameters(sel=selector)


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
    made = {f.name: getattr(info, f.name) for f in fields(info) if f.compare}  # how vectors were made, not queries
    return {**made, "index": kind, "normalized": True}
