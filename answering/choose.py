"""The line that answers: candidates from the allowed passages, filtered, scored, and kept above a threshold.

A candidate must be about a year the question names, hold a figure when the
question wants one, and — when the question names an indicator — not be a
figure of another indicator ("tăng 17,8%" of retail sales never answers forest
cover). The survivors are scored (:mod:`answering.score`); the best one answers
when its calibrated confidence reaches the threshold, which was chosen on the
dev questions so that wrong answers stay at or below 2 % of those answered
(eval/reports/answers.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from answering.answer import NO_ANSWER, Answer, Citation, refused
from answering.asked import PRICE_BASES, Asked, line_has_type
from answering.context import build_context
from answering.indicators import IndicatorHit, asked_keys, line_records, names_key, record_facts
from answering.lines import Line, candidate_lines, merge_hits
from answering.scope import Refusal, Scope
from answering.score import confidence, features, has_figure, scores
from answering.topic import embedder_of, similarities
from corpus.gazetteer import fold
from index.filters import Filters
from index.query import ParsedQuery
from index.search import Searcher, SearchHit
from index.wants import states

MIN_CONFIDENCE = 0.85  # with the encoder; see eval/reports/answers.md for the calibration behind it
MIN_CONFIDENCE_LEXICAL = 0.95  # without an encoder only word overlap vouches for the topic: stricter
MAX_PASSAGES = 5
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A figure of change: "tăng 13,8%", "tăng: 3% - 3,5%", "giảm bình quân 0,5%", "tăng trưởng 2,4%", "gấp 2,9 lần".
_CHANGE = re.compile(r"(?:tăng|giảm)(?:\s+trưởng)?[\s:]*(?:(?:khoảng|bình quân|trên|dưới|từ|thêm|đạt|còn)\s+)*\d"
                     r"|\bgấp\s+\d|\d[\d.,]*\s*(?:%|lần)\s+so\s+(?:với\s+)?(?:cùng kỳ|năm)", re.IGNORECASE)
_SHARE = re.compile(r"\b(?:cơ cấu|tỷ trọng|chiếm)\b", re.IGNORECASE)
SCOPED_SEARCH_DOCUMENTS = 3  # with at most this many documents allowed, each is searched on its own


def threshold(dense: bool, override: float | None = None) -> float:
    if override is not None:
        return override
    return MIN_CONFIDENCE if dense else MIN_CONFIDENCE_LEXICAL


def scoped_hits(searcher: Searcher, query: ParsedQuery, hits: Sequence[SearchHit], scope: Scope) -> list[SearchHit]:
    """The passages the allowed documents offer: the given hits, plus each allowed document searched on its own
    when there are few (a question about Bình Lục should read Bình Lục's best passages, not others')."""
    if scope.documents is None:
        return list(hits)
    kept = [h for h in hits if h.document.id in scope.documents]
    if len(scope.documents) <= SCOPED_SEARCH_DOCUMENTS:
        extra = [searcher.search(query, 6, Filters(document_id=doc_id)) for doc_id in sorted(scope.documents)]
        return merge_hits(kept, *extra)
    return kept


def rank_lines(searcher: Searcher, query: ParsedQuery, lines: Sequence[Line], asked: Asked,
               use_encoder: bool = True) -> tuple[np.ndarray, np.ndarray, bool]:
    """Feature rows and scores of the candidate lines; the flag says whether the encoder took part."""
    embedder = embedder_of(searcher) if use_encoder else None
    texts = [f"{line.lead}; {line.text}" if line.lead else line.text for line in lines]
    sims = similarities(embedder, asked.encoder_text, texts) if embedder else None
    wanted = asked_keys(asked)
    keys = [_key_agreement(searcher, line, wanted) for line in lines]
    rows = features(asked, lines, sims, keys)
    return rows, scores(rows, embedder is not None), embedder is not None


def _key_agreement(searcher: Searcher, line: Line, wanted: frozenset[str]) -> float:
    if not wanted:
        return 0.0
    keys = {hit.record.key for hit in line_records(searcher, line)}
    if not keys:
        return 0.0
    return 1.0 if keys & wanted else -1.0


def answer_from_lines(searcher: Searcher, query: ParsedQuery, hits: Sequence[SearchHit], scope: Scope,
                      min_confidence: float | None = None) -> Answer:
    """The best-scoring line of the allowed passages, when it scores above the threshold."""
    lines = candidate_lines(scoped_hits(searcher, query, hits, scope), scope.documents, MAX_PASSAGES)
    lines = of_the_year(lines, scope.years)
    asked = Asked(query, scope.places)
    kept = _of_the_kind(searcher, asked, lines)
    if not kept:
        return refused(_nothing_on(asked, scope) if lines else Refusal("no_passage", NO_ANSWER))
    lines = kept
    _, scored, dense = rank_lines(searcher, query, lines, asked)
    best = int(np.argmax(scored))
    given = [_given(searcher, asked, line) for line in lines]
    rivals = np.array([g != given[best] for g in given], dtype=bool)
    sure = confidence(scored, best, dense, rivals)
    if sure < threshold(dense, min_confidence):
        return refused(Refusal("off_topic", NO_ANSWER), sure)
    return line_answer(searcher, asked, lines[best], sure)


def _given(searcher: Searcher, asked: Asked, line: Line) -> str:
    """What a line would answer, to compare two lines: the numbers of its figure (of its record when one fits:
    "đạt 92,5%" and "Phấn đấu 92,5% gia đình …" agree), else its text."""
    if not asked.numeric:
        return fold(line.text)
    record = _record_for(searcher, asked, line)
    return " ".join(sorted(set(_NUMBER.findall(record.record.figure if record is not None else line.text))))


def _nothing_on(asked: Asked, scope: Scope) -> Refusal:
    """The documents of the place and year say nothing of the indicator asked for."""
    keys = sorted(asked_keys(asked))
    where = " ".join(m.label for m in scope.places if m.level is not None)
    when = f" năm {', '.join(str(y) for y in sorted(scope.years))}" if scope.years else ""
    if not keys:
        return Refusal("off_topic", NO_ANSWER)
    about = f"về {where}{when} " if where else f"{when.strip()} " if when else ""
    return Refusal("off_topic", f"Các văn bản {about}không nêu {keys[0]}.".replace("  ", " "))


def _of_the_kind(searcher: Searcher, asked: Asked, lines: list[Line]) -> list[Line]:
    """For a question that wants a figure, lines that hold one (in the unit it asks, a change when it asks how much
    something grew); for a question that names an indicator, lines
    whose figures are not all of other indicators — "tăng 17,8%" of retail sales never answers forest cover.
    Neither gives way when it leaves nothing: then the documents do not state it."""
    if asked.numeric and asked.answer_type is None:
        lines = [line for line in lines if has_figure(line.text)]
        unit = asked.unit  # "bao nhiêu phần trăm" is not answered in tấn/ha
        if unit is not None:
            lines = [line for line in lines if states(unit, line.text)]
        if asked.asks_change:  # "nhiều hơn năm trước bao nhiêu": a share of 59,5% never answers it
            lines = [line for line in lines if _CHANGE.search(line.text)]
        if asked.asks_share:  # "chiếm tỷ trọng bao nhiêu": a structure line, never "tăng: 3% - 3,5%"
            lines = [line for line in lines if _SHARE.search(line.text) or not _CHANGE.search(line.text)]
    if asked.answer_type == "code":  # "căn cứ báo cáo số mấy": a line holding no report's number cannot answer
        coded = [line for line in lines if line_has_type("code", line.text, asked.named_numbers, asked.instrument)]
        lines = coded or lines
    wanted = asked_keys(asked)
    if wanted and asked.numeric:  # a line without a record must at least name the indicator
        lines = [line for line in lines if _key_agreement(searcher, line, wanted) > 0
                 or _key_agreement(searcher, line, wanted) == 0 and names_key(line, wanted)]
    return lines


def of_the_year(lines: list[Line], years: frozenset[int]) -> list[Line]:
    """Lines about a year the question names, or whose year is not known: a 2024 target does not answer
    a question about 2023."""
    if not years:
        return lines
    return [line for line in lines if not line.years or line.years & years]


def line_answer(searcher: Searcher, asked: Asked, line: Line, sure: float) -> Answer:
    """The answer a line gives: its figure (from its indicator record when one fits) or the line itself."""
    citation = Citation(line.hit, line.start, line.end, line.text)
    record = _record_for(searcher, asked, line) if asked.numeric else None
    meta = line.hit.document.meta
    year = max(line.years) if line.years else None
    if record is not None:
        facts = record_facts(record)
        text = record.record.figure
        if asked.figures_asked > 1:  # "bao nhiêu công ty và bao nhiêu hộ": each
            text = "; ".join(dict.fromkeys(hit.record.figure for hit in line_records(searcher, line)))
        context = build_context(meta, record.record.year or year, facts.kind, facts.period, line.text)
        return Answer(text, round(sure, 3), (citation,), record, context=context)
    context = build_context(meta, year, line.kind if asked.numeric else None, None, line.text)
    return Answer(line.text, round(sure, 3), (citation,), context=context)


def _basis(line: Line, hit: IndicatorHit) -> str | None:
    """The price basis the line names last before this record's figure ("theo giá thực tế đạt 224-226 …")."""
    at = line.text.find(hit.record.figure, max(0, hit.record.start - line.start))  # a record starts at its name
    if at < 0:
        return None
    before = fold(line.text[:at])
    found = [(m.start(), basis) for basis, pattern in PRICE_BASES.items() for m in pattern.finditer(before)]
    return max(found)[1] if found else None


def _record_for(searcher: Searcher, asked: Asked, line: Line) -> IndicatorHit | None:
    """The record of the line in the unit the question asks for ("bao nhiêu phần trăm": the "tăng 13,17%" of
    "đạt 55 triệu USD, tăng 13,17%"), a change when it asks one, then whose own name the question covers best
    ("tạo thêm việc": "tạo việc làm thêm 3.400", not the line's "việc làm mới" key), then whose name the question
    writes most of ("thu ngân sách tại huyện": not "tổng thu ngân sách nhà nước"), then of the asked key."""
    records = line_records(searcher, line)
    if not records:
        return None
    wanted, unit = asked_keys(asked), asked.unit
    return max(records, key=lambda hit: (unit is None or bool(unit.search(hit.record.figure)),
                                         not asked.asks_change
                                         or (hit.record.comparator or "").startswith(("tăng", "giảm")),
                                         asked.price_basis is None or _basis(line, hit) == asked.price_basis,
                                         asked.coverage(hit.name_words), asked.named_share(hit.name_words),
                                         hit.record.key in wanted,
                                         -hit.record.start))
