"""Retrieval over one immutable snapshot of the collection.

A :class:`Searcher` holds everything a query needs — chunk texts, document
metadata, the lexical and (optionally) dense index — for one store generation.
Writers build a new snapshot and swap it in, so a reader sees the old state or
the new one, never a mix. ``search`` is ``search_batch([q])[0]``: only the
batch path holds logic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, get_args

import numpy as np

from corpus.models import Chunk, Indicator
from index.collapse import collapse_by_document, lift_specific
from index.errors import SearchError
from index.filters import DocumentColumns, Filters
from index.lexical import LexicalIndex
from index.phrasing import gloss
from index.query import LONG_QUERY_WORDS, ParsedQuery, number_key, parse_query, place_key, states_date
from index.restore import DiacriticRestorer
from index.store import StoredDocument
from index.textnorm import TokenizerOptions, query_tokens
from index.timing import Stopwatch
from index.wants import asks_place, names_place, states, wanted_figure

Mode = Literal["hybrid", "lexical", "dense"]
MODES: tuple[str, ...] = get_args(Mode)  # the one list every edge (HTTP, CLI, eval) offers
# Chosen by measurement (tracuu eval --grid, eval/reports/dev-distractors-fusion.md): k=10 (Cormack et al.'s 60
# flattens the head of each ranking; here the first lexical hits are usually right), the dense leg at half the
# lexical weight, adapted per query (leg_weights).
RRF_K = 10
DENSE_WEIGHT = 0.5
OVERFETCH = 5  # each leg ranks k*OVERFETCH candidates (at least 50) before fusion
COLLAPSE_DEPTH = 10  # passages ranked per document asked for when collapsing (at least 100)


@dataclass(frozen=True)
class Boosts:
    """Multipliers for documents whose metadata matches what the query names."""

    locality: float = 1.0  # naming a place doubles its documents: a neighbour's figure is a wrong one
    year: float = 0.3
    number: float = 1.0
    other_year: float = 0.5  # the share taken from a passage whose heading names only other years of its document
    answer_line: float = 1.0  # the signature or number line, when the question asks for it
    cited: float = 0.5  # a passage citing another instrument the query names by number ("chỉ thị 26-ct/tu")
    # The share taken from a passage that states no figure of the kind asked, or no place when one is asked
    # (index.wants; chosen on dev: a place at 0.5 cost 'đường tỉnh nào', 'xếp ở đâu', a figure at 0.3 cost two)
    figureless: float = 0.5
    placeless: float = 0.3


@dataclass(frozen=True)
class SearchOptions:
    tokenizer: TokenizerOptions = field(default_factory=TokenizerOptions)
    boosts: Boosts | None = field(default_factory=Boosts)
    lexical_weight: float = 1.0
    dense_weight: float = DENSE_WEIGHT
    rrf_k: int = RRF_K
    restore_diacritics: bool = True  # the dense leg reads "chỉ tiêu hộ nghèo" for "chi tieu ho ngheo"
    glossary: bool = True  # both legs also read the documents' terms for "cá, tôm", "bn", "budget revenue"
    adaptive: bool = True  # weights that depend on the query (see leg_weights)
    exact_dense_factor: float = 0.5  # the dense weight's share for queries the lexical leg matches exactly
    foreign_dense_factor: float = 2.0  # and its multiple for queries in another language (English)
    passage_dense_factor: float = 0.5  # and for a pasted passage (/similar: measured, eval/reports)


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    document: StoredDocument
    score: float
    legs: tuple[str, ...]
    more_in_document: int | None = None  # with collapse: how many other passages of this document matched


class DenseLeg(Protocol):
    """What the searcher needs from the vector side (see :mod:`index.vectors`)."""

    def search_batch(self, queries: Sequence[str], k: int, allowed: np.ndarray | None,
                     watch: Stopwatch | None = None) -> list[list[tuple[int, float]]]:
        ...


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best positive scores, best first, equal scores in row order: one argpartition over the
    whole array (O(n), no copies of the positive entries), then only the k survivors are sorted."""
    k = min(k, scores.size)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(scores, scores.size - k)[scores.size - k:]
    part = part[scores[part] > 0]
    return part[np.lexsort((part, -scores[part]))]


