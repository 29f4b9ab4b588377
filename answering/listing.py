""""Which localities …" questions: a list across documents, one cited line per document.

A single quote cannot answer "những địa phương nào đề ra nhiệm vụ phân loại rác
thải tại nguồn?" — the first document's line names one district and misses the
others. The collection is searched one passage per document, each document's
best line is scored like any answer line, and every document whose line is on
topic becomes one item, with its place and its citation. A document whose
best line is not about the question is left out rather than listed, and so is
one whose line lacks the question's most specific term: "tổ chức diễn tập khu
vực phòng thủ" is not answered by Hà Nội's "xây dựng thế trận khu vực phòng
thủ", which shares every other word.
"""

from __future__ import annotations

import re

import numpy as np

from answering.answer import Answer, AnswerItem, refused
from answering.asked import Asked
from answering.choose import line_answer, rank_lines, threshold
from answering.lines import Line, candidate_lines
from answering.scope import Refusal, Scope
from answering.score import confidence
from corpus.gazetteer import fold
from index.collapse import holds
from index.collapse import rarest_term as index_rarest_term
from index.query import ParsedQuery
from index.search import Searcher

_LIST_CUES = re.compile(
    r"\b(?:nhung|cac) (?:dia phuong|huyen|tinh|nghi quyet|van ban|noi|don vi) nao\b|\b(?:dia phuong|huyen|tinh|"
    r"nghi quyet|van ban) nao (?:co|de ra|neu|giao|dat)\b|\b(?:o|cua|tai) cac (?:huyen|tinh|dia phuong)\b"
    r"|\bcac dia phuong\b|\btrong cac nghi quyet\b|\bwhich (?:localities|districts|provinces|places)\b")
MAX_ITEMS = 6
ITEM_CONFIDENCE = 0.85
ITEM_COVERAGE = 0.75
FIRST_ITEM_COVERAGE = 0.5
DOCUMENTS_SEARCHED = 10


def wants_list(query: ParsedQuery, scope: Scope) -> bool:
    """A list is wanted when the question asks "which places" without naming one, or names several districts."""
    named = [m for m in scope.places if m.level is not None]
    if len({m.key for m in named if m.level == "huyện"}) >= 2:
        return True
    return not named and bool(_LIST_CUES.search(" " + fold(query.text) + " "))


def rarest_term(searcher: Searcher, query: ParsedQuery, scope: Scope) -> str | None:
    """The question's most specific term (:func:`index.collapse.rarest_term`), the places it names aside."""
    return index_rarest_term(searcher.lexical, searcher.options.tokenizer, query, [m.text for m in scope.places])


def answer_list(searcher: Searcher, query: ParsedQuery, scope: Scope, min_confidence: float | None = None) -> Answer:
    """One item per document whose best line answers, best first; no answer when none does."""
    hits = searcher.search(query, DOCUMENTS_SEARCHED, collapse=True)
    if scope.documents is not None:
        hits = [h for h in hits if h.document.id in scope.documents]
    asked = Asked(query, scope.places)
    found: list[tuple[Line, float]] = []
    for hit in hits:
        lines = candidate_lines([hit], None, 1)
        if lines:
            _, scored, dense = rank_lines(searcher, query, lines, asked)
            best = int(np.argmax(scored))
            sure = confidence(scored, best, dense)
            if sure >= threshold(dense, min_confidence):
                found.append((lines[best], sure))
    # Every item must hold most of the topic's words itself: a document that merely touches the matter
    # ("xây dựng nông thôn mới" for "nông thôn mới nâng cao") is left out. Beyond the first, an item must also
    # be sure. With places named, the places decide.
    items: list[AnswerItem] = []
    term = None if scope.documents is not None else rarest_term(searcher, query, scope)
    for line, sure in found:
        needed = 0.0 if scope.documents is not None else ITEM_COVERAGE if items else FIRST_ITEM_COVERAGE
        if asked.coverage(line.lead_words) < needed or items and sure < ITEM_CONFIDENCE:
            continue
        if term is not None and not holds(f"{line.lead} {line.text}", term):
            continue
        answer = line_answer(searcher, asked, line, sure)
        if answer.context is not None:
            meta = line.hit.document.meta
            items.append(AnswerItem(meta.locality or meta.province, answer.text or "", answer.citations[0],
                                    answer.context))
        if len(items) == MAX_ITEMS:
            break
    if not items:
        return refused(Refusal("off_topic", "Không tìm thấy địa phương nào có nội dung này trong các văn bản hiện có."))
    text = "; ".join(f"{item.place or 'Không rõ địa phương'}: {item.text}" for item in items)
    sure = min(s for line, s in found if any(line.hit.document.id == i.citation.hit.document.id for i in items))
    return Answer(text, round(float(sure), 3), tuple(item.citation for item in items), items=tuple(items),
                  context=items[0].context)
