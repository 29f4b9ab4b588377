"""Extractive answers: the line that answers, its figure for numeric questions, where it comes from — or no answer.

No model is needed and nothing is generated: every answer is a span of the
stored text, cited by offsets. A confident wrong figure is worse than none, so
an answer must agree with what the question names before any line is read —
its places and years (:mod:`answering.scope`) — and the chosen line must score
above a threshold calibrated on the dev questions (:mod:`answering.score`).
Refusals say why, in Vietnamese, with a reason code. Questions about the
document itself (signer, number, date, issuer) are answered from its metadata
(:mod:`answering.metadata`); "which localities …" questions get a cited list
(:mod:`answering.listing`).
"""

from __future__ import annotations

from collections.abc import Sequence

from answering.answer import NO_ANSWER, Answer, AnswerItem, Citation, refused
from answering.choose import (
    MAX_PASSAGES,
    MIN_CONFIDENCE,
    MIN_CONFIDENCE_LEXICAL,
    answer_from_lines,
    scoped_hits,
)
from answering.context import build_context
from answering.listing import answer_list, wants_list
from answering.metadata import about_itself, asked_field, field_answer
from answering.scope import Refusal, Scope, collection_places, scope_of
from index.query import ParsedQuery, number_key
from index.search import Searcher, SearchHit

__all__ = ["NO_ANSWER", "MAX_PASSAGES", "MIN_CONFIDENCE", "MIN_CONFIDENCE_LEXICAL", "Answer", "AnswerItem",
           "Citation", "answer_question"]


def answer_question(searcher: Searcher, query: str | ParsedQuery, hits: Sequence[SearchHit],
                    min_confidence: float | None = None) -> Answer:
    """Answer from the collection, or refuse with a reason; ``min_confidence`` overrides the calibrated threshold."""
    query = searcher.parse(query)
    scope = scope_of(searcher, query.text)
    if scope.refusal is not None:
        return refused(scope.refusal)
    field = asked_field(query.text)
    if field is not None:
        answer = _field_answer(searcher, query, hits, scope, field)
        if answer is not None:
            return answer
    if wants_list(query, scope):
        return answer_list(searcher, query, scope, min_confidence)
    return answer_from_lines(searcher, query, hits, scope, min_confidence)


def _field_answer(searcher: Searcher, query: ParsedQuery, hits: Sequence[SearchHit], scope: Scope,
                  field: str) -> Answer | None:
    """Signer, number, date or issuer of the document the question is about, with the line stating it."""
    candidates = scoped_hits(searcher, query, hits, scope)
    named = [h for h in candidates if h.document.meta.number and number_key(h.document.meta.number) in query.numbers]
    pool = named or candidates
    if not pool or not about_itself(query.text, pool[0].document):
        return None
    hit = pool[0]
    places = collection_places(searcher)
    found = field_answer(field, hit.document, places.chunks.get(hit.document.id, []))
    if found is None:
        what = {"signer": "người ký", "number": "số hiệu", "issued_date": "ngày ban hành", "issuer": "cơ quan ban hành",
                "session": "kỳ họp thông qua"}
        return refused(Refusal("not_stated", f"Văn bản không ghi {what[field]}."))
    cited = SearchHit(found.chunk, hit.document, 0.0, ())
    citation = Citation(cited, found.start, found.end, found.quote)
    meta = hit.document.meta
    year = int(meta.issued_date[:4]) if meta.issued_date else None
    context = build_context(meta, year, None, None, f"{found.quote}")
    return Answer(found.value, 0.95, (citation,), context=context)


