"""How users write what the documents say: chat abbreviations, everyday words and English, glossed.

A resolution writes "sản lượng thủy sản", "doanh nghiệp", "cơ sở tôn giáo"; a
user asks about "cá, tôm", "công ty", "chùa chiền, nhà thờ", or types "bn",
"ng dân", or asks in English. Neither BM25 nor a small encoder bridges that
reliably, so a question is also read with the documents' terms for the
phrases it uses (``corpus/data/colloquial_terms.json`` and
``english_terms.json``, data rather than code so they grow without touching
the search). The gloss is *added* to what the legs read, never substituted:
a wrong entry adds a few words, it does not take the user's words away.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from index.textnorm import fold_diacritics

_SPACES = re.compile(r"(\s+)")


@lru_cache(maxsize=2)  # the colloquial file feeds three tables: read once
def _load(name: str) -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        (resources.files("corpus") / "data" / name).read_text(encoding="utf-8"))
    return data


def _patterns(table: dict[str, str]) -> tuple[tuple[re.Pattern[str], str], ...]:
    """Whole-phrase, case-insensitive patterns, longest phrase first (it wins over the words inside it)."""
    ordered = sorted(table.items(), key=lambda item: -len(item[0]))
    return tuple((re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)", re.IGNORECASE), term) for phrase, term in ordered)


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, str]:
    """Chat abbreviation → its words ("bn" → "bao nhiêu")."""
    return dict(_load("colloquial_terms.json")["abbreviations"])


@lru_cache(maxsize=1)
def _everyday() -> tuple[tuple[re.Pattern[str], str], ...]:
    return _patterns(_load("colloquial_terms.json")["everyday"])


@lru_cache(maxsize=1)
def _everyday_folded() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The everyday phrases without diacritics ("ga vit"), for queries typed without them: the restorer may
    read a colloquial word as another ("heo" as "hẻo") and the accented phrase would then not match."""
    table = _load("colloquial_terms.json")["everyday"]
    return _patterns({fold_diacritics(phrase): term for phrase, term in table.items()})


@lru_cache(maxsize=1)
def _english() -> tuple[tuple[re.Pattern[str], str], ...]:
    return _patterns(_load("english_terms.json")["terms"])


def spell_out(text: str) -> str:
    """``text`` with each chat abbreviation written out ("bn xa" → "bao nhiêu xa"); other words as they are."""
    table = abbreviations()
    return "".join(table.get(part.lower(), part) for part in _SPACES.split(text))


def _gloss(text: str, patterns: tuple[tuple[re.Pattern[str], str], ...]) -> list[str]:
    """The terms for the phrases of ``text``; a phrase inside a longer matched one is not read again."""
    found = []
    for pattern, term in patterns:
        if pattern.search(text):
            found.append(term)
            text = pattern.sub(" ", text)
    return found


def everyday_gloss(text: str) -> str:
    """The documents' terms for the everyday phrases of ``text`` ("con heo" → "lợn")."""
    return " ".join(_gloss(text, _everyday()))


def english_gloss(text: str) -> str:
    """The Vietnamese terms for the English phrases of ``text`` ("" when it has none)."""
    return " ".join(_gloss(text, _english()))


def english_rest(text: str) -> str:
    """The words of ``text`` the English glossary does not cover (and which are not capitalised names)."""
    for pattern, _ in _english():
        text = pattern.sub(" ", text)
    return " ".join(w for w in text.split() if not w[:1].isupper())


def gloss(text: str, foreign: bool = False, unaccented: bool = False) -> str:
    """What a query adds to what it says: its abbreviations written out and the documents' terms for its
    everyday (or, ``foreign``, English) phrases; ``unaccented``: also matched without diacritics. Empty when the
    glossary knows none of its words."""
    spelled = spell_out(text)
    terms = _gloss(spelled, _english()) if foreign else _gloss(spelled, _everyday())
    if unaccented and not foreign:
        terms = list(dict.fromkeys(terms + _gloss(fold_diacritics(spelled), _everyday_folded())))
    added = [spelled] if spelled != text else []
    return " ".join([*added, *terms])
