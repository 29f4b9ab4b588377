"""Searching and comparing indicator records across documents, and answering numeric questions from them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from corpus.indicators import known_keys
from corpus.models import Indicator
from index.query import place_key
from index.store import StoredDocument
from index.textnorm import expansion_text, fold_diacritics


@dataclass(frozen=True)
class IndicatorFilters:
    q: str | None = None
    key: str | None = None
    province: str | None = None
    locality: str | None = None
    year: int | None = None
    kind: str | None = None
    document_id: str | None = None


@dataclass(frozen=True)
class IndicatorHit:
    record: Indicator
    document: StoredDocument


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", fold_diacritics(text.lower())))


def _matches(hit: IndicatorHit, f: IndicatorFilters) -> bool:
    record, meta = hit.record, hit.document.meta
    if f.document_id and hit.document.id != f.document_id:
        return False
    if f.kind and record.kind != f.kind:
        return False
    if f.year is not None and record.year != f.year:
        return False
    if f.key and record.key != f.key:
        return False
    for wanted, actual in ((f.province, meta.province), (f.locality, meta.locality)):
        if wanted and (not actual or place_key(actual) != place_key(wanted)):
            return False
    if f.q:
        wanted_words = _words(f.q)
        return wanted_words <= (_words(record.indicator) | _words(record.key))
    return True


def find_indicators(hits: Sequence[IndicatorHit], filters: IndicatorFilters) -> list[IndicatorHit]:
    return [h for h in hits if _matches(h, filters)]


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


def best_record(question: str, hits: Sequence[IndicatorHit], places: set[str], years: set[int]) -> IndicatorHit | None:
    """The record a numeric question asks for, when one matches its words, place and year well.

    The indicator's own name must be covered by the question (most of its
    words), the place and year the question names must match, and among
    equals a target is preferred when the question says "chỉ tiêu".
    """
    if not _NUMERIC.search(question):
        return None
    asked = _words(question) | _words(expansion_text(question))
    wants_target = bool(_TARGET_CUES.search(question))
    best: tuple[float, IndicatorHit] | None = None
    known = known_keys()
    for hit in hits:
        if hit.record.key not in known:  # a free-form name is too loose to answer from
            continue
        meta = hit.document.meta
        if places and not {place_key(x) for x in (meta.locality, meta.province) if x} & places:
            continue
        if years and hit.record.year not in years:
            continue
        name_words = _words(hit.record.indicator) | _words(hit.record.key)
        key_words = _words(hit.record.key) - _GENERIC
        if not key_words or len(key_words & asked) / len(key_words) < 0.75:
            continue
        kind_fits = (hit.record.kind == "target") == wants_target
        score = len(name_words & asked) / len(name_words) + (0.2 if kind_fits else 0)
        if best is None or score > best[0]:
            best = (score, hit)
    return best[1] if best else None

