"""Document metadata read from the cleaned text — never guessed.

Each extractor is a pure function over the cleaned text that returns None (or
an empty tuple) when the text does not support a value. Which locality,
province, year and number a resolution is about decides which of a hundred
look-alike documents answers a question, so a wrong value is worse than none.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

from corpus.gazetteer import Gazetteer, load_gazetteer
from corpus.models import DocumentMeta

HEADER_CHARS = 1500  # the header block (number, place and date, type, title, issuer) sits at the top

DOC_TYPES = (
    "Nghị quyết", "Quyết định", "Thông báo", "Chỉ thị", "Kế hoạch", "Báo cáo", "Thông tư",
    "Nghị định", "Tờ trình", "Công văn", "Kết luận", "Chương trình", "Đề án", "Hướng dẫn", "Quy định",
)
_TYPE_CODES = {
    "NQ": "Nghị quyết", "QĐ": "Quyết định", "TB": "Thông báo", "CT": "Chỉ thị", "KH": "Kế hoạch",
    "BC": "Báo cáo", "TT": "Thông tư", "NĐ": "Nghị định", "TTr": "Tờ trình", "KL": "Kết luận",
    "CTr": "Chương trình", "ĐA": "Đề án", "HD": "Hướng dẫn",
}
_NUMBER = re.compile(r"(?m)^\s*Số\s*:?\s*(\d+[\w.]*(?:\s*[-/]\s*[\wĐđ.]+)+)")
_PLACE_DATE = re.compile(r"(?m)^([^\W\d][^\n,]{1,40}),\s*ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})")
_ADOPTED_DATE = re.compile(r"thông qua ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
_UNIT_WORDS = r"(?:TỈNH|HUYỆN|THÀNH PHỐ|THỊ XÃ|QUẬN|XÃ|PHƯỜNG|THỊ TRẤN|TP\.?)"
_COUNCIL = re.compile(
    r"(HỘI ĐỒNG NHÂN DÂN|ỦY BAN NHÂN DÂN|UỶ BAN NHÂN DÂN|HĐND|UBND)\s+(" + _UNIT_WORDS + r")[ \t]+([^\n]+)",
    re.IGNORECASE,
)
_PARTY = re.compile(r"(HUYỆN|TỈNH|THÀNH|QUẬN|THỊ|ĐẢNG)\s+(ỦY|UỶ)\s+([^\n]+)", re.IGNORECASE)
_STOP_WORDS = frozenset({"khóa", "khoá", "kỳ", "nhiệm", "đã", "về", "tại", "lần", "ban", "họp"})
_LEVELS = {
    "tỉnh": "tỉnh", "thành phố": "huyện", "tp": "huyện", "tp.": "huyện", "huyện": "huyện",
    "thị xã": "huyện", "quận": "huyện", "xã": "xã", "phường": "xã", "thị trấn": "xã",
}
_BODIES = {"hội đồng nhân dân": "HĐND", "hđnd": "HĐND", "ủy ban nhân dân": "UBND", "uỷ ban nhân dân": "UBND",
           "ubnd": "UBND"}
_NAME = re.compile(r"^[A-ZĐÀ-Ỹ][a-zà-ỹđ]*(?: [A-ZĐÀ-Ỹ][a-zà-ỹđ]*){1,4}$")
_SIGN_ROLES = re.compile(r"CHỦ TỊCH|BÍ THƯ|GIÁM ĐỐC|TM\.|KT\.|TL\.|CHÁNH|TRƯỞNG|Nơi nhận", re.IGNORECASE)
_YEAR_PHRASE = re.compile(r"(?<!tháng \d )(?<!tháng \d\d )(?<!đến )\bnăm (\d{4})\b", re.IGNORECASE)


def _title_case(name: str) -> str:
    return " ".join(word[:1].upper() + word[1:].lower() for word in name.split())


def _name_words(rest: str) -> str | None:
    """The proper name at the start of ``rest``: capitalised words up to a stop word."""
    words: list[str] = []
    for word in re.split(r"\s+", rest.strip()):
        word = word.strip(",.;:()")
        if not word or not word[0].isupper() or word.lower() in _STOP_WORDS or any(c.isdigit() for c in word):
            break
        words.append(word)
        if len(words) == 4:
            break
    return _title_case(" ".join(words)) if words else None


def extract_number(text: str) -> str | None:
    match = _NUMBER.search(text[:HEADER_CHARS])
    return re.sub(r"\s+", "", match.group(1)).rstrip(".") if match else None


def _type_from_number(number: str | None) -> str | None:
    if not number:
        return None
    for code in re.split(r"[-/]", number)[1:]:
        if code in _TYPE_CODES:
            return _TYPE_CODES[code]
    return None


def extract_doc_type(text: str, number: str | None) -> str | None:
    """From a type line in capitals, the number's type code, a title line, or the closing formula."""
    for line in text[:HEADER_CHARS].split("\n"):
        stripped = line.strip().rstrip(":")
        for doc_type in DOC_TYPES:
            if stripped == doc_type.upper() or stripped.startswith(doc_type.upper() + " "):
                return doc_type
    from_number = _type_from_number(number)
    if from_number:
        return from_number
    first = text.lstrip().split("\n", 1)[0].lower()
    for doc_type in DOC_TYPES:
        if first.startswith(doc_type.lower() + " "):
            return doc_type
    closing = re.search(r"\b(" + "|".join(DOC_TYPES) + r") này (?:đã được|có hiệu lực)", text)
    return closing.group(1) if closing else None


