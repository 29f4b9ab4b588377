"""Retrieval over one immutable snapshot of the collection.

A :class:`Searcher` holds everything a query needs — chunk texts, document
metadata, the lexical and (optionally) dense index — for one store generation.
Writers build a new snapshot and swap it in, so a reader sees the old state or
the new one, never a mix. ``search`` is ``search_batch([q])[0]``: only the
batch path holds logic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from corpus.models import Chunk, Indicator
from index.errors import SearchError
from index.indicators import IndicatorHit
from index.lexical import LexicalIndex
from index.query import QueryIntent, number_key, place_key, understand
from index.store import StoredDocument
from index.textnorm import TokenizerOptions, query_tokens

Mode = Literal["hybrid", "lexical", "dense"]
RRF_K = 60  # Cormack et al. 2009: k=60 damps the head of each ranking without flattening it
OVERFETCH = 5  # each leg ranks k*OVERFETCH candidates (at least 50) before fusion


@dataclass(frozen=True)
class SearchFilters:
    """Hard constraints on document metadata, applied before ranking and fusion."""

    locality: str | None = None
    province: str | None = None
    level: str | None = None
    doc_type: str | None = None
    year: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    document_id: str | None = None


@dataclass(frozen=True)
class Boosts:
    """Multipliers for documents whose metadata matches what the query names."""

    locality: float = 0.6
    year: float = 0.3
    number: float = 1.0
    section_year: float = 0.3  # the year named in the chunk's own heading ("I. KẾT QUẢ … NĂM 2023")
    answer_line: float = 1.0  # the signature or number line, when the question asks for it


@dataclass(frozen=True)
class SearchOptions:
    tokenizer: TokenizerOptions = field(default_factory=TokenizerOptions)
    boosts: Boosts | None = field(default_factory=Boosts)
    lexical_weight: float = 1.0
    dense_weight: float = 1.0


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    document: StoredDocument
    score: float
    legs: tuple[str, ...]


class DenseLeg(Protocol):
    """What the searcher needs from the vector side (see :mod:`index.dense`)."""

    def search_batch(self, queries: Sequence[str], k: int, allowed: np.ndarray | None) -> list[list[tuple[int, float]]]:
        ...


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best positive scores, best first.

    argpartition is O(n); only the k survivors are sorted.
    """
    positive = np.flatnonzero(scores > 0)
    if positive.size == 0:
        return positive
    k = min(k, positive.size)
    part = positive[np.argpartition(-scores[positive], k - 1)[:k]]
    return part[np.argsort(-scores[part], kind="stable")]


def fuse_rrf(rankings: dict[str, list[int]], weights: dict[str, float], k: int = RRF_K) -> dict[int, float]:
    """Weighted reciprocal rank fusion. An empty ranking adds nothing, so it cannot dilute the others."""
    fused: dict[int, float] = {}
    for leg, rows in rankings.items():
        weight = weights.get(leg, 1.0)
        for rank, row in enumerate(rows):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank + 1)
    return fused