def leg_weights(query: ParsedQuery, options: SearchOptions) -> dict[str, float]:
    """Each leg's fusion weight for this query.

    With ``adaptive`` the dense leg counts less for what the lexical leg matches exactly and the encoder reads
    poorly: Vietnamese typed without diacritics (even restored, a wrong accent sends the encoder elsewhere while
    the folded lexical match is exact) and queries naming a document number, and whole passages (``/similar``:
    on the similar-directives set recall@10 0.790 at twice the weight, 0.801 at half); and more for queries in
    another language (unaccented, most words not Vietnamese syllables), which the lexical leg cannot match at all.
    """
    dense = options.dense_weight
    if options.adaptive:
        if len(query.folded.split()) >= LONG_QUERY_WORDS:
            dense *= options.passage_dense_factor
        elif query.foreign:
            dense *= options.foreign_dense_factor
        elif not query.accented or query.numbers:
            dense *= options.exact_dense_factor
    return {"lexical": options.lexical_weight, "dense": dense}


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
        restorer: DiacriticRestorer | None = None,
    ) -> None:
        self.chunks = chunks
        self.documents = documents
        self.lexical = lexical
        self.dense = dense
        self.dense_status = dense_status or {"status": "unavailable", "reason": "no embedding model configured"}
        self.options = options or SearchOptions()
        self.restorer = restorer  # learnt from this generation's own text (see index.restore)
        self.columns = DocumentColumns(documents)
        self._doc_pos = self.columns.position
        self.doc_of_row = np.array([self._doc_pos[c.document_id] for c in chunks], dtype=np.int64)
        self._places = self._place_table()
        self._docs_of_year = self.columns.of_year
        self._docs_of_number = self.columns.of_number
        self._number_keys = [number_key(d.meta.number) if d.meta.number else "" for d in documents]
        self._chunk_rows = {c.id: i for i, c in enumerate(chunks)}
        # Raw records of this generation; the answering package builds its indicator table from them.
        self.indicator_records = tuple(indicators)

    def _place_table(self) -> dict[str, set[int]]:
        table: dict[str, set[int]] = {}
        for i, doc in enumerate(self.documents):
            for name in (doc.meta.locality, doc.meta.province):
                if name:
                    table.setdefault(place_key(name), set()).add(i)
        return table

    def hit_at(self, document_id: str, offset: int) -> SearchHit | None:
        """The chunk of a document that holds a character offset (to cite an indicator record)."""
        for row in np.flatnonzero(self.doc_of_row == self._doc_pos.get(document_id, -1)):
            chunk = self.chunks[int(row)]
            if chunk.start <= offset < chunk.end:
                return SearchHit(chunk, self.documents[int(self.doc_of_row[row])], 0.0, ())
        return None

    def hit_for_chunk(self, chunk_id: str) -> SearchHit | None:
        """The chunk with this id as an unscored hit (the starting point of /similar)."""
        row = self._chunk_rows.get(chunk_id)
        if row is None:
            return None
        return SearchHit(self.chunks[row], self.documents[int(self.doc_of_row[row])], 0.0, ())

    # -- filters and boosts -------------------------------------------------

    def document_mask(self, filters: Filters | None) -> np.ndarray | None:
        """Which of :attr:`documents` pass the filters (None: all); chunks and indicator records follow them."""
        return self.columns.mask(filters or Filters())

    def _mask(self, positions: Iterable[int]) -> np.ndarray:
        return self.columns.positions_mask(positions)

    def _doc_boost(self, intent: ParsedQuery, weights: Boosts | None) -> np.ndarray:
        """Per-document multipliers, touching only the documents a named place, year or number selects."""
        boost = np.ones(len(self.documents), dtype=np.float32)
        if weights is None:
            return boost
        for place in intent.places:
            boost[list(self._places.get(place, ()))] += weights.locality
        # A document matching several of the query's years is boosted once, as before.
        boost[self._mask(i for y in intent.years for i in self._docs_of_year.get(y, ()))] += weights.year
        boost[self._mask(i for n in intent.numbers for i in self._docs_of_number.get(n, ()))] += weights.number
        return boost

    def _chunk_boost(self, intent: ParsedQuery, rows: np.ndarray, weights: Boosts | None) -> np.ndarray:
        """Boosts that depend on the passage, not only its document; computed for the candidates alone."""
        boost = np.ones(len(rows), dtype=np.float32)
        if weights is None:
            return boost
        asks = len(intent.folded.split()) < LONG_QUERY_WORDS  # (a pasted passage asks nothing)
        figure = wanted_figure(intent.normalized, f"{intent.normalized} {intent.gloss}") if asks else None
        # Only inside a place it names ("Thường Xuân … những xã nào"): "địa phương nào …" alone asks which
        # documents (collapse by document), whose passages need not name a commune.
        place = asks and bool(intent.places) and asks_place(intent.normalized)
        for i, row in enumerate(rows):
            chunk = self.chunks[int(row)]
            meta = self.documents[int(self.doc_of_row[row])].meta
            # Where a document covers several years, a heading naming only others ("Đánh giá … năm 2022") is about them;
            # one naming none is not (boosting the asked year's heading lifted its list items over the line asked for).
            named = {y for y in meta.years if str(y) in chunk.section} if intent.years and len(meta.years) > 1 else ()
            if named and not intent.years & named:
                boost[i] *= 1.0 - weights.other_year
            if intent.asks_signer and meta.signer and meta.signer in chunk.text:
                boost[i] += weights.answer_line
            doc_number = self._number_keys[int(self.doc_of_row[row])]
            written = number_key(chunk.text) if intent.asks_number or intent.numbers else ""
            if (intent.asks_number and doc_number and doc_number in written
                    or intent.asks_date and meta.issued_date and states_date(chunk.text, meta.issued_date)):
                boost[i] += weights.answer_line
            if any(n in written for n in intent.numbers - {doc_number}):
                boost[i] += weights.cited
            if figure is not None and not states(figure, chunk.text):
                boost[i] *= 1.0 - weights.figureless
            if place and not names_place(chunk.text, intent.places):
                boost[i] *= 1.0 - weights.placeless
        return boost

    # -- the batch path -----------------------------------------------------

    def parse(self, query: str | ParsedQuery) -> ParsedQuery:
        """The query parsed once, with this collection's own place names known (a parsed one passes through).

        A query typed without diacritics gets them restored for the encoder, which never saw "ho ngheo" in
        the documents; the lexical leg keeps matching the folded forms. A query in another language gets only its
        Vietnamese names restored ("Binh Luc" but not "to": see DiacriticRestorer.restore_names).
        """
        if isinstance(query, ParsedQuery):
            return query
        parsed = parse_query(query, self._places.keys())
        if not parsed.accented and self.restorer is not None:
            parsed = replace(parsed, known_share=self.restorer.known_share(parsed.normalized))
            if self.options.restore_diacritics:
                restore = self.restorer.restore_names if parsed.foreign else self.restorer.restore
                parsed = replace(parsed, restored=restore(parsed.normalized))
        if self.options.glossary:
            parsed = replace(parsed, gloss=gloss(parsed.normalized if parsed.foreign else parsed.dense_text,
                                                 parsed.foreign, not parsed.accented))
        return parsed

    def search_batch(
        self, queries: Sequence[str | ParsedQuery], k: int = 10, filters: Filters | None = None, mode: Mode = "hybrid",
        watch: Stopwatch | None = None, collapse: bool = False, options: SearchOptions | None = None,
    ) -> list[list[SearchHit]]:
        """Rank chunks for each query; ``watch`` (optional) collects seconds per stage.

        With ``collapse`` the k results are documents (their best passage each, see :func:`collapse_by_document`),
        ranked from a deeper list of passages. ``options`` replaces this searcher's fusion and boost settings.
        """
        watch = watch or Stopwatch()
        wanted = max(k * COLLAPSE_DEPTH, 100) if collapse else k
        parsed, legs = self.rank_legs(queries, max(50, wanted * OVERFETCH), filters, mode, watch)
        results = []
        for query, rankings in zip(parsed, legs, strict=True):
            with watch.stage("fusion"):
                hits = self.fuse(query, rankings, wanted, options)
                lifted = lift_specific(hits, self.lexical, self.options.tokenizer, query) if collapse else hits
                results.append(collapse_by_document(lifted, k) if collapse else hits)
        return results

    def rank_legs(
        self, queries: Sequence[str | ParsedQuery], depth: int, filters: Filters | None = None, mode: Mode = "hybrid",
        watch: Stopwatch | None = None,
    ) -> tuple[list[ParsedQuery], list[dict[str, list[int]]]]:
        """Each query parsed, and each leg's ranking of chunk rows (``depth`` deep), before fusion.

        Public so that fusion settings can be measured over rankings computed once (``eval/fusion.py``).
        """
        if mode == "dense" and self.dense is None:
            raise SearchError(f"dense search is unavailable: {self.dense_status.get('reason', 'no model')}")
        watch = watch or Stopwatch()
        with watch.stage("understand"):
            parsed = [self.parse(q) for q in queries]
        with watch.stage("filters"):
            doc_allowed = self.document_mask(filters)
            row_allowed = doc_allowed[self.doc_of_row] if doc_allowed is not None else None
        use_dense = self.dense is not None and mode in ("hybrid", "dense")
        dense_results = self.dense.search_batch([p.search_text for p in parsed], depth, row_allowed, watch) \
            if use_dense and self.dense else None
        legs = []
        for qi, query in enumerate(parsed):
            rankings: dict[str, list[int]] = {}
            if mode in ("hybrid", "lexical"):
                rankings["lexical"] = self._lexical_ranking(query, depth, row_allowed, watch)
            if dense_results is not None:
                rankings["dense"] = [row for row, _ in dense_results[qi]]
            legs.append(rankings)
        return parsed, legs

    def search(self, query: str | ParsedQuery, k: int = 10, filters: Filters | None = None,
               mode: Mode = "hybrid", watch: Stopwatch | None = None, collapse: bool = False,
               options: SearchOptions | None = None) -> list[SearchHit]:
        return self.search_batch([query], k, filters, mode, watch, collapse, options)[0]

    def _lexical_ranking(self, query: ParsedQuery, depth: int, row_allowed: np.ndarray | None,
                         watch: Stopwatch) -> list[int]:
        with watch.stage("tokenize"):
            tokens = query_tokens(query.normalized, self.options.tokenizer, normalized=True, accented=query.accented)
            if query.restored:  # typed without accents: the restored forms match exactly, the folded ones loosely
                tokens += query_tokens(query.restored, self.options.tokenizer, accented=True)
            tokens += query_tokens(query.gloss, self.options.tokenizer, accented=True) if query.gloss else []
        with watch.stage("lexical"):
            scores = self.lexical.scores(tokens)
            if row_allowed is not None:
                scores = np.where(row_allowed, scores, 0.0)
            return [int(i) for i in _top(scores, depth)]

    def fuse(self, intent: ParsedQuery, rankings: dict[str, list[int]], k: int,
             options: SearchOptions | None = None) -> list[SearchHit]:
        """The legs' rankings fused (weighted RRF) and boosted into the k best hits; ``options`` overrides this
        searcher's fusion settings (measuring them)."""
        options = options or self.options
        live = {leg: rows for leg, rows in rankings.items() if rows}
        fused = fuse_rrf(live, leg_weights(intent, options), options.rrf_k)
        if not fused:
            return []
        boost = self._doc_boost(intent, options.boosts)
        rows = np.fromiter(fused.keys(), dtype=np.int64)
        scores = np.fromiter(fused.values(), dtype=np.float32) * boost[self.doc_of_row[rows]]
        scores *= self._chunk_boost(intent, rows, options.boosts)
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

