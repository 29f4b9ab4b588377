"""What /ask returns: an answer (a verbatim span of the stored text, with its citations and context) or a refusal.

Kept apart from the code that chooses answers, so every path (metadata, lines,
lists, generative) builds the same value and a refusal always carries a reason
code and a Vietnamese message.
"""

from __future__ import annotations

from dataclasses import dataclass

from answering.context import AnswerContext
from answering.indicators import IndicatorHit
from answering.scope import Refusal
from index.search import SearchHit

NO_ANSWER = "Không tìm thấy câu trả lời trong các văn bản hiện có."


@dataclass(frozen=True)
class Citation:
    hit: SearchHit
    start: int  # offsets into the document's cleaned text
    end: int
    quote: str


@dataclass(frozen=True)
class AnswerItem:
    """One entry of a list answer ("which localities …"): its place, its line and its context."""

    place: str | None
    text: str
    citation: Citation
    context: AnswerContext


@dataclass(frozen=True)
class Answer:
    text: str | None
    confidence: float
    citations: tuple[Citation, ...]
    record: IndicatorHit | None = None  # set when the answer's figure is an indicator record
    message: str | None = None  # why there is no answer (Vietnamese), or a note on a partial one
    reason: str | None = None  # unknown_place | did_you_mean | year_not_covered | off_topic | not_stated | …
    context: AnswerContext | None = None
    items: tuple[AnswerItem, ...] = ()

    @property
    def context_text(self) -> str | None:
        return self.context.text if self.context else None


def refused(refusal: Refusal, score: float = 0.0) -> Answer:
    return Answer(None, round(score, 3), (), message=refusal.message, reason=refusal.reason)


