"""Candidate answer lines: the sentences and clauses of the passages a question retrieved, with what they say.

An answer quotes one line of the stored text, so candidates are cut where a
reader would cut them — line breaks, semicolons, and full stops before a
capital (not the "." inside "2.841" or "ĐT.495B"). Each line keeps its
heading path and the years and kind (target or result) its headings give it:
"Tỷ lệ hộ nghèo giảm còn 3,7%" under "Các chỉ tiêu … năm 2023" is a 2023 target.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from corpus.gazetteer import fold
from index.search import SearchHit
from index.textnorm import expansion_text

_SENTENCE = re.compile(r"\n|(?<=[.!?])\s+(?=[A-ZĐÀ-Ỹ\"“(])")
_CLAUSE = re.compile(r";")
_LEAD = re.compile(r"^[\s\-–•+*]*(?:\(?\d{1,2}(?:\.\d{1,2})*[.)]\s+|[a-zđ]\)\s+)?")
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
_NOT_OWN_YEAR = re.compile(r"\d{4}\s*[-–]\s*\d{4}|\d{1,2}/\d{1,2}/\d{4}|(?:so với|cùng kỳ|giá so sánh|giá SS|"
                           r"giá cố định|tháng \d{1,2})(?:\s+\S+){0,3}?\s+(?:năm\s+)?\d{4}", re.IGNORECASE)
_TARGET = re.compile(r"chỉ tiêu|mục tiêu|nhiệm vụ|phương hướng|giải pháp|kế hoạch|6 tháng cuối|phấn đấu", re.I)
_RESULT = re.compile(r"kết quả|đánh giá|tình hình thực hiện|đạt được|6 tháng đầu|ước đạt|ước thực hiện", re.I)
_WORD = re.compile(r"[^\W_]+")
MIN_CHARS = 8
MAX_CHARS = 700


@dataclass(frozen=True)
class Line:
    """One citable line: ``hit.chunk.text[start - chunk.start : end - chunk.start] == text``."""

    hit: SearchHit
    rank: int  # the passage's rank in the retrieval
    start: int  # offsets into the document's cleaned text
    end: int
    text: str
    lead: str = ""  # the first clause of its sentence when the line is a later one ("…; thể thấp còi còn 12,7%")
    colon: bool = False  # it ended with ":" — it introduces what follows rather than saying it

    @property
    def document_id(self) -> str:
        return self.hit.document.id

    @cached_property
    def words(self) -> frozenset[str]:
        """Folded words, with the other form of each abbreviation ("NSNN" also reads "ngân sách nhà nước")."""
        return frozenset(_WORD.findall(fold(f"{self.text} {expansion_text(self.text)}")))

    @cached_property
    def lead_words(self) -> frozenset[str]:
        """Its words and its sentence's subject: a clause after ";" often leaves the subject out."""
        if not self.lead:
            return self.words
        return self.words | frozenset(_WORD.findall(fold(f"{self.lead} {expansion_text(self.lead)}")))

    @cached_property
    def context_words(self) -> frozenset[str]:
        """Words of the line, its headings and its document's header (place, year, title)."""
        return self.lead_words | frozenset(_WORD.findall(fold(self.hit.chunk.header + " " + self.hit.chunk.section)))

    @cached_property
    def years(self) -> frozenset[int]:
        """The years the line is about: its own, else its headings', else its document's when it has one."""
        own = own_years(self.text)
        if own:
            return own
        headed = own_years(self.hit.chunk.section)
        if headed:
            return frozenset({max(headed)})
        years = self.hit.document.meta.years
        return frozenset(years) if len(years) == 1 else frozenset()

    @cached_property
    def kind(self) -> str | None:
        """"target" or "result" from the nearest heading (or the line) that says so; None when none does."""
        for text in (self.text, *reversed(self.hit.chunk.section.split(" › "))):
            result, target = _RESULT.search(text), _TARGET.search(text)
            if result and (not target or result.start() < target.start()):
                return "result"
            if target:
                return "target"
        return None


@lru_cache(maxsize=8192)
def own_years(text: str) -> frozenset[int]:
    """Years a phrase is about — not ranges, dates, comparisons or price bases."""
    return frozenset(int(y) for y in _YEAR.findall(_NOT_OWN_YEAR.sub(" ", text)))


def split_lines(hit: SearchHit, rank: int) -> list[Line]:
    """The passage's sentences and clauses, trimmed of bullets and numbering, as absolute offsets."""
    text = hit.chunk.text
    lines = []
    for sentence_start, sentence_end in _spans(text, _SENTENCE, 0, len(text)):
        lead = ""
        for start, end in _spans(text, _CLAUSE, sentence_start, sentence_end):
            raw = text[start:end]
            match = _LEAD.match(raw)
            offset = match.end() if match else 0
            body = raw[offset:].rstrip(" \t.,:")
            if MIN_CHARS <= len(body) <= MAX_CHARS:
                absolute = hit.chunk.start + start + offset
                colon = raw.rstrip().endswith(":")
                lines.append(Line(hit, rank, absolute, absolute + len(body), body, lead, colon))
                lead = lead or body
    return lines


def _spans(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    """Pieces of ``text[start:end]`` between matches of ``pattern``."""
    spans = []
    for match in pattern.finditer(text, start, end):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, end))
    return [(a, b) for a, b in spans if b > a]


def candidate_lines(hits: Sequence[SearchHit], documents: frozenset[str] | None, max_passages: int) -> list[Line]:
    """Lines of the best ``max_passages`` passages whose document may answer, each line once."""
    kept = [h for h in hits if documents is None or h.document.id in documents][:max_passages]
    seen: set[tuple[str, int]] = set()
    lines = []
    for rank, hit in enumerate(kept):
        for line in split_lines(hit, rank):
            if (line.document_id, line.start) not in seen:
                seen.add((line.document_id, line.start))
                lines.append(line)
    return lines


def words_of(text: str) -> set[str]:
    return set(_WORD.findall(fold(text)))


def merge_hits(*rankings: Iterable[SearchHit]) -> list[SearchHit]:
    """Several retrievals as one list, best score first, each passage once."""
    best: dict[str, SearchHit] = {}
    for ranking in rankings:
        for hit in ranking:
            if hit.chunk.id not in best or hit.score > best[hit.chunk.id].score:
                best[hit.chunk.id] = hit
    return sorted(best.values(), key=lambda h: -h.score)
