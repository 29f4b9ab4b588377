"""What a passage must state to answer a question that asks for a figure or a place.

"Bình Giang sáu tháng đầu 2024 tăng mấy phần trăm" is answered by a line with a percentage, "bao nhiêu xã" by one
with a count, "những xã nào" by one naming a commune: a passage that states no such thing cannot answer it, however
many of its words it shares. Search counts such passages less (:class:`index.search.Boosts`); the answering package
takes only lines that hold the figure and scores lines by the place they name (``answering.asked``). The patterns
read the question with its abbreviations spelled out and its glossary terms added ("bn %", "what poverty rate").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from corpus.gazetteer import fold
from index.query import place_key

# "bao nhiêu phần trăm", "bn %", "bao nhiêu con heo": the unit a figure must be in (money: any money unit).
_ASKED_UNIT = re.compile(r"(?:bao nhiêu|bao nhieu|mấy|may|bn|nhiêu)\s+(phần trăm|phan tram|tỷ đồng|ty dong|triệu đồng|"
                         r"trieu dong|tiền|tien|usd|tấn/ha|tạ/ha|tan/ha|ta/ha|tấn|tan|con|xã|doanh nghiệp|"
                         r"doanh nghiep|lao động|lao dong|trường|truong|đảng viên|dang vien)\b|(\d*\s*%)",
                         re.IGNORECASE)
_PERCENT, _MONEY = re.compile(r"\d\s*%"), re.compile(r"\d\s*(?:tỷ|triệu)", re.IGNORECASE)
_UNIT_IN_LINE = {"phan tram": _PERCENT, "%": _PERCENT, "ty dong": _MONEY, "trieu dong": _MONEY,
                 "tien": re.compile(r"\d\s*(?:tỷ|triệu|nghìn|đồng|USD)", re.IGNORECASE)}
_ASKS_RATE = re.compile(r" (?:ty le|rate|percentage|share) ")  # (a keyword query naming a rate asks no figure)
_ASKS_FIGURE_EN = re.compile(r"\b(?:how much|how many|what|which)\b")
_ASKS_COUNT_EN = re.compile(r"\b(?:how much|how many)\b")  # "what"/"which" ask a figure only of a rate
RATE_IN_LINE = re.compile(r"\d\s*(?:%|‰)")
ASKS_FIGURE = re.compile(r"\b(?:bao nhiêu|bao nhieu|bao nhiu|mấy)\b")  # not "may": "nhà máy" typed bare
ANY_FIGURE = re.compile(r"\d")
_WRITTEN = frozenset({ANY_FIGURE, RATE_IN_LINE, *_UNIT_IN_LINE.values()})  # folding changes nothing they match
# Matched on the folded question; "đường tỉnh nào" asks which provincial road, not which province.
ASKS_PLACE = re.compile(r"\b(?<!duong )(?:xa|huyen|tinh|dia phuong|noi|thon) nao\b"
                        r"|\bnhung (?:xa|noi|dia phuong|huyen)\b|\bo dau\b"
                        r"|\bwhich (?:communes?|districts?|places?)\b|\bwhere\b")
_PLACE_UNIT = re.compile(r"^(?:xã|huyện|thị trấn|phường|tỉnh|thôn|TT\.?)\s*:?\s+", re.IGNORECASE)
_PLACE_IN_LINE = re.compile(r"(?:xã|huyện|thị trấn|phường|tỉnh|thôn|TT\.?)\s*:?\s+[A-ZĐ][\w]*(?:\s+[A-ZĐ]\w*)*")


def unit_pattern(question: str) -> re.Pattern[str] | None:
    """What a line must hold when the question names the unit of the figure it wants."""
    match = _ASKED_UNIT.search(question)
    if not match:
        return None
    unit = fold(match.group(1) or "%").strip()
    if unit in _UNIT_IN_LINE:
        return _UNIT_IN_LINE[unit]
    words = r"\s+".join(re.escape(w) for w in unit.split())
    return re.compile(rf"\d[\d.,/\s–-]*(?:nghìn |triệu )?{words}\b", re.IGNORECASE) if unit else None


def states(pattern: re.Pattern[str], text: str) -> bool:
    """Whether ``text`` holds what ``pattern`` wants; a unit in words is matched as written or folded ("04-06 xã"
    for the unit "xa" of "bao nhiêu xã"); digits, percentages and money as written."""
    if pattern.search(text):
        return True
    return pattern not in _WRITTEN and bool(pattern.search(_folded(text)))


@lru_cache(maxsize=1 << 14)
def _folded(text: str) -> str:
    """Folding a passage costs ~0.1 ms and a search checks up to 100 candidates, the same ones query after query:
    uncached, a lexical search took 2.5 times as long (0.4 -> 1.0 ms per dev question, in process)."""
    return fold(text)


def wanted_unit(question: str, expanded: str) -> re.Pattern[str] | None:
    """The unit named ("bao nhiêu phần trăm": see :func:`unit_pattern`), or a percentage or per mille when the
    question asks a rate's figure ("tỷ lệ hộ nghèo giảm còn bao nhiêu"); ``expanded`` is the question with its
    abbreviations spelled out and its glossary terms."""
    named = unit_pattern(question)
    asks = ASKS_FIGURE.search(expanded.lower()) or _ASKS_FIGURE_EN.search(question.lower())
    if named is None and asks and _ASKS_RATE.search(" " + fold(expanded) + " "):
        return RATE_IN_LINE
    return named


def wanted_figure(question: str, expanded: str) -> re.Pattern[str] | None:
    """What a passage must hold to answer: the unit the question wants, or any figure when it asks how many or
    how much ("bao nhiêu xã", "how many communes"); None when it asks no figure."""
    unit = wanted_unit(question, expanded)
    if unit is None and (ASKS_FIGURE.search(expanded.lower()) or _ASKS_COUNT_EN.search(question.lower())):
        return ANY_FIGURE
    return unit


def names_place(text: str, named: Iterable[str] = ()) -> bool:
    """Whether ``text`` names a commune, district or province other than the ``named`` ones (place keys): the
    question's own "huyện Thường Xuân" in a line answers no "xã nào"."""
    named = set(named)
    return any(place_key(_PLACE_UNIT.sub("", m.group(0))) not in named for m in _PLACE_IN_LINE.finditer(text))


def asks_place(question: str) -> bool:
    """Whether the question asks which commune, district or province ("những xã nào", "ở đâu", "which communes");
    a passage answers it when it names one (:func:`names_place`)."""
    return bool(ASKS_PLACE.search(" " + fold(question) + " "))
