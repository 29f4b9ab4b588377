"""The indicator table of a snapshot: every figure as a record with its key, kind and period, searchable and comparable.

The table of one snapshot is built from its raw records on first use
(:func:`indicator_table`) and kept as long as the snapshot lives. Each record
is described again here (:func:`corpus.indicators.describe`) from the stored
text around it, so an index built by an older extractor gets the current key
vocabulary, kinds and periods without being rebuilt. A comparison puts side by
side only what can be compared — the same key, unit, measure (a level, a growth
rate or a share of the plan) and period — and says what it left out and why.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

from answering.asked import Asked
from answering.lines import Line
from answering.memo import PerObject
from answering.records import RecordFacts, describe, keys_named_in
from answering.scope import collection_places
from corpus.gazetteer import fold
from corpus.indicators import known_keys
from corpus.models import Chunk, Indicator
from index.filters import Filters
from index.query import place_key
from index.search import Searcher
from index.store import StoredDocument

_CLAUSE_END = re.compile(r"\n|;|\.\s+(?=[A-ZĐÀ-Ỹ])")
_WORD = re.compile(r"[^\W_]+")
# Words every other key shares ("tỷ lệ", "giá trị sản xuất"); the rest of a key must be in the question.
_GENERIC = frozenset({"ty", "le", "tong", "gia", "tri", "san", "xuat", "so", "muc", "toan", "binh", "quan", "duoc"})
MEASURES = {"target": "level", "result": "level", "estimate": "level", "plan": "plan", "growth": "growth"}


@dataclass(frozen=True)
class RecordFilters:
    """What a record itself must say; where it comes from is filtered by :class:`index.filters.Filters`."""

    q: str | None = None  # words the indicator's name must contain
    key: str | None = None
    year: int | None = None  # the year the figure is for (not the document's years)
    kind: str | None = None  # target | result | estimate | plan | growth


@dataclass(frozen=True)
class IndicatorHit:
    record: Indicator  # with its name and key as described now
    document: StoredDocument
    facts: RecordFacts | None = None

    @property
    def kind(self) -> str:
        """target | result | estimate | plan | growth (``record.kind`` keeps the coarse target/result)."""
        return self.facts.kind if self.facts else self.record.kind

    @property
    def period(self) -> str:
        return self.facts.period if self.facts else "year"

    @property
    def measure(self) -> str:
        """level, growth or plan: only records of one measure can be compared."""
        return MEASURES.get(self.kind, "level")

    @cached_property
    def place_keys(self) -> frozenset[str]:
        """Comparison keys of the document's locality and province (computed once, not per question)."""
        meta = self.document.meta
        return frozenset(place_key(x) for x in (meta.locality, meta.province) if x)

    @cached_property
    def name_words(self) -> frozenset[str]:
        return frozenset(_words(self.record.indicator) | _words(self.record.key))


class IndicatorTable(list[IndicatorHit]):
    """The records of one snapshot, in document order, grouped by key and by document (ordered by figure end)."""

    def __init__(self, hits: Iterable[IndicatorHit] = ()) -> None:
        super().__init__(hits)
        self.by_key: dict[str, list[tuple[int, IndicatorHit]]] = {}  # key → (position in the table, record)
        self.by_document: dict[str, list[IndicatorHit]] = {}
        for position, hit in enumerate(self):
            self.by_key.setdefault(hit.record.key, []).append((position, hit))
            self.by_document.setdefault(hit.document.id, []).append(hit)
        for hits in self.by_document.values():
            hits.sort(key=lambda h: h.record.end)
        self.ends = {doc_id: [h.record.end for h in hits] for doc_id, hits in self.by_document.items()}

    def key_counts(self) -> Counter[str]:
        """Comparable keys with their number of localities (records without a key are not listed)."""
        places: dict[str, set[str | None]] = {}
        for hit in self:
            if hit.record.key:
                places.setdefault(hit.record.key, set()).add(hit.document.meta.locality)
        return Counter({key: len(localities) for key, localities in places.items()})