class Searcher:
    """Immutable view of one generation of the collection."""

    def __init__(
        self,
        chunks: list[Chunk],
        documents: list[StoredDocument],
        lexical: LexicalIndex,
        dense: DenseLeg | None = None,
        dense_status: dict[str, str] | None = None,
        options: SearchOptions | None = None,
        indicators: Sequence[tuple[str, Indicator]] = (),
    ) -> None:
        self.chunks = chunks
        self.documents = documents
        self.lexical = lexical
        self.dense = dense
        self.dense_status = dense_status or {"status": "unavailable", "reason": "no embedding model configured"}
        self.options = options or SearchOptions()
        doc_pos = {d.id: i for i, d in enumerate(documents)}
        self.doc_of_row = np.array([doc_pos[c.document_id] for c in chunks], dtype=np.int64)
        self._places = self._place_table()
        self._chunk_rows = {c.id: i for i, c in enumerate(chunks)}
        by_id = {d.id: d for d in documents}
        self.indicators = [IndicatorHit(record, by_id[doc_id]) for doc_id, record in indicators if doc_id in by_id]

    def _place_table(self) -> dict[str, set[int]]:
        table: dict[str, set[int]] = {}
        for i, doc in enumerate(self.documents):
            for name in (doc.meta.locality, doc.meta.province):
                if name:
                    table.setdefault(place_key(name), set()).add(i)
        return table

    def hit_at(self, document_id: str, offset: int) -> SearchHit | None:
        """The chunk of a document that holds a character offset (to cite an indicator record)."""
        for row in np.flatnonzero(self.doc_of_row == self._doc_position(document_id)):
            chunk = self.chunks[int(row)]
            if chunk.start <= offset < chunk.end:
                return SearchHit(chunk, self.documents[int(self.doc_of_row[row])], 0.0, ())
        return None

    def _doc_position(self, document_id: str) -> int:
        return next((i for i, d in enumerate(self.documents) if d.id == document_id), -1)

    def hit_for_chunk(self, chunk_id: str) -> SearchHit | None:
        """The chunk with this id as an unscored hit (the starting point of /similar)."""
        row = self._chunk_rows.get(chunk_id)
        if row is None:
            return None
        return SearchHit(self.chunks[row], self.documents[int(self.doc_of_row[row])], 0.0, ())

    # -- filters and boosts -------------------------------------------------

    def _doc_allowed(self, filters: SearchFilters) -> np.ndarray | None:
        checks = {k: v for k, v in vars(filters).items() if v is not None}
        if not checks:
            return None
        allowed = np.ones(len(self.documents), dtype=bool)
        for i, doc in enumerate(self.documents):
            allowed[i] = matches_filters(doc, filters)
        return allowed

    def _doc_boost(self, intent: QueryIntent) -> np.ndarray:
        boost = np.ones(len(self.documents), dtype=np.float32)
        weights = self.options.boosts
        if weights is None:
            return boost
        for place in intent.localities:
            for i in self._places.get(place, ()):
                boost[i] += weights.locality
        for i, doc in enumerate(self.documents):
            if intent.years and intent.years & set(doc.meta.years):
                boost[i] += weights.year
            if intent.numbers and doc.meta.number and number_key(doc.meta.number) in intent.numbers:
                boost[i] += weights.number
        return boost

    def _chunk_boost(self, intent: QueryIntent, rows: np.ndarray) -> np.ndarray:
        """Boosts that depend on the passage, not only its document; computed for the candidates alone."""
        boost = np.ones(len(rows), dtype=np.float32)
        weights = self.options.boosts
        if weights is None:
            return boost
        for i, row in enumerate(rows):
            chunk = self.chunks[int(row)]
            meta = self.documents[int(self.doc_of_row[row])].meta
            # Only where the document covers several years does a heading's year tell its sections apart.
            if len(meta.years) > 1 and any(str(y) in chunk.section for y in intent.years & set(meta.years)):
                boost[i] += weights.section_year
            if intent.asks_signer and meta.signer and meta.signer in chunk.text:
                boost[i] += weights.answer_line
            if intent.asks_number and meta.number and number_key(meta.number) in number_key(chunk.text):
                boost[i] += weights.answer_line
        return boost

    # -- the batch path -----------------------------------------------------

    def search_batch(
        self, queries: Sequence[str], k: int = 10, filters: SearchFilters | None = None, mode: Mode = "hybrid"
    ) -> list[list[SearchHit]]:
        if mode == "dense" and self.dense is None:
            raise SearchError(f"dense search is unavailable: {self.dense_status.get('reason', 'no model')}")
        filters = filters or SearchFilters()
        doc_allowed = self._doc_allowed(filters)
        row_allowed = doc_allowed[self.doc_of_row] if doc_allowed is not None else None
        depth = max(50, k * OVERFETCH)
        use_dense = self.dense is not None and mode in ("hybrid", "dense")
        dense_results = self.dense.search_batch(queries, depth, row_allowed) if use_dense and self.dense else None
        results = []
        for qi, query in enumerate(queries):
            rankings: dict[str, list[int]] = {}
            if mode in ("hybrid", "lexical"):
                rankings["lexical"] = self._lexical_ranking(query, depth, row_allowed)
            if dense_results is not None:
                rankings["dense"] = [row for row, _ in dense_results[qi]]
            results.append(self._fuse(query, rankings, k))
        return results

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None,
               mode: Mode = "hybrid") -> list[SearchHit]:
        return self.search_batch([query], k, filters, mode)[0]

    def _lexical_ranking(self, query: str, depth: int, row_allowed: np.ndarray | None) -> list[int]:
        scores = self.lexical.scores(query_tokens(query, self.options.tokenizer))
        if row_allowed is not None:
            scores = np.where(row_allowed, scores, 0.0)
        return [int(i) for i in _top(scores, depth)]

    def _fuse(self, query: str, rankings: dict[str, list[int]], k: int) -> list[SearchHit]:
        live = {leg: rows for leg, rows in rankings.items() if rows}
        weights = {"lexical": self.options.lexical_weight, "dense": self.options.dense_weight}
        fused = fuse_rrf(live, weights)
        if not fused:
            return []
        intent = understand(query, self._places.keys())
        boost = self._doc_boost(intent)
        rows = np.fromiter(fused.keys(), dtype=np.int64)
        scores = np.fromiter(fused.values(), dtype=np.float32) * boost[self.doc_of_row[rows]]
        scores *= self._chunk_boost(intent, rows)
        order = np.argsort(-scores, kind="stable")[:k]
        found_by = {leg: set(r) for leg, r in live.items()}
        return [
            SearchHit(
                chunk=self.chunks[int(rows[i])],
                document=self.documents[int(self.doc_of_row[rows[i]])],
                score=float(scores[i]),
                legs=tuple(leg for leg in ("lexical", "dense") if int(rows[i]) in found_by.get(leg, ())),
            )
            for i in order
        ]


def matches_filters(doc: StoredDocument, f: SearchFilters) -> bool:
    """Whether a document passes the metadata filters (shared by search and the /documents listing)."""
    meta = doc.meta
    if f.document_id is not None and doc.id != f.document_id:
        return False
    for wanted, actual in ((f.locality, meta.locality), (f.province, meta.province), (f.level, meta.level),
                           (f.doc_type, meta.doc_type)):
        if wanted is not None and (actual is None or place_key(actual) != place_key(wanted)):
            return False
    if f.year is not None and f.year not in meta.years:
        return False
    if f.year_from is not None and not any(y >= f.year_from for y in meta.years):
        return False
    return f.year_to is None or any(y <= f.year_to for y in meta.years)
