"""Which documents may answer a question: the places and years it names must be theirs.

A figure from a neighbouring district, or from another year, stated with
confidence is the worst answer /ask can give, so the question's places and
years are checked against the collection before any line is read:

- a place no document is about gives "Chưa có văn bản nào về huyện Mường Khương";
- a near miss of a place that is there asks back ("Có phải bạn muốn hỏi huyện Bình Lục?");
- a year no document of that place covers gives no answer either.

A place matches a document when it is the document's locality, its province as
it was, or the province it belongs to since 2025 (the merge table); a district
or commune also matches a document of a wider unit that names it in its text
("huyện Hiệp Hòa" in the Bắc Giang provincial resolution).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from answering.memo import PerObject
from corpus.gazetteer import PlaceMention, find_place_mentions, fold
from corpus.models import Chunk
from index.search import Searcher
from index.store import StoredDocument

_RANK = {"tỉnh": 0, "huyện": 1, "xã": 2}
# Year mentions that do not say a document covers the year: ranges, dates, comparisons, price bases.
_NOT_COVERAGE = re.compile(
    r"\d{4}\s*[-–—]\s*\d{4}|\d{1,2}\s*/\s*\d{1,2}\s*/\s*\d{4}|ngay \d{1,2} thang \d{1,2} nam \d{4}"
    r"|(?:so voi|cung ky|gia so sanh|gia ss|gia co dinh)(?: \w+){0,3}? (?:nam )?\d{4}"
)
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_WORDS = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Refusal:
    reason: str  # unknown_place | did_you_mean | year_not_covered | off_topic | not_stated | no_passage
    message: str  # Vietnamese, shown to the user


@dataclass(frozen=True)
class Scope:
    """The documents an answer may come from (None: any) and what the question named."""

    places: tuple[PlaceMention, ...]
    years: frozenset[int]
    documents: frozenset[str] | None
    refusal: Refusal | None = None


class CollectionPlaces:
    """Per snapshot: every document's place keys, folded text, covered years and chunks, computed once."""

    def __init__(self, searcher: Searcher) -> None:
        texts: dict[str, list[str]] = {}
        self.chunks: dict[str, list[Chunk]] = {}
        for chunk in searcher.chunks:
            texts.setdefault(chunk.document_id, []).append(chunk.text)
            self.chunks.setdefault(chunk.document_id, []).append(chunk)
        for chunks in self.chunks.values():
            chunks.sort(key=lambda c: c.start)
        self.documents = {d.id: d for d in searcher.documents}
        folded = {doc_id: fold(" ".join(parts)) for doc_id, parts in texts.items()}
        self.text = {doc_id: " " + " ".join(_WORDS.findall(text)) + " " for doc_id, text in folded.items()}
        self.keys = {d.id: frozenset(fold(x) for x in _places_of(d)) for d in searcher.documents}
        self.known = frozenset(k for keys in self.keys.values() for k in keys)
        self.years = {d.id: frozenset(d.meta.years) | _stated_years(folded.get(d.id, "")) for d in searcher.documents}
        self.spelling = {fold(name): (name, _level_word(d, name)) for d in searcher.documents for name in _places_of(d)}

    def documents_about(self, mention: PlaceMention) -> set[str]:
        """Documents whose place is ``mention``, or of a wider unit that names it in their text."""
        found = {doc_id for doc_id, keys in self.keys.items() if mention.key in keys}
        if mention.level in ("huyện", "xã"):
            needle = f" {mention.key} "
            rank = _RANK[mention.level]
            found |= {doc_id for doc_id, doc in self.documents.items()
                      if _RANK.get(doc.meta.level or "", 3) < rank and needle in self.text.get(doc_id, "")}
        return found

    def label(self, key: str) -> str:
        """"huyện Bình Lục" for a folded key of the collection."""
        name, level = self.spelling.get(key, (key, None))
        return f"{level} {name}" if level else name


def _places_of(doc: StoredDocument) -> list[str]:
    meta = doc.meta
    return [x for x in (meta.locality, meta.province, meta.province_current) if x]


def _level_word(doc: StoredDocument, name: str) -> str | None:
    meta = doc.meta
    if name == meta.locality and meta.level:
        return meta.level
    return "tỉnh" if name in (meta.province, meta.province_current) else None


def _stated_years(folded: str) -> frozenset[int]:
    """Years a text speaks of for themselves (not in a range, a date, a comparison or a price base)."""
    return frozenset(int(y) for y in _YEAR.findall(_NOT_COVERAGE.sub(" ", folded)))


def question_years(text: str) -> frozenset[int]:
    """The years a question asks about, without price bases ("giá so sánh 2010") and dates."""
    return _stated_years(" " + fold(text) + " ")


# What the collection covers, built once per snapshot (it is immutable).
collection_places: PerObject[Searcher, CollectionPlaces] = PerObject(CollectionPlaces)


def scope_of(searcher: Searcher, question: str) -> Scope:
    """The documents the question's places and years allow, or why none may answer."""
    places = collection_places(searcher)
    mentions = tuple(find_place_mentions(question, places.known))
    years = question_years(question)
    for mention in mentions:
        if mention.level is None and mention.near:
            label = places.label(mention.near[0])
            return Scope(mentions, years, frozenset(), Refusal("did_you_mean", f"Có phải bạn muốn hỏi {label}?"))
    allowed: set[str] | None = None
    for level in ("xã", "huyện", "tỉnh"):  # the places of one level widen the answer, each level narrows it
        named = [m for m in mentions if m.level == level]
        about: set[str] = set()
        for mention in named:
            found = places.documents_about(mention)
            if not found:
                return Scope(mentions, years, frozenset(), Refusal(
                    "unknown_place", f"Chưa có văn bản nào về {mention.label}."))
            about |= found
        if named and allowed is not None and not allowed & about:
            return Scope(mentions, years, frozenset(), Refusal(
                "unknown_place", f"Chưa có văn bản nào về {_labels(mentions)}."))
        if named:
            allowed = about if allowed is None else allowed & about
    return _years_scope(places, mentions, years, allowed)


def _labels(mentions: tuple[PlaceMention, ...]) -> str:
    return ", ".join(m.label for m in mentions if m.level is not None)


def _most_specific_first(mentions: Iterable[PlaceMention]) -> list[PlaceMention]:
    return sorted(mentions, key=lambda m: -_RANK.get(m.level or "", 0))


def _years_scope(places: CollectionPlaces, mentions: tuple[PlaceMention, ...], years: frozenset[int],
                 allowed: set[str] | None) -> Scope:
    """Keep the documents that cover a year the question names; none left is a refusal."""
    if not years:
        return Scope(mentions, years, frozenset(allowed) if allowed is not None else None)
    pool = allowed if allowed is not None else set(places.documents)
    covering = {doc_id for doc_id in pool if places.years.get(doc_id, frozenset()) & years}
    if covering:
        return Scope(mentions, years, frozenset(covering) if allowed is not None or covering != pool else None)
    asked = ", ".join(str(y) for y in sorted(years))
    where = next((m.label for m in _most_specific_first(m for m in mentions if m.level)), None)
    held = sorted({y for doc_id in pool for y in places.documents[doc_id].meta.years})
    message = f"Chưa có văn bản nào {'về ' + where + ' ' if where else ''}cho năm {asked}"
    message += f" (các văn bản hiện có nói về năm {', '.join(map(str, held))})." if held and where else "."
    return Scope(mentions, years, frozenset(), Refusal("year_not_covered", message))
