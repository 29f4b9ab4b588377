"""Searching and comparing indicator records across documents, and answering numeric questions from them.

The table of one snapshot is built from its raw records on first use
(:func:`indicator_table`) and kept as long as the snapshot lives, so retrieval
does not depend on answering.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from corpus.indicators import known_keys
from corpus.models import Indicator
from index.filters import Filters
from index.query import place_key
from index.search import Searcher
from index.store import StoredDocument
from index.textnorm import expansion_text, fold_diacritics


@dataclass(frozen=True)
class RecordFilters:
    """What a record itself must say; where it comes from is filtered by :class:`index.filters.Filters`."""

    q: str | None = None  # words the indicator's name must contain
    key: str | None = None
    year: int | None = None  # the year the figure is for (not the document's years)
    kind: str | None = None


@dataclass(frozen=True)
class IndicatorHit:
    record: Indicator
    document: StoredDocument

    @cached_property
    def place_keys(self) -> frozenset[str]:
        """Comparison keys of the document's locality and province (computed once, not per question)."""
        meta = self.document.meta
        return frozenset(place_key(x) for x in (meta.locality, meta.province) if x)

    @cached_property
    def name_words(self) -> frozenset[str]:
        return frozenset(_words(self.record.indicator) | _words(self.record.key))


class IndicatorTable(list[IndicatorHit]):
    """The records of one snapshot, in document order, with the ones of each key grouped for /ask."""

    def __init__(self, hits: Iterable[IndicatorHit] = ()) -> None:
        super().__init__(hits)
        self.by_key: dict[str, list[tuple[int, IndicatorHit]]] = {}  # key → (position in the table, record)
        for position, hit in enumerate(self):
            self.by_key.setdefault(hit.record.key, []).append((position, hit))


_TABLES: weakref.WeakKeyDictionary[Searcher, IndicatorTable] = weakref.WeakKeyDictionary()
_TABLES_LOCK = threading.Lock()


def indicator_table(searcher: Searcher) -> IndicatorTable:
    """The snapshot's records with their documents, built once per snapshot (it is immutable)."""
    with _TABLES_LOCK:
        table = _TABLES.get(searcher)
        if table is None:
            by_id = {d.id: d for d in searcher.documents}
            table = IndicatorTable(IndicatorHit(record, by_id[doc_id]) for doc_id, record in searcher.indicator_records
                                   if doc_id in by_id)
            _TABLES[searcher] = table
        return table


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", fold_diacritics(text.lower())))


@lru_cache(maxsize=4096)
def _key_words(key: str) -> frozenset[str]:
    return frozenset(_words(key) - _GENERIC)


def _matches(record: Indicator, f: RecordFilters) -> bool:
    if f.kind and record.kind != f.kind:
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
            if (allowed is None or allowed[position[h.document.id]]) and _matches(h.record, record)]


def compare(hits: Sequence[IndicatorHit], key: str) -> list[IndicatorHit]:
    """One record per locality, year and kind for ``key``: the first the document states, in document order."""
    seen: set[tuple[str | None, int | None, str]] = set()
    rows = []
    for hit in hits:
        if hit.record.key != key:
            continue
        group = (hit.document.meta.locality, hit.record.year, hit.record.kind)
        if group in seen:
            continue
        seen.add(group)
        rows.append(hit)
    return sorted(rows, key=lambda h: (h.document.meta.province or "", h.document.meta.locality or "",
                                       h.record.year or 0, h.record.kind))


_NUMERIC = re.compile(r"\b(bao nhiêu|bao nhieu|mấy|chỉ tiêu|chi tieu|tỷ lệ|ty le|mục tiêu|muc tieu|đạt|dat)\b",
                      re.IGNORECASE)
# Words every other key shares ("tỷ lệ", "giá trị sản xuất"); the rest of a key must be in the question.
_GENERIC = {"ty", "le", "tong", "gia", "tri", "san", "xuat", "so", "muc", "toan", "binh", "quan"}
_TARGET_CUES = re.compile(r"chỉ tiêu|chi tieu|mục tiêu|muc tieu|phấn đấu|phan dau|kế hoạch|ke hoach", re.IGNORECASE)


def best_record(question: str, table: IndicatorTable, places: set[str], years: set[int]) -> IndicatorHit | None:
    """The record a numeric question asks for, when one matches its words, place and year well.

    The indicator's own name must be covered by the question (most of its
    words), the place and year the question names must match, and among
    equals a target is preferred when the question says "chỉ tiêu". Keys are
    checked once each, so only the records of keys the question names are
    looked at — a question costs the same over 100 documents as over 10,000.
    """
    if not _NUMERIC.search(question):
        return None
    asked = _words(question) | _words(expansion_text(question))
    wants_target = bool(_TARGET_CUES.search(question))
    best: tuple[float, int, IndicatorHit] | None = None
    known = known_keys()
    for key, hits in table.by_key.items():
        key_words = _key_words(key)
        if key not in known or not key_words or len(key_words & asked) / len(key_words) < 0.75:
            continue  # a free-form name is too loose to answer from; a key the question does not name is not asked
        for position, hit in hits:
            if places and not hit.place_keys & places:
                continue
            if years and hit.record.year not in years:
                continue
            kind_fits = (hit.record.kind == "target") == wants_target
            score = len(hit.name_words & asked) / len(hit.name_words) + (0.2 if kind_fits else 0)
            # Ties go to the record that comes first in the table, as when the table was scanned in order.
            if best is None or score > best[0] or (score == best[0] and position < best[1]):
                best = (score, position, hit)
    return best[2] if best else None

