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

import itertools
import json
import multiprocessing
import os
import re
import string
import threading
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from corpus.clean import normalize_unicode

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:_[^\W\d_]+)*|[%‰]", re.UNICODE)
FOLD_PREFIX = "~"


def fold_diacritics(text: str) -> str:
    """"Hộ nghèo" → "ho ngheo"; đ/Đ → d/D, which Unicode does not decompose."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1 << 17)
def _folded_token(token: str) -> str:
    """A token's folded form; the vocabulary is small, so each distinct token is folded once."""
    return FOLD_PREFIX + fold_diacritics(token)


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


@dataclass(frozen=True)
class _Abbreviation:
    """One abbreviation's patterns, with the plain substrings any match of them must contain.

    A regex search that starts with a look-behind scans the whole text in the
    regex engine; a substring test is a fast scan. ``head`` (the abbreviation's
    first part, case as written) is in every match of ``short``; one of
    ``lowered`` is in the lower-cased text wherever ``long`` matches. Only when
    the substring is present is the regex asked, so the answers are the regex's.
    """

    short: re.Pattern[str]
    long: re.Pattern[str]
    abbr: str
    expansions: tuple[str, ...]
    head: str
    lowered: tuple[str, ...]


# Characters that re.IGNORECASE matches with a Latin letter but whose str.lower() is not that
# letter ("ı", "ſ", "ẛ") or is longer ("İ" → "i̇"): with one of them present, skip the substring test.
_CASE_ODDITIES = frozenset("İıſẛ")


@lru_cache(maxsize=1)
def _abbreviation_patterns() -> list[_Abbreviation]:
    patterns = []
    for abbr, expansions in abbreviations().items():
        loose = r"\s*-\s*".join(re.escape(part) for part in abbr.split("-"))
        short = re.compile(rf"(?<!\w){loose}(?!\w)")
        long = re.compile("|".join(rf"(?<!\w){re.escape(e)}(?!\w)" for e in expansions), re.IGNORECASE)
        lowered = tuple(e.lower() for e in expansions)
        patterns.append(_Abbreviation(short, long, abbr, expansions, abbr.split("-")[0], lowered))
    return patterns


def expansion_text(text: str) -> str:
    """The other form of every abbreviation or spelled-out phrase found in ``text``."""
    extra: list[str] = []
    lowered = None if _CASE_ODDITIES.intersection(text) else text.lower()
    for p in _abbreviation_patterns():
        if p.head in text and p.short.search(text):
            extra.append(p.expansions[0])
        if (lowered is None or any(e in lowered for e in p.lowered)) and p.long.search(text):
            extra.append(p.abbr.replace("-", ""))
    return " ".join(extra)


# -- word segmentation -------------------------------------------------------
#
# pyvi's ViTokenizer.tokenize builds a dict of features per syllable in Python
# and hands it to its CRF; that is two thirds of its time. The functions below
# compute the same features (same names, same order, so crfsuite adds the same
# weights in the same order) from per-syllable parts computed once per distinct
# syllable, and give the CRF attribute lists rather than dicts: a false boolean
# feature, which pyvi passes with value 0.0, is left out, adding 0.0 to no
# score. The output is pyvi's, character for character; tests/test_textnorm.py
# compares the two on every chunk of the seed documents. Only pyvi 0.1.1's model
# and feature set are known: any other version goes through pyvi itself.

_PYVI_VERSION = "0.1.1"
# pyvi's syllable pattern: its abbreviations, specials, web, e-mail, digit, non-word and word patterns.
_SYLLABLE = re.compile(
    r"([A-ZĐ]+\.|Tp\.|Mr\.|Mrs\.|Ms\.|Dr\.|ThS\.|==>|->|\.\.\.|>>|\n|\w+://[^\s]+"
    r"|([a-zA-Z0-9_.+-]+@([a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+)|\d+([\.,_]\d+)+|[^\w\s]|\w+)",
    re.UNICODE,
)
_BI_BEFORE, _TRI_BEFORE = ("-1:word.bi_gram()",), ("-2:word.tri_gram()",)
_BI_AFTER, _TRI_AFTER = ("+1:word.bi_gram()",), ("+2:word.tri_gram()",)
_NONE: tuple[str, ...] = ()
SyllableFeatures = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


@lru_cache(maxsize=1)
def _pyvi() -> tuple[Any, frozenset[str], frozenset[str]] | None:
    """pyvi's CRF tagger and word lists, or None when pyvi is not the version these features copy."""
    from importlib.metadata import version

    from pyvi import ViTokenizer  # loads its CRF model on first use

    if version("pyvi") != _PYVI_VERSION:
        return None
    model = ViTokenizer.ViTokenizer
    return model.model.tagger_, frozenset(model.bi_grams), frozenset(model.tri_grams)


# A crfsuite tagger holds the sequence it is tagging: one sequence at a time (the service tokenises in threads).
_TAGGER_LOCK = threading.Lock()


@lru_cache(maxsize=1 << 16)
def _syllable_features(word: str) -> SyllableFeatures:
    """A syllable's own features, and those it gives its right and left neighbours (pyvi's names)."""
    low, upper, title = word.lower(), word.isupper(), word.istitle()
    own = ("bias", "word.lower():" + low) + (("word.isupper()",) if upper else _NONE)
    own += (("word.istitle()",) if title else _NONE) + (("word.isdigit()",) if word.isdigit() else _NONE)
    as_before = ("-1:word.lower():" + low,) + (("-1:word.istitle()",) if title else _NONE)
    as_before += ("-1:word.isupper()",) if upper else _NONE
    as_after = ("+1:word.lower():" + low,) + (("+1:word.istitle()",) if title else _NONE)
    as_after += ("+1:word.isupper()",) if upper else _NONE
    return own, as_before, as_after