def extract_title(text: str, doc_type: str | None) -> str | None:
    """The subject line(s) under the type line, or a first line that starts with the type."""
    lines = text[:HEADER_CHARS].split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        if doc_type and stripped.rstrip(":") == doc_type.upper():
            title_lines: list[str] = []
            for following in lines[i + 1 :]:
                following = following.strip()
                if not following and not title_lines:
                    continue
                if not following or following.startswith(("Căn cứ", "-----", "Xét")) or _COUNCIL.match(following):
                    break
                title_lines.append(following)
            return " ".join(title_lines) or None
    first = lines[0].strip() if lines else ""
    if doc_type and first.lower().startswith(doc_type.lower() + " ") and len(first) > len(doc_type) + 5:
        return first
    return None


def _issuer_from_council(text: str) -> tuple[str, str, str] | None:
    gazetteer = load_gazetteer()
    for match in _COUNCIL.finditer(text[:HEADER_CHARS]):
        unit = match.group(2).lower().rstrip(".")
        # Older documents write the place in lower case ("Ủy ban nhân dân tỉnh khánh hòa"): a
        # province the gazetteer knows is accepted in any case, other names only capitalised.
        province = _leading_province(match.group(3), gazetteer) if unit in ("tỉnh", "thành phố", "tp") else None
        name = province or _name_words(match.group(3))
        if name:  # "UBND huyện tại hội nghị" names no place; look further
            body = _BODIES[match.group(1).lower()]
            level = "tỉnh" if province else _LEVELS.get(unit, "huyện")
            return f"{body} {unit} {name}", level, name
    return None


def _leading_province(rest: str, gazetteer: Gazetteer) -> str | None:
    words = re.findall(r"[^\W\d_]+", rest)[:4]
    for size in (4, 3, 2, 1):
        province = gazetteer.canonical_province(" ".join(words[:size])) if len(words) >= size else None
        if province:
            return province
    return None


def _issuer_from_party(text: str) -> tuple[str, str, str] | None:
    match = _PARTY.search(text[:HEADER_CHARS])
    if not match or match.group(1).upper() == "ĐẢNG":
        return None
    name = _name_words(match.group(3))
    if not name:
        return None
    kind = _title_case(match.group(1))
    level = {"Huyện": "huyện", "Quận": "huyện", "Thị": "huyện", "Tỉnh": "tỉnh", "Thành": "tỉnh"}[kind]
    label = {"Thị": "Thị ủy", "Thành": "Thành ủy"}.get(kind, f"{kind} ủy")
    return f"{label} {name}", level, name


def extract_issuer(text: str) -> tuple[str | None, str | None, str | None]:
    """(issuer, level, locality): "HĐND huyện Bình Giang", "huyện", "Bình Giang"."""
    found = _issuer_from_party(text) or _issuer_from_council(text)
    if found:
        return found
    return None, None, None


def _issuer_from_generic_header(text: str, gazetteer: Gazetteer) -> tuple[str, str, str] | None:
    """Old decisions name only "Ủy ban nhân dân tỉnh" and put the province in the title."""
    head = text[:HEADER_CHARS]
    body = re.search(r"(?im)^(Ủy ban nhân dân|Uỷ ban nhân dân|Hội đồng nhân dân) (tỉnh|thành phố)\s*$", head)
    title = head.lstrip().split("\n", 1)[0]
    provinces = stated_provinces(title, gazetteer)
    if not body or not provinces:
        return None
    province = provinces[0]
    short = _BODIES[body.group(1).lower()]
    return f"{short} {body.group(2).lower()} {province}", "tỉnh", province


