"""Indicator statements as data: every numeric target and reported result, with its exact span.

Vietnamese plans state figures in a few recurring shapes — a bullet list of
targets ("- Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%."), numbered targets
("(17). Mức giảm tỷ lệ hộ nghèo …: 0,46%"), and figures inside running prose
("Thu NSNN ước đạt: 478 tỷ 528 triệu đồng, đạt 87,04% KH tỉnh giao"). Each
clause is read for its figures; the words before a figure name the indicator.
Numbers use Vietnamese formats: "." groups thousands, "," marks decimals, and
money may be written "2.841 tỷ 620 triệu đồng".
"""

from __future__ import annotations

import itertools
import json
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

from corpus.models import DocumentMeta, Indicator, Section
from corpus.structure import section_path

# Digit runs are bounded and possessive ("{1,15}+": never given back, since nothing that may follow a
# number starts with a digit, "." or ","): with "\d+" every start inside a long run of digits re-read
# the rest of the run, so a line of 100,000 digits took minutes. No figure has more than 15 digits.
_NUM = r"\d{1,3}+(?:\.\d{3}){1,5}+(?:,\d{1,6}+)?+|\d{1,15}+(?:,\d{1,6}+)?+"
_UNITS = (  # longest first where one unit starts another ("triệu đồng/người/năm" before "triệu đồng")
    "triệu đồng/người/năm", "triệu đồng/người", "triệu đồng/ha/năm", "triệu đồng/ha", "tỷ đồng", "triệu đồng",
    "nghìn đồng", "triệu USD", "USD", "tấn/ha", "tạ/ha", "nghìn tấn", "tấn", "ha", "nghìn con", "triệu con",
    "%", "‰", "lao động", "lượt người", "lượt khách", "lượt", "con", "xã", "trường", "mô hình", "hộ", "km",
    "người", "doanh nghiệp", "dự án", "sản phẩm", "cơ sở", "thôn", "công trình", "HTX", "ngày", "giường",
    "bác sỹ", "đảng viên", "tổ chức đảng", "cấp ủy viên",
)
_UNIT = "|".join(re.escape(u) for u in _UNITS)
_MONEY = rf"(?P<big>{_NUM})\s*tỷ\s+(?P<small>{_NUM})\s*triệu\s+đồng"
_RANGE_SEP = r"\s*(?:-|–|đến)\s*"
_FIGURE = re.compile(
    rf"(?P<from>từ\s+)?(?:{_MONEY}|(?:(?P<part>\d{{1,6}}+)/)?(?P<lo>{_NUM})\s*"
    rf"(?:(?P<lo_unit>%|‰)(?!{_RANGE_SEP}\d)|[%‰]?(?:{_RANGE_SEP}(?P<hi>{_NUM}))?\s*(?P<unit>{_UNIT})(?![\w/])))"
    rf"(?P<more>\s+trở\s+lên)?",
    re.IGNORECASE,
)
_COMPARATORS = (
    "giảm còn", "tăng lên", "trở lên", "ước đạt", "ước thực hiện", "đạt", "trên", "dưới", "còn", "tăng", "giảm",
    "bằng", "tối thiểu", "ít nhất", "khoảng",
)
_COMPARATOR_AT_END = re.compile(r"(?:" + "|".join(re.escape(c) for c in _COMPARATORS) + r")\s*:?\s*$", re.IGNORECASE)
# Clauses end at a line break, a semicolon, or a full stop followed by a capital (not "2.841").
_CLAUSE_END = re.compile(r"\n|;|\.\s+(?=[A-ZĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ])")
_LEAD = re.compile(r"^\s*(?:[-–•+]\s*|\(\d{1,3}\)\.?\s*|\d{1,2}(?:\.\d{1,2})*\.\s+|[a-zđ]\)\s+)*")
_TARGET_WORDS = re.compile(r"chỉ tiêu|mục tiêu|phấn đấu|nhiệm vụ|phương hướng|giải pháp", re.IGNORECASE)
_RESULT_WORDS = re.compile(r"kết quả|đánh giá|tình hình thực hiện|đạt được", re.IGNORECASE)
_CLAUSE_RESULT = re.compile(r"ước đạt|ước thực hiện|so với cùng kỳ|đã đạt", re.IGNORECASE)
_COMPARISON_YEAR = re.compile(r"(?:so với|cùng kỳ)(?:\s+\w+){0,2}\s+năm\s+(20\d\d)", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(20\d\d|19\d\d)(?!\d)")
# Each figure's quote runs from its clause's start, so a clause's cost grows with its length times its
# figures. In the 187 documents the longest clause is 787 characters and none holds more than 4 figures;
# a longer run without a line break, ";" or sentence end is debris, and reading it took minutes.
MAX_CLAUSE_CHARS = 4000
MAX_FIGURES_PER_CLAUSE = 50


def parse_number(text: str) -> float:
    """Vietnamese number format: "2.841" → 2841, "3,7" → 3.7, "6.000,5" → 6000.5."""
    return float(text.replace(".", "").replace(",", "."))


@dataclass(frozen=True)
class Rule:
    """One row of ``data/indicator_keys.json``: names matching ``pattern`` (figures in ``unit``) get ``key``."""

    pattern: re.Pattern[str]
    key: str
    unit: re.Pattern[str] | None = None
    scope: re.Pattern[str] | None = None  # structure rules: words the heading or clause must hold

    def applies(self, text: str, unit: str) -> bool:
        return bool(self.pattern.search(text)) and (self.unit is None or bool(self.unit.fullmatch(unit)))


@dataclass(frozen=True)
class Vocabulary:
    """The key rules, the share rules under "cơ cấu", names that name nothing, and leading verbs to drop."""

    rules: tuple[Rule, ...]
    structure: tuple[Rule, ...]
    stop_names: frozenset[str]
    lead: re.Pattern[str]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The key vocabulary, read once per process from the data table."""
    raw = json.loads((resources.files("corpus") / "data" / "indicator_keys.json").read_text(encoding="utf-8"))

    def compiled(pattern: str | None) -> re.Pattern[str] | None:
        return re.compile(pattern, re.IGNORECASE) if pattern else None

    rules = tuple(Rule(re.compile(r["pattern"], re.I), r["key"], compiled(r.get("unit"))) for r in raw["rules"])
    structure = tuple(Rule(re.compile(r["pattern"], re.I), r["key"], scope=compiled(r["scope"]))
                      for r in raw["structure_rules"])
    lead = re.compile(r"^(?:(?:" + "|".join(raw["lead_words"]) + r")\s+)+", re.IGNORECASE)
    return Vocabulary(rules, structure, frozenset(raw["stop_names"]), lead)


def known_keys() -> frozenset[str]:
    """Keys the rule table defines: the indicators tracuu can compare and answer from."""
    table = vocabulary()
    return frozenset(rule.key for rule in (*table.rules, *table.structure))


def indicator_key(name: str, context: str = "", unit: str = "") -> str:
    """Group equivalent names across documents ("Tỷ lệ hộ nghèo (theo chuẩn mới)" → "tỷ lệ hộ nghèo").

    The rules are tried on the name, then — for names that say little ("Thêm 02 trường học …") — on the name,
    the unit and ``context`` (the words after the figure). A name no rule covers keeps a cleaned form of
    itself; one that names nothing ("có", "trên") gets "".
    """
    table = vocabulary()
    plain = _plain_name(name)
    for text in (name, re.sub(r"\s+", " ", f"{name} {unit} {context}")):
        for rule in table.rules:
            if rule.applies(text, unit):
                return rule.key
        if not context:
            break
    if plain in table.stop_names or len(plain) < 3:
        return ""
    return plain


def _plain_name(name: str) -> str:
    """Lower case, no parentheses, no leading verbs ("phấn đấu", "duy trì"), no trailing "đạt"/"là"/":"."""
    plain = re.sub(r"\([^)]*\)", " ", name.lower())
    plain = re.sub(r"\s+", " ", plain).strip(" :,-–(")
    plain = vocabulary().lead.sub("", plain)
    return re.sub(r"\s+(?:đạt|là|có|được)$", "", plain).strip(" :,-–")


def structure_key(name: str, scope: str) -> str | None:
    """The key of a share under a "cơ cấu" heading ("Công nghiệp - Xây dựng: 54% - 55%"), if it names a sector."""
    for rule in vocabulary().structure:
        if (rule.scope is None or rule.scope.search(scope)) and rule.pattern.search(name):
            return rule.key
    return None


_QUALIFIER = re.compile(r"^\s*(?:so với|kế hoạch|kh\b|dự toán|cùng kỳ|theo giá|bằng)", re.IGNORECASE)


def name_and_key(record: Indicator, after: str = "", previous_name: str | None = None,
                 line_head: str = "") -> tuple[str, str]:
    """A record's name and key, settled from the text around it.

    ``after`` is the text that follows its figure in its clause, ``previous_name`` the name of the figure
    before it in the same clause (None when it opens the clause) and ``line_head`` the text of its line
    before its quote ("Cơ cấu kinh tế: …; " before "Công nghiệp - xây dựng: 40,1%"). A qualifier read as a
    name ("so với kế hoạch năm", "KH tỉnh giao") gives way to the name before it; a name that says nothing
    ("Thêm", "toàn huyện có") is keyed by the words after its figure. Records read back from an index built
    by an older extractor get the same answer, so the answering side calls this again.
    """
    name = record.indicator
    if previous_name and _QUALIFIER.match(name):
        name = previous_name
    scope = f"{record.section} {line_head} {record.quote}"
    if "cơ cấu" in scope.lower() and record.unit == "%" and record.comparator not in ("tăng", "giảm"):
        shared = structure_key(name, scope)
        if shared:
            return name, shared
    context = re.split(r"[;\n]|\d", after, maxsplit=1)[0][:160]  # up to the next figure or clause break
    return name, indicator_key(name, context, record.unit)


def _name_before(clause: str, figure_start: int) -> tuple[str, str | None]:
    """The indicator name and comparator that precede a figure in its clause."""
    head = clause[:figure_start]
    head = _LEAD.sub("", head)
    comparator = None
    match = _COMPARATOR_AT_END.search(head)
    if match:
        comparator = re.sub(r"\s*:?\s*$", "", match.group(0)).lower()
        head = head[: match.start()]
    head = head.strip(" :,-–")
    head = re.sub(r"^(?:về|phấn đấu|trong đó)\s+", "", head, flags=re.IGNORECASE)
    return head, comparator


def _figure_value(match: re.Match[str]) -> tuple[float, float | None, str]:
    if match.group("big"):
        return parse_number(match.group("big")) + parse_number(match.group("small")) / 1000, None, "tỷ đồng"
    if match.group("part"):  # "73/79 trường": 73 of 79
        return float(match.group("part")), None, match.group("unit")
    lo = parse_number(match.group("lo"))
    hi = parse_number(match.group("hi")) if match.group("hi") else None
    return lo, hi, match.group("lo_unit") or match.group("unit")


def _kind_and_year(headings: list[str], clause: str, meta: DocumentMeta) -> tuple[str, int | None]:
    """Target or result, and for which year: the nearest heading that says so decides.

    Headings are read from the innermost out; within one heading the result
    words win ("Đánh giá tình hình thực hiện nhiệm vụ năm 2022" reports results).
    """
    heading_years = [max(found) for h in reversed(headings) if (found := _own_years(h))]
    year = heading_years[0] if heading_years else _clause_year(clause, meta)
    for heading in reversed(headings):
        kind = "result" if _RESULT_WORDS.search(heading) else "target" if _TARGET_WORDS.search(heading) else None
        if kind:
            return kind, year
    if _CLAUSE_RESULT.search(clause):
        return "result", year
    issued = int(meta.issued_date[:4]) if meta.issued_date else None
    planned = re.search(r"phấn đấu|trở lên", clause, re.IGNORECASE) or (issued and year and year > issued)
    return ("target" if planned else "result"), year


def _clause_year(clause: str, meta: DocumentMeta) -> int | None:
    """A year the clause names for itself, not one it compares with ("so với năm 2022")."""
    years = _own_years(clause)
    if years:
        return max(years)
    return max(meta.years) if meta.years else None


def _own_years(text: str) -> list[int]:
    """Years a phrase is about: not price bases "(giá so sánh năm 2010)", periods, horizons or comparisons."""
    compared = set(_COMPARISON_YEAR.findall(text))
    plain = re.sub(r"\([^)]*\)|giai đoạn\s+\d{4}\s*-\s*\d{4}|đến năm\s+\d{4}", " ", text)
    return [int(y) for y in _YEAR.findall(plain) if y not in compared]


def _clauses(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for end_match in _CLAUSE_END.finditer(text):
        spans.append((start, end_match.start()))
        start = end_match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def _heading_lines(
    text: str, sections: list[Section], owner: Section | None, offset: int, line_starts: list[int]
) -> list[str]:
    """Full first lines of the clause's ancestor headings, outermost first, excluding its own line.

    ``line_starts`` (sorted offsets where lines start) tells which line an offset is on without
    scanning the text, which a one-line file with thousands of clauses would do once per clause.
    """
    lines: list[str] = []
    current = owner
    offset_line = bisect_right(line_starts, offset)
    while current is not None:
        if bisect_right(line_starts, current.start) != offset_line:
            lines.append(text[current.start : current.start + 200].split("\n", 1)[0])
        current = sections[current.parent] if current.parent is not None else None
    return list(reversed(lines))


def extract_indicators(text: str, sections: Sequence[Section], meta: DocumentMeta) -> list[Indicator]:
    """Every figure with a unit in the document, with the name, comparator, kind and year around it."""
    section_list = list(sections)
    section_starts = [s.start for s in section_list]
    line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
    records: list[Indicator] = []
    for offset, clause_end in _clauses(text):
        clause = text[offset:clause_end]
        if len(clause) > MAX_CLAUSE_CHARS or not re.search(r"\d", clause):
            continue
        owner = _owning_section(section_list, section_starts, offset)
        path = " › ".join(section_path(section_list, owner.id)) if owner else ""
        headings = _heading_lines(text, section_list, owner, offset, line_starts)
        # Once per clause, not per figure: a clause of 100,000 figures would re-read itself for each.
        kind, year = _kind_and_year(headings, clause, meta)
        lead_end = _quote_start(clause, len(clause))
        lowered = clause.lower()
        name_start = 0
        first = len(records)
        for figure in itertools.islice(_FIGURE.finditer(clause), MAX_FIGURES_PER_CLAUSE):
            name, comparator = _name_before(clause[name_start : figure.start()], figure.start() - name_start)
            if not name or len(name) > 160:
                name = _fallback_name(clause, figure, records, offset)
            if figure.group("more"):
                comparator = "trở lên"
            if figure.group("from"):
                comparator = comparator or "từ"
            value, value_max, unit = _figure_value(figure)
            quote_start = offset + min(lead_end, figure.start())
            quote_end = offset + figure.end()
            records.append(Indicator(
                indicator=name, key="", value=value, value_max=value_max, unit=unit,
                comparator=comparator, kind=kind, year=year, section=path, start=quote_start, end=quote_end,
                quote=text[quote_start:quote_end], figure=_figure_text(clause, lowered, figure, comparator),
            ))
            name_start = figure.end()
        records[first:] = _described(records[first:], text, clause_end)
    return records


def _described(clause_records: list[Indicator], text: str, clause_end: int) -> list[Indicator]:
    """The records of one clause with their names and keys settled (see :func:`name_and_key`)."""
    out: list[Indicator] = []
    for record in clause_records:
        line_start = max(text.rfind("\n", max(0, record.start - 400), record.start) + 1, record.start - 400)
        name, key = name_and_key(record, text[record.end : min(clause_end, record.end + 200)],
                                 out[-1].indicator if out else None, text[line_start : record.start])
        out.append(replace(record, indicator=name, key=key))
    return out


def _figure_text(clause: str, lowered: str, figure: re.Match[str], comparator: str | None) -> str:
    """The answer as written: the comparator and the figure with its unit ("giảm còn 3,7%");
    ``lowered`` is ``clause.lower()``, computed once per clause by the caller."""
    start = figure.start()
    if comparator and comparator not in ("trở lên", "từ"):
        at = lowered.rfind(comparator, 0, figure.start())
        if at >= 0 and not clause[at + len(comparator) : figure.start()].strip(" :"):
            start = at
    return clause[start : figure.end()].strip()


def _owning_section(sections: list[Section], starts: list[int], offset: int) -> Section | None:
    """The deepest non-bullet section around ``offset``. Sections nest, so the ones around an offset are the
    last section starting at or before it and its ancestors: a bisection and a short walk up."""
    at = bisect_right(starts, offset) - 1
    current = sections[at] if at >= 0 else None
    while current is not None and (current.end <= offset or current.kind == "bullet"):
        current = sections[current.parent] if current.parent is not None else None
    return current


def _quote_start(clause: str, figure_start: int) -> int:
    """Quote from the start of the clause's text (after bullets and numbering) up to the figure."""
    lead = _LEAD.match(clause)
    start = lead.end() if lead else 0
    return min(start, figure_start)


def _fallback_name(clause: str, figure: re.Match[str], records: list[Indicator], offset: int) -> str:
    """A figure right after another figure's comparator ("…, đạt 87,04% KH") keeps the clause's indicator;
    a figure that opens its clause ("100% người đứng đầu …") is named by the words after it."""
    if records and records[-1].start >= offset:
        return records[-1].indicator
    before = _LEAD.sub("", clause[: figure.start()]).strip(" :,-–")
    if before:
        return before[:160]
    after = re.split(r"[,:(]", clause[figure.end() :], maxsplit=1)[0].strip()
    return after[:120]