def _crf_items(syllables: list[str], bi_grams: frozenset[str], tri_grams: frozenset[str]) -> list[tuple[str, ...]]:
    """pyvi's word2features for every position, as attribute lists in pyvi's order."""
    n = len(syllables)
    parts = [_syllable_features(s) for s in syllables]
    pairs = zip(syllables, syllables[1:], strict=False)
    bi = [" ".join(pair).lower() in bi_grams for pair in pairs]
    triples = zip(syllables, syllables[1:], syllables[2:], strict=False)
    tri = [" ".join(triple).lower() in tri_grams for triple in triples]
    # left[i]: what position i sees of i-1 and i-2; right[i]: what it sees of i+1 and i+2.
    left = [_NONE] + [parts[i - 1][1] + (_BI_BEFORE if bi[i - 1] else _NONE)
                      + (_TRI_BEFORE if i > 1 and tri[i - 2] else _NONE) for i in range(1, n)]
    right = [parts[i + 1][2] + (_BI_AFTER if bi[i] else _NONE)
             + (_TRI_AFTER if i < n - 2 and tri[i] else _NONE) for i in range(n - 1)] + [_NONE]
    return [parts[i][0] + left[i] + right[i] for i in range(n)]


def _joined(syllables: list[str], labels: list[str]) -> str:
    """pyvi's output: "_" inside a word, except around punctuation, digits and a lower→Title change."""
    out = [syllables[0]]
    for i in range(1, len(labels)):
        word, prev = syllables[i], syllables[i - 1]
        inside = (labels[i] == "I_W" and word not in string.punctuation and prev not in string.punctuation
                  and not word[0].isdigit() and not prev[0].isdigit()
                  and not (word[0].istitle() and not prev[0].istitle()))
        out.append("_" if inside else " ")
        out.append(word)
    return "".join(out)


def _segment(text: str) -> str:
    """pyvi's word segmentation, "Hội đồng nhân dân huyện" → "Hội_đồng nhân_dân huyện", about 3× faster."""
    crf = _pyvi()
    if crf is None:
        from pyvi import ViTokenizer

        return str(ViTokenizer.tokenize(text))
    tagger, bi_grams, tri_grams = crf
    syllables = [m[0] for m in _SYLLABLE.findall(unicodedata.normalize("NFC", text))]
    if not syllables:
        return text
    items = _crf_items(syllables, bi_grams, tri_grams)
    with _TAGGER_LOCK:
        labels = tagger.tag(items)
    return _joined(syllables, labels)


def _words(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def canonical_abbreviations(text: str) -> str:
    """Write every abbreviation as one word: "KT - XH" and "KT-XH" both become "KTXH"."""
    for p in _abbreviation_patterns():
        if "-" in p.abbr and p.head in text:
            text = p.short.sub(p.abbr.replace("-", ""), text)
    return text


def _tokens(text: str, options: TokenizerOptions, normalized: bool = False) -> list[str]:
    text = canonical_abbreviations(text if normalized else normalize_unicode(text))
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
        tokens += [_folded_token(t) for t in tokens]
    return tokens


def query_tokens(query: str, options: TokenizerOptions = TokenizerOptions(), *, normalized: bool = False,
                 accented: bool | None = None) -> list[str]:
    """Tokens a query is matched on: accented, or folded when typed without diacritics.

    A parsed query (:class:`index.query.ParsedQuery`) passes its normalised text and whether it was typed with
    diacritics, so neither is computed twice.
    """
    tokens = _tokens(query, options, normalized)
    if accented is None:
        accented = has_diacritics(query)
    if options.fold and not accented:
        return [FOLD_PREFIX + t for t in tokens]
    return tokens


# -- many documents at once ---------------------------------------------------

PARALLEL_MIN_CHUNKS = 2000  # below this, starting worker processes costs more than they save (a few seconds)


def stored_tokens(texts: Sequence[str], options: TokenizerOptions) -> list[str]:
    """Each text's :func:`document_tokens` as the JSON the store keeps (workers hand back one string per chunk)."""
    return [json.dumps(document_tokens(text, options), ensure_ascii=False) for text in texts]


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Processes for a large ingestion batch.

    Forked when this process runs one thread (the CLI, the benchmarks): they
    start at once and share the loaded pyvi model. Spawned otherwise (the
    service): a fork copies locks that another thread may hold at that moment.
    """
    fork = threading.active_count() == 1
    if fork:
        _pyvi()
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork" if fork else "spawn"))


def pool_chunksize(jobs: int, workers: int) -> int:
    return max(1, jobs // (workers * 16))  # enough pieces that no worker waits long on a straggler


def tokenize_documents(documents: Sequence[Sequence[str]], options: TokenizerOptions,
                       workers: int | None = None) -> list[list[str]]:
    """:func:`stored_tokens` for every document's chunk texts, in order, over processes when the batch is large.

    Tokenising is pure and per chunk, so the result does not depend on how the work is split.
    """
    workers = min(usable_cpus() if workers is None else workers, len(documents))
    if workers < 2 or sum(len(texts) for texts in documents) < PARALLEL_MIN_CHUNKS:
        return [stored_tokens(texts, options) for texts in documents]
    with worker_pool(workers) as pool:
        return list(pool.map(stored_tokens, documents, itertools.repeat(options),
                             chunksize=pool_chunksize(len(documents), workers)))
