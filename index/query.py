"""Query understanding, done once per query: normalised and folded forms, the places, years and number it names.

Every later stage — lexical tokens, boosts, the answering package — reads the
one :class:`ParsedQuery` instead of normalising and matching the text again.
Places and years boost matching documents rather than filter them (a user who
writes "Bình Lục" may still want a province-level answer) unless the caller
asks for a filter explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from corpus.clean import normalize_unicode
from corpus.gazetteer import load_gazetteer
from index.textnorm import fold_diacritics

LONG_QUERY_WORDS = 30  # a pasted passage, not a question (the longest dev question has 26 words)
FOREIGN_SHARE = 0.6  # below this share of Vietnamese syllables an unaccented query is taken as another language
_YEAR = re.compile(r"(?<!\d)(19[4-9]\d|20\d\d)(?!\d)")
_NUMBER = re.compile(r"\b\d+[\w.]*(?:\s*[-/]\s*[\wĐđ.]+)+")
# Questions about who signed or which number a document has are answered by one
# line (the signature, the "Số: …" header) that shares few words with the question.
_ASKS_SIGNER = re.compile(r"\b(ai ký|người ký|ký bởi|ai ky|nguoi ky|ky boi)\b", re.IGNORECASE)
_ASKS_NUMBER = re.compile(r"\b(số hiệu|số ký hiệu|so hieu|so ky hieu)\b", re.IGNORECASE)
# "tuyến đường tỉnh mang số hiệu nào": the number of a road or bridge, not of a document (matched folded).
THING_NUMBERED = re.compile(r"\b(duong|tuyen|quoc lo|tinh lo|cau|road|highway|bridge)\b.{0,40}\b(so hieu|mang so)\b")
# ... and the date it was issued, by the place-and-date line ("Vĩnh Bảo, ngày 12 tháng 12 năm 2023") or the
# adoption sentence; matched on the folded query.
_ASKS_DATE = re.compile(r" (?:ban hanh|thong qua|ky|phat hanh)(?: vao)? ngay nao |\bwhen was .* (?:adopted|issued)")


@dataclass(frozen=True)
class ParsedQuery:
    """What a query says, computed once; ``places`` are comparison keys (see :func:`place_key`)."""

    text: str  # as typed
    normalized: str  # NFC, one tone-mark placement
    folded: str  # lower case, no diacritics, words between single spaces, padded: " chi tieu ho ngheo "
    accented: bool  # typed with diacritics (lexical matching on exact forms, not folded ones)
    places: frozenset[str]  # provinces and districts (gazetteer) and the collection's own places it names
    years: frozenset[int]
    numbers: frozenset[str]  # document numbers, as number_key()
    asks_signer: bool = False
    asks_number: bool = False
    asks_date: bool = False
    restored: str = ""  # what the encoder reads: the normalised text, with diacritics restored when typed without
    known_share: float = 1.0  # of an unaccented query: share of syllables the collection writes (low for English)
    gloss: str = ""  # the documents' terms for its abbreviations, everyday or English phrases (index.phrasing)

    @property
    def dense_text(self) -> str:
        return self.restored or self.normalized

    @property
    def foreign(self) -> bool:
        """Typed in another language (English): unaccented, and few of its syllables are the collection's."""
        return not self.accented and self.known_share < FOREIGN_SHARE

    @property
    def search_text(self) -> str:
        """What the search's dense leg encodes: the query as restored, with its gloss."""
        return f"{self.dense_text} {self.gloss}".strip()


@lru_cache(maxsize=8192)  # each snapshot keys every document's place, type and level again: a few hundred names
def place_key(name: str) -> str:
    """Comparison key for place names: "Bình Lục", "binh luc" and "BÌNH LỤC" are one place."""
    return fold_diacritics(normalize_unicode(name)).lower().strip()


def number_key(number: str) -> str:
    return fold_diacritics(re.sub(r"\s+", "", normalize_unicode(number))).lower()


@lru_cache(maxsize=1)
def gazetteer_place_keys() -> frozenset[str]:
    """Comparison keys of every province and district name longer than three letters, computed once."""
    gazetteer = load_gazetteer()
    return frozenset(place_key(n) for n in set(gazetteer.provinces) | set(gazetteer.districts) if len(n) > 3)


def parse_query(query: str, known_places: Iterable[str] = ()) -> ParsedQuery:
    """Parse once: the places (gazetteer names and ``known_places`` keys, whole words), years and numbers."""
    normalized = normalize_unicode(query)
    lowered = fold_diacritics(normalized).lower()
    folded = " " + " ".join(re.sub(r"[^\w]+", " ", lowered).split()) + " "
    places = {p for p in gazetteer_place_keys().union(known_places) if p and f" {p} " in folded}
    return ParsedQuery(
        text=query, normalized=normalized, folded=folded, accented=fold_diacritics(query) != query,
        places=frozenset(places), years=frozenset(int(y) for y in _YEAR.findall(query)),
        numbers=frozenset(number_key(m.group(0)) for m in _NUMBER.finditer(query)),
        asks_signer=bool(_ASKS_SIGNER.search(query)),
        asks_number=bool(_ASKS_NUMBER.search(query)) and not THING_NUMBERED.search(folded),
        asks_date=bool(_ASKS_DATE.search(folded)),
    )


@lru_cache(maxsize=4096)
def _spelled_date(iso: str) -> re.Pattern[str] | None:
    try:
        year, month, day = (int(x) for x in iso.split("-"))
    except ValueError:
        return None
    return re.compile(rf"ngày\s+0?{day}\s+tháng\s+0?{month}\s+năm\s+{year}(?!\d)", re.IGNORECASE)


def states_date(text: str, iso: str) -> bool:
    """Whether ``text`` writes the date ``iso`` (YYYY-MM-DD) out as documents date themselves: "ngày 12 tháng 12
    năm 2023" (a body line's "Ngày 12/12/2023, Ban Chấp hành … đã tổ chức" dates an event, not the document)."""
    pattern = _spelled_date(iso)
    return bool(pattern and pattern.search(text))
