"""Collapse by document: "which places decided X" is answered by documents, not passages.

Without collapse one long resolution can fill the first page with its own
paragraphs: :func:`collapse_by_document` keeps each document's best passage.
And a document that shares every word of X but the one that says what is done is
not one of those that decided it — "tổ chức diễn tập khu vực phòng thủ" is not answered by Hà Nội's
2009 "xây dựng thế trận khu vực phòng thủ". BM25 weighs the rare word, but the
dense leg and the other shared words can outweigh it; among the documents a
collapsed search ranks, those whose passage holds the rare term come first.
The /ask list answer (answering.listing) keeps only items that hold it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from corpus.gazetteer import fold
from index.lexical import LexicalIndex
from index.query import LONG_QUERY_WORDS, ParsedQuery
from index.textnorm import TokenizerOptions, expansion_text, query_tokens

if TYPE_CHECKING:
    from index.search import SearchHit

RARE_SHARE = 0.05  # rare: at most this share of the passages holds it (measured: 1 % and 5 % lift the same questions)
LIFT = 0.5  # a collapsed search's score multiplier is 1 + LIFT for a passage holding the rare term


def collapse_by_document(hits: Sequence[SearchHit], k: int) -> list[SearchHit]:
    """The best passage of each document, documents in the order of their best passage, with the count of the rest."""
    best: dict[str, int] = {}
    counts: dict[str, int] = {}
    for i, hit in enumerate(hits):
        doc = hit.document.id
        best.setdefault(doc, i)
        counts[doc] = counts.get(doc, 0) + 1
    order = sorted(best.values())[:k]
    return [replace(hits[i], more_in_document=counts[hits[i].document.id] - 1) for i in order]


def rarest_term(lexical: LexicalIndex, options: TokenizerOptions, query: ParsedQuery,
                exclude: Iterable[str] = ()) -> str | None:
    """The query's compound word (as the lexical index segments it) that the fewest passages hold, folded, lower
    case, syllables between spaces; words of ``exclude`` (place names: each item names its own) aside. None when
    the query has no compound the collection holds."""
    found = _rarest(lexical, options, query, exclude)
    return found[1] if found else None


def _rarest(lexical: LexicalIndex, options: TokenizerOptions, query: ParsedQuery,
            exclude: Iterable[str]) -> tuple[int, str] | None:
    tokens = query_tokens(query.normalized, options, normalized=True, accented=query.accented)
    excluded = " ".join(fold(text) for text in exclude)
    found = [(lexical.document_frequency(token), token) for token in set(tokens) if "_" in token]
    found = [(df, token) for df, token in found if df and fold(token.replace("_", " ")) not in excluded]
    if not found:
        return None
    df, token = min(found)
    return df, fold(token.replace("_", " "))


def holds(text: str, term: str) -> bool:
    """Whether a passage holds the term, abbreviations spelled out ("NTM" holds "nông thôn mới")."""
    return term in _folded(text)


@lru_cache(maxsize=1 << 14)
def _folded(text: str) -> str:
    """Folding a passage and spelling out its abbreviations costs ~0.1 ms; a collapsed search checks 100 passages,
    and the same passages come back query after query."""
    return fold(f"{text} {expansion_text(text)}")


def lift_specific(hits: Sequence[SearchHit], lexical: LexicalIndex, options: TokenizerOptions,
                  query: ParsedQuery) -> list[SearchHit]:
    """Hits re-ranked for a collapsed search: a passage holding the query's rare term scores 1 + LIFT times as much.
    Queries without a rare term (or whose rarest term more than one passage in twenty holds) keep their order,
    and so do pasted passages (/similar), whose rarest word says nothing of what they decide."""
    if len(query.folded.split()) >= LONG_QUERY_WORDS:
        return list(hits)
    found = _rarest(lexical, options, query, query.places)
    if found is None or found[0] > RARE_SHARE * lexical.size:
        return list(hits)
    term = found[1]
    lifted = [replace(hit, score=hit.score * (1.0 + LIFT)) if holds(hit.chunk.text, term) else hit for hit in hits]
    return sorted(lifted, key=lambda hit: -hit.score)

