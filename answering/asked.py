"""What a question asks, read once: its content words, whether it wants a figure, and which kind of figure.

Place names, years and question words ("bao nhiêu", "nào") say where and when,
not what; the remaining words are what a line must be about. Users abbreviate
("bn", "đc", "6t", "nsnn") and write without diacritics, so words are folded
and a short table of colloquial forms is expanded first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from answering.records import keys_named_in
from corpus.gazetteer import PlaceMention, fold
from index.phrasing import english_gloss, english_rest, everyday_gloss, spell_out
from index.query import THING_NUMBERED, ParsedQuery
from index.textnorm import expansion_text
from index.wants import ASKS_FIGURE, ASKS_PLACE, names_place, wanted_unit

STOP_WORDS = frozenset(fold(w) for w in (
    "của và các là có được cho trong năm với về theo tại thì những một này đã bao nhiêu gì nào ai mấy "
    "thế như ra sao hay không đến từ ở bởi mức đâu khi nay ngày tháng phải sẽ đang muốn định dự kiến hiện "
    "what which how many much does did do is the of in for to a an by its was were will be are district province "
    "target reach set up want would should could can has have had that this these those it they their from with at "
    "on as per about into get got make made two three s year years"
).split())
_NUMERIC = re.compile(r"\b(bao nhiêu|bao nhieu|bn|mấy|may|bao nhiu|tỷ lệ|ty le|mức nào|muc nao|phần trăm|"
                      r"phan tram|how many|how much|how fast|what rate|by how much|rate|value|yield|revenue|"
                      r"income|%)", re.IGNORECASE)
_TARGET = re.compile(r"chỉ tiêu|chi tieu|mục tiêu|muc tieu|phấn đấu|phan dau|kế hoạch|ke hoach|dự kiến|du kien|"
                     r"đặt ra|dat ra|muốn|muon|định|sẽ|6 tháng cuối|6 thang cuoi|nửa cuối|nua cuoi|target|aim|"
                     r"plan|want", re.IGNORECASE)
_RESULT = re.compile(r"kết quả|ket qua|đã đạt|ước đạt|uoc dat|ước thực hiện|6 tháng đầu|6 thang dau|6t đầu|"
                     r"6t dau|nửa đầu|nua dau|sáu tháng đầu|thực hiện được|\bdid\b|\bwas\b|reach", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
# Folded: "đâu" and "mấy" fold onto "đầu" and "máy", which keyword queries are full of ("6 thang dau").
_QUESTION_WORDS = re.compile(r"\b(?:nao|gi|ai|o dau|sao|the nao|khong|bao gio|khi nao|which|what|who|how|when|"
                             r"where)\b")
# What kind of thing a question wants, and what a line must hold to give it.
_ANSWER_TYPES = {
    "code": re.compile(r"\bso (?:may|hieu|ky hieu|gi|bao nhieu)\b|\b(?:chi thi|nghi quyet|quyet dinh|ke hoach|"
                       r"bao cao|to trinh|thong bao) (?:nao|so may)\b|\btheo (?:chi thi|nghi quyet|quyet dinh)\b"),
    "person": re.compile(r"\bai\b|\bwho\b|\bdong chi nao\b"),
    "date": re.compile(r"\bngay nao\b|\bkhi nao\b|\bhan nao\b|\bthoi han\b|\bwhen\b|\bwhat date\b"),
    "ordinal": re.compile(r"\bthu may\b|\blan thu\b|\bky hop nao\b|\bhoi nghi nao\b"
                          r"|\b(?:hang|loai|cap|muc do) (?:may|nao)\b"),
    "place": ASKS_PLACE,
}
_TYPE_IN_LINE = {
    "code": re.compile(r"\d+\s*[/-]\s*[A-ZĐ][\wĐđ]*(?:\s*[-/]\s*[\wĐđ]+)*"),
    "person": re.compile(r"(?:đồng chí|ông|bà|Chủ tịch|Bí thư)\s+[A-ZĐ]\w*(?:\s+[A-ZĐ]\w*){1,3}"),
    "date": re.compile(r"\d{1,2}/\d{1,2}/\d{4}|ngày\s+\d{1,2}\s+tháng|ngày\s+\d{1,2}/\d{1,2}"),
    "ordinal": re.compile(r"(?:kỳ họp|lần|Hội nghị lần)\s+thứ\s+\w+|\b(?:loại|hạng|cấp|mức độ)\s+[IVX]+\b",
                          re.IGNORECASE),
}


# "tăng bao nhiêu", "nhiều hơn năm trước bao nhiêu": the change, not the level ("tăng 5,6 triệu đồng" of
# "đạt 66,3 triệu đồng, tăng 5,6 triệu đồng so với năm 2022").
_ASKS_CHANGE = re.compile(r" (?:tang|giam) (?:bao nhieu|bn|may|khoang|them)\b|\b(?:nhieu|lon|cao|it|thap) hon\b"
                          r"|\b(?:by how much|increase|increased|grow|grew|growth|rise|rose)\b")
# The two price bases of Vietnamese statistics, as questions and lines write them (folded): a line often gives both
# ("theo giá cố định đạt 164-166 triệu đồng/ha, theo giá thực tế đạt 224-226 triệu đồng/ha").
PRICE_BASES = {"current": re.compile(r"\bgia (?:thuc te|hien hanh|thi truong)\b|\b(?:current|market) prices?\b"
                                     r"|\bnominal"),
               "constant": re.compile(r"\bgia (?:co dinh|so sanh)\b|\bconstant prices?\b|\breal terms\b")}
# "chiếm tỷ trọng bao nhiêu", "cơ cấu … bao nhiêu": a share of a whole, answered by the structure line
# ("Cơ cấu …: Trồng trọt 33% - 34%, chăn nuôi + thủy sản 59,5% - 60,5%"), never by a growth figure.
_ASKS_SHARE = re.compile(r" (?:ty trong|chiem|co cau) ")


# "căn cứ báo cáo số mấy", "tờ trình … mang số hiệu gì", "theo chỉ thị số mấy": the kind of instrument whose number
# is asked, as its number writes it ("222/BC-UBND", "366/TTr-UBND", "30-CT/TU").
_ASKS_NUMBER_OF = re.compile(r" (?:so (?:may|nao|gi|bao nhieu)|so hieu|so ky hieu) ")
# Kinds of instrument, folded, with the code their numbers carry (also answering.metadata's table).
INSTRUMENT_CODES = {"nghi quyet": "nq", "thong bao": "tb", "quyet dinh": "qd", "to trinh": "ttr", "bao cao": "bc",
                    "chi thi": "ct", "ke hoach": "kh", "ket luan": "kl"}
_INSTRUMENT = re.compile(rf" ({'|'.join([*INSTRUMENT_CODES, *INSTRUMENT_CODES.values()])}) ")


def asked_instrument(question: str) -> str | None:
    """The code of the instrument whose number a question asks — the last one named before "số mấy" ("bc" for
    "nq 140 căn cứ bc số mấy") — else None."""
    folded = " " + " ".join(_WORD.findall(fold(question))) + " "
    asking = _ASKS_NUMBER_OF.search(folded)
    if not asking:
        return None
    named = [m.group(1) for m in _INSTRUMENT.finditer(folded, 0, asking.start() + 1)]
    return INSTRUMENT_CODES.get(named[-1], named[-1]) if named else None


# Capitalised words of offices and bodies: "đồng chí Phó Chủ tịch UBND" is no name, "đồng chí Lôi Quang Vũ" is.
_OFFICE_WORDS = frozenset(fold(w) for w in (
    "phó chủ tịch bí thư trưởng ban thường trực văn phòng ủy uỷ hội đồng nhân dân huyện tỉnh thành phố xã thị trấn "
    "giám đốc sở cục phòng đảng bộ mặt trận tổ quốc đoàn thể đại biểu quốc hội").split())


def _names_a_person(match: str) -> bool:
    """At least two capitalised words that are neither an office's nor an acronym ("UBND")."""
    words = [w for w in match.split()[1:] if w[:1].isupper() and not w.isupper() and fold(w) not in _OFFICE_WORDS]
    return len(words) >= 2


