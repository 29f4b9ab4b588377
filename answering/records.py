"""What an indicator record measures and how, and which indicators a question names.

The key says *what* is measured; a level, its growth rate and its share of the
plan share one key (eval/indicators/README.md) and are told apart here, as the
record's kind — target, result, estimate, plan (a share of the plan or the
estimate: "đạt 87,04% KH tỉnh giao") or growth ("tăng 15,3% so với cùng kỳ") —
and its period (a year, a half year, a five-year plan). All of it is read from
the stored record and the text around its figure, so an index built by an
older extractor gets it too. A question is read with the same naming rules as
the records, so "thu ngân sách xã" asks for that key and not "thu ngân sách
nhà nước".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from corpus.indicators import name_and_key, vocabulary
from corpus.models import Indicator

KINDS = ("target", "result", "estimate", "plan", "growth")
PERIODS = ("year", "half_first", "half_second", "five_year")
_BASIS = re.compile(r"^[\s,]*((?:so với|kh\b|kế hoạch|dự toán)[^,;.\d]{0,60})", re.IGNORECASE)
_PLAN = re.compile(r"kế hoạch|\bkh\b|dự toán", re.IGNORECASE)
_SAME_PERIOD = re.compile(r"so với cùng kỳ|cùng kỳ|so với năm", re.IGNORECASE)
_GROWTH_NAME = re.compile(r"tốc độ tăng|tăng trưởng", re.IGNORECASE)
_ESTIMATE = re.compile(r"ước đạt|ước thực hiện|ước tính|\bước\b", re.IGNORECASE)
_FIRST_HALF = re.compile(r"6 tháng đầu|sáu tháng đầu|nửa đầu", re.IGNORECASE)
_SECOND_HALF = re.compile(r"6 tháng cuối|sáu tháng cuối|nửa cuối", re.IGNORECASE)
_FIVE_YEARS = re.compile(r"giai đoạn \d{4}\s*[-–]\s*\d{4}|\b0?5 năm\b|nhiệm kỳ", re.IGNORECASE)


@dataclass(frozen=True)
class RecordFacts:
    """A record's settled name and key, its kind and period, and what a percentage is relative to."""

    name: str
    key: str  # "" when the name says nothing comparable
    kind: str  # target | result | estimate | plan | growth
    period: str  # year | half_first | half_second | five_year
    basis: str | None  # "so với kế hoạch năm", "KH tỉnh giao", … when stated


def describe(record: Indicator, after: str = "", previous_name: str | None = None, line_head: str = "") -> RecordFacts:
    """Facts of a record; the arguments are those of :func:`corpus.indicators.name_and_key`."""
    name, key = name_and_key(record, after, previous_name, line_head)
    found = _BASIS.match(after)
    basis = found.group(1).strip() if found else None
    return RecordFacts(name, key, _kind(record, name, basis, key), _period(record), basis)


def _kind(record: Indicator, name: str, basis: str | None, key: str) -> str:
    """plan before growth before estimate; otherwise the extractor's target or result."""
    percent = record.unit in ("%", "‰")
    if percent and (basis and _PLAN.search(basis) or _PLAN.search(record.quote[-80:]) and "so với" in record.quote):
        return "plan"
    change = record.comparator in ("tăng", "giảm", "tăng lên", "bằng") or bool(_GROWTH_NAME.search(name))
    if percent and not key.startswith("mức giảm") and (change or basis and _SAME_PERIOD.search(basis)):
        return "growth"  # "mức giảm tỷ lệ hộ nghèo" is itself the indicator, not a rate of change of one
    if record.kind == "result" and (record.comparator in ("ước đạt", "ước thực hiện")
                                    or _ESTIMATE.search(record.quote[-60:])):
        return "estimate"
    return record.kind


def _period(record: Indicator) -> str:
    where = record.section
    if _FIRST_HALF.search(where) or _FIRST_HALF.search(record.quote):
        return "half_first"
    if _SECOND_HALF.search(where):
        return "half_second"
    if _FIVE_YEARS.search(where):
        return "five_year"
    return "year"


def keys_named_in(text: str) -> list[str]:
    """The keys a question names, by the rules that name records, compared without diacritics.

    At each phrase the first (most specific) rule wins ("thu ngân sách xã" is not also "thu ngân sách nhà
    nước"); of two adjacent phrases the more specific rule's one stands ("mô hình | sản xuất nông nghiệp",
    "suy dinh dưỡng | thể chiều cao"). A rule bound to a unit applies when the question asks for a number of
    that unit ("bao nhiêu mô hình"). Shares are named with "cơ cấu".
    """
    table = vocabulary()
    folded = _fold(text)
    if "co cau" in folded:
        after = folded.split("co cau", 1)[1]
        for rule in table.structure:
            if (rule.scope is None or _folded(rule.scope).search(folded)) and _folded(rule.pattern).search(after):
                return [rule.key]
    taken: list[tuple[int, int, int, str]] = []  # start, end, rule position, key
    for position, rule in enumerate(table.rules):
        if rule.unit is not None and not re.search(rf"(?:bao nhieu|may|bn)\s+(?:{_fold(rule.unit.pattern)})", folded):
            continue
        for match in _folded(rule.pattern).finditer(folded):
            start, end = match.span()
            if not any(a < end and start < b for a, b, _, _ in taken):
                taken.append((start, end, position, rule.key))
    kept: list[tuple[int, int, int, str]] = []
    for found in sorted(taken):
        if kept and found[0] - kept[-1][1] <= 1:  # adjacent: one phrase qualifies the other
            if found[2] < kept[-1][2]:
                kept[-1] = found
            continue
        kept.append(found)
    return list(dict.fromkeys(key for _, _, _, key in kept))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


@lru_cache(maxsize=512)
def _folded(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(_fold(pattern.pattern), re.IGNORECASE)