def _build_table(searcher: Searcher) -> IndicatorTable:
    return IndicatorTable(_described(searcher))


# The snapshot's records with their documents, built once per snapshot (it is immutable).
indicator_table: PerObject[Searcher, IndicatorTable] = PerObject(_build_table)


def _described(searcher: Searcher) -> list[IndicatorHit]:
    """Every stored record, named, keyed and classified from the text around it."""
    by_id = {d.id: d for d in searcher.documents}
    chunks = collection_places(searcher).chunks
    hits: list[IndicatorHit] = []
    previous: Indicator | None = None
    for doc_id, record in searcher.indicator_records:
        if doc_id not in by_id:
            continue
        around = _Around(chunks.get(doc_id, []))
        same_clause = previous is not None and previous.start == record.start and hits[-1].document.id == doc_id
        facts = describe(record, around.after(record.end), hits[-1].record.indicator if same_clause else None,
                         around.before(record.start))
        described = replace(record, indicator=facts.name, key=facts.key)
        hits.append(IndicatorHit(described, by_id[doc_id], facts))
        previous = record
    return hits


class _Around:
    """The stored text just before and after an offset of one document, read from its chunks."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks
        self.starts = [c.start for c in chunks]

    def _chunk(self, offset: int) -> Chunk | None:
        at = bisect_right(self.starts, offset) - 1
        return self.chunks[at] if at >= 0 and offset <= self.chunks[at].end else None

    def after(self, offset: int) -> str:
        chunk = self._chunk(offset)
        if chunk is None:
            return ""
        text = chunk.text[offset - chunk.start : offset - chunk.start + 200]
        end = _CLAUSE_END.search(text)
        return text[: end.start()] if end else text

    def before(self, offset: int) -> str:
        chunk = self._chunk(offset)
        if chunk is None:
            return ""
        text = chunk.text[max(0, offset - chunk.start - 400) : offset - chunk.start]
        return text.rsplit("\n", 1)[-1]


def _words(text: str) -> set[str]:
    return set(_WORD.findall(fold(text)))


@lru_cache(maxsize=4096)
def _key_words(key: str) -> frozenset[str]:
    return frozenset(_words(key) - _GENERIC)


def _matches(hit: IndicatorHit, f: RecordFilters) -> bool:
    record = hit.record
    if f.kind and f.kind not in (hit.kind, record.kind):
        return False
    if f.year is not None and record.year != f.year:
        return False
    if f.key and record.key != f.key:
        return False
    return not f.q or _words(f.q) <= (_words(record.indicator) | _words(record.key))


def find_indicators(searcher: Searcher, filters: Filters, record: RecordFilters) -> list[IndicatorHit]:
    """The snapshot's records whose document passes ``filters`` and which say what ``record`` asks."""
    allowed = searcher.document_mask(filters)
    position = searcher.columns.position
    return [h for h in indicator_table(searcher)
            if (allowed is None or allowed[position[h.document.id]]) and _matches(h, record)]


@lru_cache(maxsize=256)  # one question asks it of every candidate line and record: computed once per question
def asked_keys(asked: Asked) -> frozenset[str]:
    """Keys of the vocabulary a question names: by the naming rules on the question (with diacritics restored
    and abbreviations expanded), else the keys whose distinctive words it holds — the most fully covered, and
    of those the most specific ("… thể thấp còi" rather than "tỷ lệ trẻ em suy dinh dưỡng")."""
    named = keys_named_in(f"{asked.expanded} {asked.query.dense_text}")
    if named:
        return frozenset(named)
    words = asked.all_words
    covered: dict[str, float] = {}
    for key in known_keys():
        distinctive = _key_words(key)
        if distinctive:
            share = len(distinctive & words) / len(distinctive)
            if share >= 0.75:
                covered[key] = share
    if not covered:
        return frozenset()
    best = max(covered.values())
    kept = {key for key, share in covered.items() if share == best}
    return frozenset(key for key in kept if not any(_key_words(key) < _key_words(other) for other in kept))


