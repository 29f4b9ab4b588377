"""Which words of a passage really match a query, and which line of it answers best: what a result card leads with.

Matching is by the query's words as the lexical index segments them: "Bình Lục" is one word, so "bình quân" and
"nguồn lực" are not marks for it, and "chỉ tiêu" is not found in "chỉ đạo". A query typed with diacritics matches
only the same accented words; one typed without (and not restored) matches on folded text. Offsets are into the
passage text, so the caller adds the passage's own start to cite the stored document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from answering.asked import STOP_WORDS
from index.textnorm import FOLD_PREFIX, abbreviations, fold_diacritics, query_tokens

_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Terms:
    """A query's words to look for: each a tuple of syllables, with its weight (how much it says)."""

    phrases: tuple[tuple[tuple[str, ...], float], ...]
    folded: bool  # match on folded text: the query had no diacritics

    def __bool__(self) -> bool:
        return bool(self.phrases)


def query_terms(query: str) -> Terms:
    """The words worth marking: compound words whole, single syllables only outside them, no stop words."""
    tokens = query_tokens(query)
    folded = bool(tokens) and all(t.startswith(FOLD_PREFIX) for t in tokens)
    tokens = [t.removeprefix(FOLD_PREFIX) for t in tokens]
    compounds = [tuple(t.split("_")) for t in tokens if "_" in t]
    inside = {syllable for compound in compounds for syllable in compound}
    phrases: dict[tuple[str, ...], float] = {c: float(len(c)) for c in compounds}
    for token in tokens:
        if "_" in token or token in inside or fold_diacritics(token).lower() in STOP_WORDS:
            continue
        if len(token) < 2 and not token.isdigit():
            continue
        phrases.setdefault((token,), 2.0 if token[0].isdigit() else 1.0)
        for expansion in _expansions().get(fold_diacritics(token).lower(), ()):
            phrases.setdefault(tuple(expansion.split()), 2.0)  # "GPMB" also marks "giải phóng mặt bằng"
    return Terms(tuple(phrases.items()), folded)


@lru_cache(maxsize=1)
def _expansions() -> dict[str, tuple[str, ...]]:
    return {fold_diacritics(abbr).lower(): tuple(e for e in full if " " in e) for abbr, full in abbreviations().items()}


@lru_cache(maxsize=4096)
def _pattern(phrase: tuple[str, ...], folded: bool) -> re.Pattern[str]:
    parts = [re.escape(fold_diacritics(s) if folded else s) for s in phrase]
    return re.compile(r"(?<![\w])" + r"[\s\-]+".join(parts) + r"(?![\w])", re.IGNORECASE)


def _folded_text(text: str) -> str:
    """The text folded character by character, so offsets stay those of the original."""
    return "".join((fold_diacritics(ch) or ch)[0] for ch in text)


def matches(text: str, terms: Terms) -> list[tuple[int, int, float]]:
    """Every match of a term in ``text`` as (start, end, weight), in text order, overlaps resolved to the longest."""
    haystack = _folded_text(text) if terms.folded else text
    found = [(m.start(), m.end(), weight) for phrase, weight in terms.phrases
             for m in _pattern(phrase, terms.folded).finditer(haystack)]
    found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    kept: list[tuple[int, int, float]] = []
    for match in found:
        if not kept or match[0] >= kept[-1][1]:
            kept.append(match)
    return kept


def highlight_spans(text: str, terms: Terms) -> list[tuple[int, int]]:
    return [(start, end) for start, end, _ in matches(text, terms)]


def lead_line(text: str, terms: Terms) -> tuple[int, int]:
    """The line holding the most of the query (distinct terms, by weight); the first line when none matches."""
    lines = [(m.start(), m.end()) for m in _LINE.finditer(text) if m.group().strip()]
    if not lines:
        return 0, len(text)
    found = matches(text, terms)
    best, best_score = lines[0], 0.0
    for start, end in lines:
        seen: dict[str, float] = {}
        for m_start, m_end, weight in found:
            if start <= m_start < end:
                seen[_folded_text(text[m_start:m_end]).lower()] = weight
        score = sum(seen.values())
        if score > best_score:
            best, best_score = (start, end), score
    return best
