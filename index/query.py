"""Query understanding: the locality, years and document number a question names.

They boost matching documents rather than filter them — a user who writes
"Bình Lục" may still want a province-level answer — unless the caller asks
for a filter explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from corpus.clean import normalize_unicode
from index.textnorm import fold_diacritics

_YEAR = re.compile(r"(?<!\d)(19[4-9]\d|20\d\d)(?!\d)")
_NUMBER = re.compile(r"\b\d+[\w.]*(?:\s*[-/]\s*[\wĐđ.]+)+")
# Questions about who signed or which number a document has are answered by one
# line (the signature, the "Số: …" header) that shares few words with the question.
_ASKS_SIGNER = re.compile(r"\b(ai ký|người ký|ký bởi|ai ky|nguoi ky|ky boi)\b", re.IGNORECASE)
_ASKS_NUMBER = re.compile(r"\b(số hiệu|số ký hiệu|so hieu|so ky hieu)\b", re.IGNORECASE)


@dataclass(frozen=True)
class QueryIntent:
    """What a query says about the documents it wants."""

    localities: frozenset[str] = field(default_factory=frozenset)  # folded, lower case
    years: frozenset[int] = field(default_factory=frozenset)
    numbers: frozenset[str] = field(default_factory=frozenset)  # folded, no spaces, lower case
    asks_signer: bool = False
    asks_number: bool = False


def place_key(name: str) -> str:
    """Comparison key for place names: "Bình Lục", "binh luc" and "BÌNH LỤC" are one place."""
    return fold_diacritics(normalize_unicode(name)).lower().strip()


def number_key(number: str) -> str:
    return fold_diacritics(re.sub(r"\s+", "", normalize_unicode(number))).lower()


def understand(query: str, known_places: Iterable[str]) -> QueryIntent:
    """Find known place names (whole words), years and document numbers in ``query``."""
    folded = f" {place_key(query)} "
    folded = re.sub(r"[^\w]+", " ", folded)
    localities = {p for p in known_places if p and f" {p} " in folded}
    years = {int(y) for y in _YEAR.findall(query)}
    numbers = {number_key(m.group(0)) for m in _NUMBER.finditer(query)}
    return QueryIntent(frozenset(localities), frozenset(years), frozenset(numbers),
                       asks_signer=bool(_ASKS_SIGNER.search(query)), asks_number=bool(_ASKS_NUMBER.search(query)))
