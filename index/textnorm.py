"""Vietnamese tokens for the lexical index and for queries.

A document token stream holds, for every word: its syllables (lower case),
pyvi's multi-syllable words ("tỷ_lệ", "bình_lục"), and the same two with the
diacritics folded away behind a "~" prefix ("~ty", "~ty_le"). A query typed
with diacritics is matched on the accented tokens; one typed without any is
matched on the folded ones, so "chi tieu ho ngheo binh luc" finds what the
accented query finds without the folded tokens diluting accented queries.
Numbers stay whole ("3,7", "2.841") and units stand apart, so "3,7%" and
"3,7 %" give the same tokens.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from corpus.clean import normalize_unicode

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:_[^\W\d_]+)*|[%‰]", re.UNICODE)
FOLD_PREFIX = "~"


def fold_diacritics(text: str) -> str:
    """"Hộ nghèo" → "ho ngheo"; đ/Đ → d/D, which Unicode does not decompose."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def has_diacritics(text: str) -> bool:
    return fold_diacritics(text) != text


@dataclass(frozen=True)
class TokenizerOptions:
    """Switches the eval runner's ablations turn off one by one."""

    segment_words: bool = True
    fold: bool = True
    expand_abbreviations: bool = True


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, tuple[str, ...]]:
    raw = json.loads((resources.files("index") / "data" / "abbreviations.json").read_text(encoding="utf-8"))
    return {normalize_unicode(k): tuple(normalize_unicode(v) for v in vs) for k, vs in raw.items()
            if not k.startswith("_")}


@lru_cache(maxsize=1)
def _abbreviation_patterns() -> list[tuple[re.Pattern[str], re.Pattern[str], str, tuple[str, ...]]]:
    patterns = []
    for abbr, expansions in abbreviations().items():
        loose = r"\s*-\s*".join(re.escape(part) for part in abbr.split("-"))
        short = re.compile(rf"(?<!\w){loose}(?!\w)")
        long = re.compile("|".join(rf"(?<!\w){re.escape(e)}(?!\w)" for e in expansions), re.IGNORECASE)
        patterns.append((short, long, abbr, expansions))
    return patterns


def expansion_text(text: str) -> str:
    """The other form of every abbreviation or spelled-out phrase found in ``text``."""
    extra: list[str] = []
    for short, long, abbr, expansions in _abbreviation_patterns():
        if short.search(text):
            extra.append(expansions[0])
        if long.search(text):
            extra.append(abbr.replace("-", ""))
    return " ".join(extra)


def _segment(text: str) -> str:
    from pyvi import ViTokenizer  # loads its CRF model on first use

    return str(ViTokenizer.tokenize(text))


def _words(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def canonical_abbreviations(text: str) -> str:
    """Write every abbreviation as one word: "KT - XH" and "KT-XH" both become "KTXH"."""
    for short, _long, abbr, _expansions in _abbreviation_patterns():
        if "-" in abbr:
            text = short.sub(abbr.replace("-", ""), text)
    return text


def _tokens(text: str, options: TokenizerOptions) -> list[str]:
    text = canonical_abbreviations(normalize_unicode(text))
    tokens = _words(text)
    if options.segment_words:
        tokens += [w for w in _words(_segment(text)) if "_" in w]
    return tokens


def document_tokens(text: str, options: TokenizerOptions = TokenizerOptions()) -> list[str]:
    """Tokens a chunk (with its context header) is indexed under."""
    if options.expand_abbreviations:
        text = f"{text}\n{expansion_text(text)}"
    tokens = _tokens(text, options)
    if options.fold:
        tokens += [FOLD_PREFIX + fold_diacritics(t) for t in tokens]
    return tokens


def query_tokens(query: str, options: TokenizerOptions = TokenizerOptions()) -> list[str]:
    """Tokens a query is matched on: accented, or folded when typed without diacritics."""
    tokens = _tokens(query, options)
    if options.fold and not has_diacritics(query):
        return [FOLD_PREFIX + t for t in tokens]
    return tokens
