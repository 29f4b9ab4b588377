"""corpus.metadata: each field of the five seed documents, checked against their text by hand.

Where each value comes from in the source file is noted beside it, so a reader
can check the expectation without running the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpus.gazetteer import load_gazetteer
from corpus.metadata import (
    extract_doc_type,
    extract_issued_date,
    extract_issuer,
    extract_metadata,
    extract_number,
    extract_signer,
    extract_years,
    resolve_province,
)
from corpus.models import DocumentMeta
from corpus.pipeline import parse_path

DOCUMENTS = Path(__file__).resolve().parents[1] / "corpus" / "documents"

EXPECTED: dict[str, dict[str, Any]] = {
    "000": {
        "number": "140/NQ-HĐND",  # "Số: 140 /NQ-HĐND"
        "doc_type": "Nghị quyết",  # "**NGHỊ QUYẾT**"
        "issuer": "HĐND huyện Bình Giang",  # "**HỘI ĐỒNG NHÂN DÂN HUYỆN BÌNH GIANG"
        "level": "huyện",
        "locality": "Bình Giang",
        "province": "Hải Dương",  # Bình Giang is a district of Hải Dương only
        "province_current": "Hải Phòng",  # Hải Dương merged into Hải Phòng in 2025
        "issued_date": "2024-07-16",  # "Bình Giang, ngày 16 tháng 7 năm 2024"
        "years": (2024,),
        "title": "Kết quả thực hiện kế hoạch phát triển kinh tế - xã hội 6 tháng đầu năm, "
                 "nhiệm vụ trọng tâm 6 tháng cuối năm 2024",  # two bold lines under the type line
        "signer": "Nguyễn Hữu Nam",  # under "**CHỦ TỊCH**"
    },
    "001": {
        "number": None,  # the file starts at the council's name: no "Số" line
        "doc_type": "Nghị quyết",  # "Nghị quyết này đã được Hội đồng nhân dân huyện Bình Lục …"
        "issuer": "HĐND huyện Bình Lục",  # "HỘI ĐỒNG NHÂN DÂN HUYỆN BÌNH LỤC"
        "level": "huyện",
        "locality": "Bình Lục",
        "province": "Hà Nam",
        "province_current": "Ninh Bình",  # Hà Nam merged into Ninh Bình in 2025
        "issued_date": "2022-12-16",  # no place-date line; "thông qua ngày 16 tháng 12 năm 2022"
        "years": (2022, 2023),  # "Điều 1. … năm 2022" reports, "Điều 2. … năm 2023" plans
        "title": None,  # no type line, so no subject line under it
        "signer": None,  # the file ends at the adoption formula
    },
    "002": {
        "number": None,  # no "Số" line
        "doc_type": "Nghị quyết",  # first line "NGHỊ QUYẾT"
        "issuer": "HĐND tỉnh Bắc Giang",  # "HỘI ĐỒNG NHÂN DÂN TỈNH BẮC GIANG"
        "level": "tỉnh",
        "locality": "Bắc Giang",
        "province": "Bắc Giang",
        "province_current": "Bắc Ninh",  # Bắc Giang merged into Bắc Ninh in 2025
        "issued_date": None,  # "… Kỳ họp thứ 18 thông qua./." gives no date; the only dates are laws'
        "years": (2024,),
        "title": "Về nhiệm vụ phát triển kinh tế - xã hội 6 tháng cuối năm 2024 tỉnh Bắc Giang",
        "signer": None,  # the file ends at the adoption formula
    },
    "003": {
        "number": "07-NQ/HU",  # "Số 07-NQ/HU"
        "doc_type": "Nghị quyết",  # "NGHỊ QUYẾT "
        "issuer": "Huyện ủy Vĩnh Bảo",  # "HUYỆN ỦY VĨNH BẢO"
        "level": "huyện",
        "locality": "Vĩnh Bảo",
        "province": "Hải Phòng",  # "ĐẢNG BỘ TP HẢI PHÒNG"; Vĩnh Bảo is a district of Hải Phòng
        "province_current": "Hải Phòng",
        "issued_date": "2023-12-12",  # "Vĩnh Bảo, ngày 12 tháng 12 năm 2023"
        "years": (2023, 2024),  # "I. KẾT QUẢ … NĂM 2023", "II. … NĂM 2024"
        # Three lines under the type line; "KHOÁ" is stored in the new tone placement.
        "title": "HỘI NGHỊ LẦN THỨ 19 BAN CHẤP HÀNH ĐẢNG BỘ HUYỆN KHÓA XXVI về mục tiêu, nhiệm vụ, giải pháp năm 2024",
        "signer": "Phạm Tuyên Dương",  # last line, after "Nơi nhận:"
    },
    "004": {
        "number": "163/TB-UBND",  # "Số:163/TB-UBND"
        "doc_type": "Thông báo",  # "THÔNG BÁO"
        "issuer": "UBND huyện Thường Xuân",  # number says UBND; "UBND huyện Thường Xuân đã tổ chức hội nghị"
        "level": "huyện",
        "locality": "Thường Xuân",
        "province": "Thanh Hóa",
        "province_current": "Thanh Hóa",  # Thanh Hóa was not merged
        "issued_date": "2024-07-19",  # "Thường Xuân, ngày 19 tháng 7 năm 2024"
        "years": (2024,),
        "title": "Kết luận của đồng chí Lôi Quang Vũ, Chủ tịch UBND huyện tại hội nghị sơ kết 6 tháng đầu năm "
                 "2024, triển khai nhiệm vụ 6 tháng cuối năm 2024 và giao ban với Chủ tịch UBND các xã, thị trấn",
        "signer": "Lục Đăng Hỏa",  # under "TL. CHỦ TỊCH / CHÁNH VĂN PHÒNG"
    },
}
FIELDS = list(DocumentMeta.__dataclass_fields__)


@pytest.fixture(scope="module")
def seed_meta() -> dict[str, DocumentMeta]:
    return {path.name[:3]: parse_path(path).meta for path in sorted(DOCUMENTS.glob("*.txt"))}


def test_every_field_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(path.name[:3] for path in DOCUMENTS.glob("*.txt"))
    for expected in EXPECTED.values():
        assert list(expected) == FIELDS


@pytest.mark.parametrize(("doc", "field"), [(doc, field) for doc in EXPECTED for field in FIELDS])
def test_seed_metadata_field(seed_meta: dict[str, DocumentMeta], doc: str, field: str) -> None:
    assert getattr(seed_meta[doc], field) == EXPECTED[doc][field]


# --- the extractors on short texts ------------------------------------------------

_COUNCIL_HEAD = "HỘI ĐỒNG NHÂN DÂN HUYỆN {district}\nKHÓA XX, KỲ HỌP THỨ TÁM\n"


def test_district_in_several_provinces_is_resolved_by_the_province_the_text_names() -> None:
    assert set(load_gazetteer().provinces_of_district("Châu Thành")) >= {"Tiền Giang", "Bến Tre", "An Giang"}
    text = _COUNCIL_HEAD.format(district="CHÂU THÀNH") + (
        "Xét Tờ trình của Ủy ban nhân dân huyện về việc phê chuẩn nhiệm vụ phát triển kinh tế - xã hội năm 2023;\n"
        "Căn cứ Nghị quyết của Hội đồng nhân dân tỉnh Tiền Giang;\n"
    )
    meta = extract_metadata(text)
    assert (meta.issuer, meta.level, meta.locality) == ("HĐND huyện Châu Thành", "huyện", "Châu Thành")
    assert meta.province == "Tiền Giang"
    assert meta.province_current == "Đồng Tháp"


def test_ambiguous_district_without_a_stated_province_gets_no_province() -> None:
    text = _COUNCIL_HEAD.format(district="CHÂU THÀNH") + (
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;\n"
    )
    meta = extract_metadata(text)
    assert meta.locality == "Châu Thành"
    assert meta.province is None
    assert meta.province_current is None


def test_stated_province_that_does_not_own_the_district_is_not_taken() -> None:
    gazetteer = load_gazetteer()
    # Tam Nông is in Phú Thọ and in Đồng Tháp, never in Hà Nam.
    text = "Căn cứ Quyết định của Ủy ban nhân dân tỉnh Hà Nam;"
    assert resolve_province(text, "huyện", "Tam Nông", gazetteer) is None
    text += "\nỦy ban nhân dân tỉnh Phú Thọ giao nhiệm vụ cho huyện Tam Nông"
    assert resolve_province(text, "huyện", "Tam Nông", gazetteer) == "Phú Thọ"


def test_district_of_one_province_needs_no_stated_province() -> None:
    assert resolve_province("", "huyện", "Bình Lục", load_gazetteer()) == "Hà Nam"


def test_province_level_issuer_is_its_own_province() -> None:
    assert resolve_province("", "tỉnh", "Bắc Giang", load_gazetteer()) == "Bắc Giang"


@pytest.mark.parametrize(
    "text",
    [
        "Bình Giang, ngày 31 tháng 2 năm 2024\nNGHỊ QUYẾT",
        "Nghị quyết này đã được Hội đồng nhân dân huyện Bình Lục thông qua ngày 31 tháng 2 năm 2024./.",
        "Thường Xuân, ngày 19 tháng 13 năm 2024",
    ],
)
def test_impossible_calendar_date_gives_no_date(text: str) -> None:
    assert extract_issued_date(text) is None


def test_place_date_line_wins_over_adoption_date() -> None:
    text = (
        "Bình Giang, ngày 16 tháng 7 năm 2024\nNGHỊ QUYẾT\n"
        "Nghị quyết này đã được Hội đồng nhân dân huyện Bình Giang khóa XX, kỳ họp thứ 13 "
        "thông qua ngày 15 tháng 7 năm 2024./."
    )
    assert extract_issued_date(text) == "2024-07-16"


@pytest.mark.parametrize(
    ("line", "number"),
    [("Số: 140 /NQ-HĐND", "140/NQ-HĐND"), ("Số:163/TB-UBND", "163/TB-UBND"), ("Số 07-NQ/HU", "07-NQ/HU"),
     ("Xét Tờ trình số 366/TTr-UBND ngày 02 tháng 12 năm 2022", None)],
)
def test_number_is_read_from_the_so_line_only(line: str, number: str | None) -> None:
    assert extract_number(line) == number


def test_doc_type_falls_back_to_the_number_code() -> None:
    assert extract_doc_type("Vĩnh Bảo, ngày 12 tháng 12 năm 2023", "07-NQ/HU") == "Nghị quyết"
    assert extract_doc_type("Thường Xuân, ngày 19 tháng 7 năm 2024", "163/TB-UBND") == "Thông báo"
    assert extract_doc_type("Thường Xuân, ngày 19 tháng 7 năm 2024", None) is None


def test_party_committee_issuer() -> None:
    assert extract_issuer("ĐẢNG BỘ TP HẢI PHÒNG\nHUYỆN ỦY VĨNH BẢO\n") == ("Huyện ủy Vĩnh Bảo", "huyện", "Vĩnh Bảo")


def test_council_name_is_not_read_across_a_line_break() -> None:
    # 2004-2010 decisions write the body without its province on one line and
    # the legal bases below; the next line's "Căn cứ" is not a place.
    text = (
        "Quyết định về việc ban hành quy định về bồi thường, hỗ trợ và tái định cư khi nhà nước thu hồi đất "
        "trên địa bàn tỉnh gia lai\nỦy ban nhân dân tỉnh\nCăn cứ Luật Tổ chức HĐND và UBND năm 2003;\n"
        "Căn cứ Luật Đất đai năm 2003;"
    )
    meta = extract_metadata(text)
    assert meta.locality != "Căn"
    assert (meta.issuer, meta.level, meta.province) == ("UBND tỉnh Gia Lai", "tỉnh", "Gia Lai")


def test_years_come_from_title_and_headings_first() -> None:
    headings = ["Điều 1. Đánh giá tình hình thực hiện nhiệm vụ phát triển kinh tế-xã hội năm 2022",
                "Điều 2. Mục tiêu và các chỉ tiêu kế hoạch chủ yếu năm 2023"]
    body = "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;\nnăm 2019, năm 2019"
    assert extract_years(body, None, headings) == (2022, 2023)


def test_years_from_body_skip_legal_bases_and_calendar_dates() -> None:
    body = (
        "Căn cứ Luật Tổ chức chính quyền địa phương năm 2015; Luật Tổ chức chính quyền địa phương năm 2015;\n"
        "Thường Xuân, ngày 19 tháng 7 năm 2024\n"
        "Ngày 17/7/2024, hội nghị sơ kết tháng 6 năm 2024.\n"
        "Thu hoạch cây trồng vụ Đông năm 2023 tăng 5,7%; gieo trồng vụ Xuân năm 2023 tăng 1,59%."
    )
    assert extract_years(body, None, []) == (2023,)


def test_signer_needs_a_signature_block() -> None:
    assert extract_signer("Nơi nhận:\n- Lưu: VT, VP.\nCHỦ TỊCH\nNguyễn Hữu Nam") == "Nguyễn Hữu Nam"
    # A capitalised last line with no role or "Nơi nhận" above it is not a signature.
    assert extract_signer("Hội nghị sơ kết 6 tháng đầu năm 2024.\nThường Xuân") is None


def test_lower_case_province_in_an_old_header() -> None:
    """Older decisions write "Ủy ban nhân dân tỉnh khánh hòa": the gazetteer knows the province in any case."""
    from corpus.metadata import extract_metadata

    text = ("Quyết định quy định mức thủy lợi phí trên địa bàn tỉnh khánh hòa\n"
            "Ủy ban nhân dân tỉnh khánh hòa\nCăn cứ Luật Tổ chức Hội đồng nhân dân và Ủy ban nhân dân;")
    meta = extract_metadata(text)
    assert (meta.issuer, meta.level, meta.locality, meta.province) == (
        "UBND tỉnh Khánh Hòa", "tỉnh", "Khánh Hòa", "Khánh Hòa")


def test_generic_body_line_takes_the_province_from_the_title() -> None:
    from corpus.metadata import extract_metadata

    text = ("Quyết định ban hành quy định hỗ trợ doanh nghiệp tỉnh bình phước giai đoạn 2009 - 2010\n"
            "Ủy ban nhân dân tỉnh\nCăn cứ Luật Tổ chức Hội đồng nhân dân và Ủy ban nhân dân;")
    meta = extract_metadata(text)
    assert (meta.issuer, meta.locality, meta.province_current) == ("UBND tỉnh Bình Phước", "Bình Phước", "Đồng Nai")


@pytest.mark.parametrize(("question", "field"), [
    ("HĐND huyện Bình Lục thông qua nghị quyết năm 2023 tại kỳ họp nào?", "session"),
    ("nq 140 binh giang thong qua o ky hop thu may", "session"),
    ("At which session was the resolution adopted?", "session"),
    ("Kỳ họp thứ 13 quyết định những nhiệm vụ gì?", None),  # names the session, asks about its decisions
])
def test_a_question_asking_for_the_session(question: str, field: str | None) -> None:
    from answering.metadata import asked_field

    assert asked_field(question) == field


@pytest.mark.parametrize(("line", "session"), [
    ("KHÓA XX, KỲ HỌP THỨ MƯỜI BA**", "KỲ HỌP THỨ MƯỜI BA"),
    ("Khoá XX, Kỳ họp thứ tám (Kỳ họp thường lệ cuối năm 2022) thông qua", "Kỳ họp thứ tám"),
    ("Hội đồng nhân dân tỉnh Khoá XIX, Kỳ họp thứ 18 thông qua./.", "Kỳ họp thứ 18"),
    ("ý kiến thảo luận của đại biểu tại các kỳ họp.", None),  # no numbered session: nothing, never a guess
])
def test_the_session_is_read_as_written(line: str, session: str | None) -> None:
    from answering.metadata import _SESSION_IN_TEXT

    found = _SESSION_IN_TEXT.search(line)
    assert (found.group(0) if found else None) == session


@pytest.mark.parametrize(("question", "field"), [
    ("Ai ký nghị quyết 140 của Bình Giang?", "signer"),
    ("Ai là chủ tịch HĐND huyện Bình Giang ký nghị quyết về kết quả 6 tháng đầu năm 2024?", "signer"),
    ("ai la nguoi thay mat ubnd ky thong bao 163", "signer"),
    ("Ai chủ trì kỳ họp thứ tám của HĐND Bình Lục?", None),  # "kỳ họp" folds like "ký" but is no signature
    ("Ai chủ trì hội nghị sơ kết của Thường Xuân?", None),
])
def test_a_question_asking_who_signed_names_the_office_first_or_not(question: str, field: str | None) -> None:
    from answering.metadata import asked_field

    assert asked_field(question) == field


@pytest.mark.parametrize(("question", "document_number"), [
    ("Bình Giang phải làm xong tuyến đường cấp tỉnh mang số hiệu nào, đi cùng với đường lên cầu Cậy?", False),
    ("binh giang nang cap duong tinh so hieu may", False),
    ("Nghị quyết của HĐND Bình Giang mang số hiệu nào?", True),
    ("số hiệu văn bản về đường tỉnh 395", True),  # the document's number, about a road
])
def test_a_road_s_number_is_not_the_document_s(question: str, document_number: bool) -> None:
    """"Tuyến đường tỉnh mang số hiệu nào" was answered "Số: 140 /NQ-HĐND" (the resolution's own number line)."""
    from answering.asked import Asked
    from answering.metadata import asked_field
    from index.query import parse_query

    query = parse_query(question)
    assert (asked_field(question) == "number") == document_number
    assert query.asks_number == document_number
    assert (Asked(query).answer_type == "code") == document_number