def line_has_type(answer_type: str, text: str, named: frozenset[str] = frozenset(),
                  instrument: str | None = None, places: frozenset[str] = frozenset()) -> bool:
    """Whether a line holds what the question asks for; a document number the question itself names
    ("nq 140 … căn cứ báo cáo số mấy") is not the number it asks for, nor one of another kind of instrument
    ("28-NQ/TW" when a report's number is asked), nor is a place it names (``places``, keys) the place it asks."""
    if answer_type == "place":  # (index.wants: a commune, district or province by its unit and name)
        return names_place(text, places)
    found = [m.group(0) for m in _TYPE_IN_LINE[answer_type].finditer(text)]
    if answer_type == "person":  # "đồng chí Phó Chủ tịch UBND huyện" names an office, not a person
        found = [match for match in found if _names_a_person(match)]
    if answer_type == "code":
        found = [code for code in found if not any(re.split(r"\s*[/-]", code)[0].strip() in n for n in named)]
        if instrument is not None:
            found = [code for code in found if instrument in re.split(r"[\s/-]+", fold(code))]
    return bool(found)


@dataclass(frozen=True)
class Asked:
    """The question, as the line scorer reads it."""

    query: ParsedQuery
    places: tuple[PlaceMention, ...] = ()  # the places it names (their words say where, not what)

    @cached_property
    def expanded(self) -> str:
        """The question with colloquial forms spelled out and abbreviations given their other form."""
        text = self.query.normalized
        for place in self.places:  # "huyện Bình Lục" says where; "ngân sách huyện" says what
            text = re.sub(rf"(?:\b{re.escape(place.unit_word)}\s+)?{re.escape(place.text)}" if place.unit_word
                          else re.escape(place.text), " ", text)
        text = spell_out(text)
        text = f"{text} {everyday_gloss(text)}"
        if self.foreign:
            text = f"{text} {english_gloss(text)}"
        return f"{text} {expansion_text(text)}".strip()

    @property
    def encoder_text(self) -> str:
        """What the encoder reads: the question with diacritics restored, but an English question as typed."""
        return self.query.normalized if self.foreign else self.query.dense_text

    @property
    def foreign(self) -> bool:
        """Typed in another language (English): few of its syllables are Vietnamese."""
        return self.query.foreign

    @cached_property
    def answer_type(self) -> str | None:
        """code | person | date | ordinal | place when the question asks for one (figures: see ``numeric``)."""
        folded = " " + fold(self.query.normalized) + " "
        for name, pattern in _ANSWER_TYPES.items():
            if pattern.search(folded) and not (name == "code" and THING_NUMBERED.search(folded)):
                return name
        return None

    @cached_property
    def words(self) -> frozenset[str]:
        """Content words, folded: not places, years, numbers or question words (of an English question: the
        Vietnamese terms its phrases stand for, which are what a line can share with it)."""
        source = self.expanded
        if self.foreign:  # the glossed phrases count as their Vietnamese terms, the rest as themselves
            gloss = english_gloss(self.query.normalized)
            source = f"{gloss} {expansion_text(gloss)} {english_rest(self.query.normalized)}"
        found = _WORD.findall(fold(source))
        return frozenset(w for w in found if w not in STOP_WORDS and not w.isdigit())

    @cached_property
    def instrument(self) -> str | None:
        """The kind of instrument whose number it asks ("bc": "căn cứ báo cáo số mấy"): see asked_instrument."""
        return asked_instrument(self.expanded) if self.answer_type == "code" else None

    @cached_property
    def named_numbers(self) -> frozenset[str]:
        """Numbers the question writes itself ("nq 140", "163/TB-UBND"): what it asks about, not for."""
        return frozenset(re.findall(r"\d{2,}", self.query.normalized)) - {str(y) for y in self.query.years}

    @cached_property
    def folded(self) -> str:
        """The expanded question folded, padded with spaces for whole-phrase patterns (" tang bao nhieu ")."""
        return f" {fold(self.expanded)} "

    @cached_property
    def all_words(self) -> frozenset[str]:
        """Every folded word of the expanded question (key matching needs "mức", "tỷ lệ" too)."""
        return frozenset(_WORD.findall(self.folded))

    @cached_property
    def numeric(self) -> bool:
        """Wants a figure: asks "bao nhiêu", or is a bare keyword query naming an indicator ("thu ngân sách
        Bình Giang 6 tháng đầu năm 2024")."""
        if _NUMERIC.search(self.query.normalized):
            return True
        keyword_query = not _QUESTION_WORDS.search(" " + fold(self.query.normalized) + " ")
        return keyword_query and bool(keys_named_in(f"{self.expanded} {self.query.dense_text}"))

    @cached_property
    def kind(self) -> str | None:
        """"target" or "result" when the question says which; None when it does not."""
        text = self.query.normalized
        target, result = _TARGET.search(text), _RESULT.search(text)
        if result and not target:
            return "result"
        if target and not result:
            return "target"
        return None

    @cached_property
    def unit(self) -> re.Pattern[str] | None:
        """What a figure must be written in, when the question says ("bao nhiêu phần trăm": see index.wants), or
        when it asks a rate's figure ("tỷ lệ hộ nghèo giảm còn bao nhiêu"): a percentage or per mille."""
        return wanted_unit(self.query.normalized, self.expanded)

    @cached_property
    def price_basis(self) -> str | None:
        """"current" or "constant" when the question names the prices a value is at ("tính theo giá thị trường")."""
        named = [basis for basis, pattern in PRICE_BASES.items() if pattern.search(self.folded)]
        return named[0] if len(named) == 1 else None

    @cached_property
    def asks_share(self) -> bool:
        """Asks what share of a whole something takes ("chiếm tỷ trọng bao nhiêu")."""
        return not self.asks_change and bool(_ASKS_SHARE.search(self.folded))

    @cached_property
    def asks_change(self) -> bool:
        """Asks how much something grew or fell, abbreviations spelled out ("tăg bn")."""
        return bool(_ASKS_CHANGE.search(self.folded))

    @cached_property
    def figures_asked(self) -> int:
        """How many figures it asks for ("bao nhiêu doanh nghiệp và bao nhiêu hộ kinh doanh": two)."""
        return len(ASKS_FIGURE.findall(self.expanded.lower()))

    def coverage(self, words: frozenset[str]) -> float:
        """Share of the content words found in ``words``."""
        return len(self.words & words) / len(self.words) if self.words else 0.0

    @cached_property
    def written_words(self) -> frozenset[str]:
        """Every folded word the question writes, places and small words included ("thu ngân sách tại huyện")."""
        return frozenset(_WORD.findall(fold(f"{self.query.normalized} {self.expanded}")))

    def named_share(self, words: frozenset[str]) -> float:
        """Share of ``words`` (an indicator's name) that the question writes: "thu ngân sách tại huyện" names all
        of "thu ngân sách tại huyện" and half of "tổng thu ngân sách nhà nước"."""
        return len(words & self.written_words) / len(words) if words else 0.0