def names_key(line: Line, keys: frozenset[str]) -> bool:
    """Whether the line (with its sentence's subject) holds the distinctive words of one of ``keys``."""
    return any(_key_words(key) <= line.lead_words for key in keys)


def line_records(searcher: Searcher, line: Line) -> list[IndicatorHit]:
    """The records whose figure ends inside the line."""
    table = indicator_table(searcher)
    doc_id = line.document_id
    ends = table.ends.get(doc_id)
    if not ends:
        return []
    lo, hi = bisect_left(ends, line.start + 1), bisect_right(ends, line.end + 1)
    return table.by_document[doc_id][lo:hi]


def record_facts(hit: IndicatorHit) -> RecordFacts:
    return hit.facts or describe(hit.record)


@dataclass(frozen=True)
class ComparisonGroup:
    """Records that compare: one key, one unit, one measure (level, growth or plan share) and one period."""

    measure: str
    period: str
    unit: str
    rows: tuple[IndicatorHit, ...]


@dataclass(frozen=True)
class Comparison:
    key: str
    main: ComparisonGroup | None  # the group with the most localities: the comparison shown
    others: tuple[ComparisonGroup, ...]  # compatible among themselves, not with the main group
    left_out: tuple[tuple[IndicatorHit, str], ...]  # every record not in the main group, with the reason


def compare_groups(hits: Iterable[IndicatorHit], key: str) -> Comparison:
    """Group ``key``'s records by unit, measure and period (one row per locality, year and kind in each)."""
    groups: dict[tuple[str, str, str], list[IndicatorHit]] = {}
    seen: set[tuple[str | None, int | None, str, str, str, str]] = set()
    for hit in hits:
        if hit.record.key != key:
            continue
        group = (hit.measure, hit.period, hit.record.unit)
        row = (hit.document.meta.locality, hit.record.year, hit.kind, *group)
        if row in seen:
            continue  # the first statement in document order stands for a repeated one
        seen.add(row)
        groups.setdefault(group, []).append(hit)
    built = [ComparisonGroup(m, p, u, tuple(_ordered(rows))) for (m, p, u), rows in groups.items()]
    built.sort(key=lambda g: (-len({h.document.meta.locality for h in g.rows}), -len(g.rows), g.measure != "level"))
    main = built[0] if built else None
    left_out = tuple((hit, _why(hit, main)) for group in built[1:] for hit in group.rows) if main else ()
    return Comparison(key, main, tuple(built[1:]), left_out)


def _ordered(rows: Sequence[IndicatorHit]) -> list[IndicatorHit]:
    return sorted(rows, key=lambda h: (h.document.meta.province or "", h.document.meta.locality or "",
                                       h.record.year or 0, h.kind))


def _why(hit: IndicatorHit, main: ComparisonGroup) -> str:
    """Why a record is not compared with the main group, in Vietnamese."""
    reasons = []
    if hit.record.unit != main.unit:
        reasons.append(f"đơn vị khác ({hit.record.unit}, không phải {main.unit})")
    if hit.measure != main.measure:
        labels = {"level": "mức đạt", "growth": "tốc độ tăng", "plan": "tỷ lệ so với kế hoạch"}
        reasons.append(f"{labels[hit.measure]}, không phải {labels[main.measure]}")
    if hit.period != main.period:
        labels = {"year": "cả năm", "half_first": "6 tháng đầu năm", "half_second": "6 tháng cuối năm",
                  "five_year": "cả giai đoạn"}
        reasons.append(f"kỳ {labels.get(hit.period, hit.period)}, không phải {labels.get(main.period, main.period)}")
    return "; ".join(reasons)


def compare(hits: Iterable[IndicatorHit], key: str) -> list[IndicatorHit]:
    """The rows of ``key``'s main comparison (see :func:`compare_groups`); incompatible records are left out."""
    comparison = compare_groups(hits, key)
    return list(comparison.main.rows) if comparison.main else []