def stated_provinces(text: str, gazetteer: Gazetteer) -> list[str]:
    """Provinces the text names as such ("tỉnh Bắc Giang", "TP HẢI PHÒNG"), in order."""
    found: list[str] = []
    for match in re.finditer(r"(?:tỉnh|thành phố|TP\.?)\s+((?:[^\W\d_]+\s?){1,3})", text, re.IGNORECASE):
        words = match.group(1).split()
        for size in (3, 2, 1):
            province = gazetteer.canonical_province(" ".join(words[:size]))
            if province:
                found.append(province)
                break
    return found


def resolve_province(text: str, level: str | None, locality: str | None, gazetteer: Gazetteer) -> str | None:
    """Province as stated, else the one the gazetteer has for the district, disambiguated by the text."""
    if level == "tỉnh" and locality:
        return gazetteer.canonical_province(locality) or locality
    stated = stated_provinces(text[:HEADER_CHARS], gazetteer) or stated_provinces(text, gazetteer)
    owners = gazetteer.provinces_of_district(locality) if locality else ()
    if len(owners) == 1:
        return owners[0]
    for province in stated:
        if not owners or province in owners:
            return province
    return None


def _to_iso(day: str, month: str, year: str) -> str | None:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def extract_issued_date(text: str) -> str | None:
    """From the "Place, ngày … tháng … năm …" line, else from "thông qua ngày …"."""
    match = _PLACE_DATE.search(text[:HEADER_CHARS])
    if match:
        return _to_iso(match.group(2), match.group(3), match.group(4))
    adopted = list(_ADOPTED_DATE.finditer(text))
    if adopted:
        day, month, year = adopted[-1].groups()
        return _to_iso(day, month, year)
    return None


def extract_years(text: str, title: str | None, headings: list[str]) -> tuple[int, ...]:
    """Years the document plans for or reports on.

    Title and section headings say it best ("Điều 2. Mục tiêu … năm 2023").
    Failing those, years named as "năm YYYY" at least twice in the body,
    leaving out the legal bases ("Căn cứ …") and calendar dates.
    """
    focused = " ".join([title or "", *headings])
    years = {int(y) for y in _YEAR_PHRASE.findall(focused)}
    if not years:
        body = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith(("Căn cứ", "Xét")))
        counts = Counter(int(y) for y in _YEAR_PHRASE.findall(body))
        years = {year for year, n in counts.items() if n >= 2}
    return tuple(sorted(year for year in years if 1945 <= year <= 2100))


def extract_signer(text: str) -> str | None:
    """The name on the last line, when a signature block (role, "Nơi nhận") precedes it."""
    lines = [line.strip() for line in text.rstrip().split("\n") if line.strip()]
    if len(lines) < 2:
        return None
    last = lines[-1]
    if not _NAME.match(last) or len(last) > 40:
        return None
    tail = "\n".join(lines[-12:-1])
    return last if _SIGN_ROLES.search(tail) else None


def extract_metadata(text: str, headings: list[str] | None = None) -> DocumentMeta:
    """All metadata fields of one cleaned document text."""
    gazetteer = load_gazetteer()
    number = extract_number(text)
    doc_type = extract_doc_type(text, number)
    issuer, level, locality = extract_issuer(text)
    if issuer is None:
        issuer, level, locality = _issuer_from_generic_header(text, gazetteer) or (None, None, None)
    if issuer is None and number and "UBND" in number:
        match = re.search(r"UBND (huyện|tỉnh|thành phố|thị xã|xã) ([^\n]+)", text[:HEADER_CHARS])
        name = _name_words(match.group(2)) if match else None
        if match and name:
            issuer, level, locality = f"UBND {match.group(1)} {name}", _LEVELS[match.group(1)], name
    province = resolve_province(text, level, locality, gazetteer)
    title = extract_title(text, doc_type)
    return DocumentMeta(
        number=number,
        doc_type=doc_type,
        issuer=issuer,
        level=level,
        locality=locality,
        province=province,
        province_current=gazetteer.current_province(province) if province else None,
        issued_date=extract_issued_date(text),
        years=extract_years(text, title, headings or []),
        title=title,
        signer=extract_signer(text),
    )
