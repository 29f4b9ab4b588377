"""Extractive answers: the sentence that answers, and for numeric questions the figure with its unit.

No model is needed and nothing is generated: every answer is a span of the
stored text, cited by offsets. When no passage covers the question well enough
the answer is None — a confident wrong figure is worse than no answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from answering.indicators import IndicatorHit, best_record, indicator_table
from index.query import ParsedQuery, parse_query, place_key
from index.search import Searcher, SearchHit
from index.textnorm import fold_diacritics

NO_ANSWER = "Không tìm thấy câu trả lời trong các văn bản hiện có."
MIN_COVERAGE = 0.5  # share of the question's content words a sentence must contain
_SENTENCE = re.compile(r"[^\n.;!?]+(?:[.;!?](?!\d)|$)|[^\n]+", re.MULTILINE)
_NUMERIC_CUES = re.compile(r"\b(bao nhiêu|bao nhieu|mấy|may|chỉ tiêu|chi tieu|tỷ lệ|ty le|đạt|dat|mức|muc|"
                           r"tăng|tang|giảm|giam|số lượng|so luong)\b", re.IGNORECASE)
_UNITS = (r"%|‰|tỷ đồng|triệu đồng|nghìn đồng|đồng|triệu USD|USD|tấn/ha|tạ/ha|tấn|ha|con|xã|lao động|người|"
          r"lượt|trường|mô hình|km|hộ|km2|m2")
_FIGURE = re.compile(
    r"(?:(?:giảm còn|tăng|giảm|đạt|còn|trên|dưới|từ|khoảng|ước đạt|bằng)\s+)?"
    r"\d+(?:[.,]\d+)*(?:\s*(?:tỷ|triệu)\s+\d+(?:[.,]\d+)*)?"
    r"(?:\s*[-–]\s*\d+(?:[.,]\d+)*)?\s*(?:" + _UNITS + r")?(?:\s+trở lên)?",
    re.IGNORECASE,
)
_STOP = frozenset(
    "của và các là có được cho trong năm với về theo tại thì những một này đã bao nhiêu gì nào ai mấy "
    "huyện tỉnh xã thế như ra sao hay không đến từ".split()
)


@dataclass(frozen=True)
class Citation:
    hit: SearchHit
    start: int  # offsets into the document's cleaned text
    end: int
    quote: str


@dataclass(frozen=True)
class Answer:
    text: str | None
    confidence: float
    citations: tuple[Citation, ...]
    record: IndicatorHit | None = None  # set when the answer comes from an indicator record


_STOP_FOLDED = frozenset(fold_diacritics(w) for w in _STOP)


def _content_words(text: str) -> set[str]:
    words = re.findall(r"[^\W_]+", fold_diacritics(text.lower()))
    return {w for w in words if w not in _STOP_FOLDED and not w.isdigit()}


def _sentences(hit: SearchHit) -> list[tuple[int, int]]:
    """Sentence spans of a passage, as absolute offsets, trimmed of surrounding blanks and bullets."""
    spans = []
    for match in _SENTENCE.finditer(hit.chunk.text):
        raw = match.group(0)
        lead = len(raw) - len(raw.lstrip(" -–•+\t"))
        body = raw.strip(" -–•+\t")
        if len(body) < 3:
            continue
        start = hit.chunk.start + match.start() + lead
        spans.append((start, start + len(body)))
    return spans


def _place_ok(hit: SearchHit, places: set[str]) -> bool:
    meta = hit.document.meta
    return not places or bool({place_key(x) for x in (meta.locality, meta.province) if x} & places)


def _field_answer(intent: ParsedQuery, hits: Sequence[SearchHit]) -> Answer | None:
    """"Ai ký …?" and "số hiệu …?" are answered by the signature or number line itself."""
    for hit in hits:
        meta = hit.document.meta
        value = meta.signer if intent.asks_signer else meta.number if intent.asks_number else None
        if not value:
            continue
        at = hit.chunk.text.find(value)
        if at >= 0:
            start = hit.chunk.start + at
            return Answer(value, 0.9, (Citation(hit, start, start + len(value), value),))
    return None


def answer_question(searcher: Searcher, query: str | ParsedQuery, hits: Sequence[SearchHit]) -> Answer:
    """A numeric question is answered from an indicator record when one fits; otherwise from the passages."""
    query = searcher.parse(query)
    record = best_record(query.text, indicator_table(searcher), set(query.places), set(query.years))
    if record is not None:
        hit = searcher.hit_at(record.document.id, record.record.start)
        if hit is not None:
            r = record.record
            return Answer(r.figure, 0.95, (Citation(hit, r.start, r.end, r.quote),), record)
    return extract_answer(query, hits)


def extract_answer(query: str | ParsedQuery, hits: Sequence[SearchHit], max_passages: int = 5) -> Answer:
    """Pick the best-covered sentence among the top passages; for numeric questions, its figure."""
    query = query if isinstance(query, ParsedQuery) else parse_query(query)
    field_answer = _field_answer(query, hits[:max_passages])
    if field_answer is not None:
        return field_answer
    question = query.text
    wanted = _content_words(question)
    places = set(query.places)
    numeric = bool(_NUMERIC_CUES.search(question))
    best: tuple[float, SearchHit, int, int] | None = None
    for rank, hit in enumerate(hits[:max_passages]):
        if not _place_ok(hit, places):
            continue
        header_words = _content_words(hit.chunk.header)
        for start, end in _sentences(hit):
            sentence = hit.chunk.text[start - hit.chunk.start : end - hit.chunk.start]
            if len(sentence) < 10:
                continue
            words = _content_words(sentence)
            # Place, year and title words are satisfied by the document's header, but only the
            # sentence's own words count towards covering the question.
            required = wanted - (header_words - words)
            coverage = len(wanted & words) / max(1, len(required))
            if numeric and not re.search(r"\d", sentence):
                coverage *= 0.5
            score = coverage * (1.0 - 0.05 * rank)
            if best is None or score > best[0]:
                best = (score, hit, start, end)
    if best is None or best[0] < MIN_COVERAGE:
        return Answer(None, round(best[0], 3) if best else 0.0, ())
    score, hit, start, end = best
    text = _figure(question, hit, start, end) if numeric else None
    quote_start, quote_end = start, end
    answer = text[0] if text else hit.chunk.text[start - hit.chunk.start : end - hit.chunk.start]
    citation = Citation(hit, quote_start, quote_end, hit.chunk.text[quote_start - hit.chunk.start:
                                                                       quote_end - hit.chunk.start])
    return Answer(answer, round(min(1.0, score), 3), (citation,))


def _figure(question: str, hit: SearchHit, start: int, end: int) -> tuple[str, int, int] | None:
    """The figure in the sentence nearest after the words the question shares with it."""
    sentence = hit.chunk.text[start - hit.chunk.start : end - hit.chunk.start]
    figures = [m for m in _FIGURE.finditer(sentence) if re.search(r"\d", m.group(0))]
    years = {m.group(0) for m in re.finditer(r"(?<!\d)(19|20)\d\d(?!\d)", question)}
    figures = [m for m in figures  # a bare year is not the figure asked for
               if m.group(0).strip() not in years and not re.fullmatch(r"(19|20)\d\d", m.group(0).strip())]
    if not figures:
        return None
    anchor = _anchor(question, sentence)
    after = [m for m in figures if m.start() >= anchor]
    chosen = (after or figures)[0]
    text = chosen.group(0).strip()
    offset = start + chosen.start() + (len(chosen.group(0)) - len(chosen.group(0).lstrip()))
    return text, offset, offset + len(text)


def _anchor(question: str, sentence: str) -> int:
    """Where the last question word found in the sentence ends (0 when none is)."""
    folded = fold_diacritics(sentence.lower())
    positions = [folded.find(w) + len(w) for w in _content_words(question) if len(w) > 2 and w in folded]
    return max(positions) if positions else 0
