"""corpus.clean: the text every offset points into must be canonical and stable."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.clean import clean_text, normalize_unicode

DOCUMENTS = Path(__file__).resolve().parents[1] / "corpus" / "documents"

# Letters with every tone and quality mark, in both cases, plus the old-style
# spellings the documents mix in ("hoà", "thuỷ", "Uỷ").
_VI_LETTERS = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "ĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
)
_DEBRIS = [
    "**", "*", "***", "[bookmark: _Hlk123]", "[bookmark: _Hlk107906890]", "\t", "\n", "\n\n", "\n\n\n", "\r\n",
    " ", "  ", "\u00a0", "\ufeff", "\u200b", ",", ".", ";", ":", "1. ", "(2) ", "- ", "a) ", "Điều 1. ",
    "hoà", "thuỷ", "Khoá", "Uỷ ban", "ho\u0300a", "thu\u0309y",  # old placement, precomposed and decomposed
    "\u0300", "\u0301", "\u0309", "\u0303", "\u0323",  # stray combining tone marks
]
_pieces = st.one_of(
    st.text(alphabet=_VI_LETTERS + " ", min_size=1, max_size=10),
    st.sampled_from(_DEBRIS),
    st.text(max_size=3),  # anything at all, control characters included
)
arbitrary_text = st.lists(_pieces, max_size=40).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arbitrary_text)
def test_clean_text_is_idempotent(raw: str) -> None:
    once = clean_text(raw)
    assert clean_text(once) == once


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arbitrary_text)
def test_clean_text_output_is_canonical(raw: str) -> None:
    cleaned = clean_text(raw)
    assert unicodedata.is_normalized("NFC", cleaned)
    assert "[bookmark:" not in cleaned
    assert "**" not in cleaned
    assert "\t" not in cleaned and "\r" not in cleaned and "\ufeff" not in cleaned
    assert "\n\n\n" not in cleaned
    assert cleaned == cleaned.strip()
    assert all(line == line.strip(" ") for line in cleaned.split("\n"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_VI_LETTERS + " ", max_size=60))
def test_nfd_and_nfc_input_clean_to_the_same_text(words: str) -> None:
    assert clean_text(unicodedata.normalize("NFD", words)) == clean_text(unicodedata.normalize("NFC", words))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hoà", "hòa"),
        ("thuỷ", "thủy"),
        ("Khoá", "Khóa"),
        ("Uỷ ban", "Ủy ban"),
        ("UỶ BAN NHÂN DÂN", "ỦY BAN NHÂN DÂN"),
        ("khoẻ", "khỏe"),
        ("ho\u0300a", "hòa"),  # decomposed input, old placement
        ("hoạt động văn hoá, thông tin", "hoạt động văn hóa, thông tin"),
        ("TT Huyện uỷ, HĐND; Lãnh đạo UBND huyện;", "TT Huyện ủy, HĐND; Lãnh đạo UBND huyện;"),
        ("Hội đồng nhân dân huyện Bình Giang khoá XX", "Hội đồng nhân dân huyện Bình Giang khóa XX"),
    ],
)
def test_old_tone_placement_becomes_new_style(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected
    assert normalize_unicode(raw) == expected


@pytest.mark.parametrize(
    "word",
    ["quý", "giữa", "người", "khuyến", "hòa", "thủy", "của", "mía", "hoạch", "quốc", "giường", "tuổi", "Nguyễn",
     "chuyển", "nghĩa", "Huế", "QUÝ", "gìn"],
)
def test_correctly_placed_tones_stay(word: str) -> None:
    assert clean_text(word) == word


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[bookmark: _Hlk107906890]Trên cơ sở", "Trên cơ sở"),
        (
            "[bookmark: _Hlk169340124][bookmark: _Hlk169334688][bookmark: _Hlk169340177]Một số địa phương",
            "Một số địa phương",
        ),
        ("**NGHỊ QUYẾT**", "NGHỊ QUYẾT"),
        ("**Điều 1.** Hội đồng nhân dân huyện", "Điều 1. Hội đồng nhân dân huyện"),
        ("- *Về khách quan:* Tình hình", "- Về khách quan: Tình hình"),
        ("- *Về lĩnh vực Văn hoá:* Tăng cường", "- Về lĩnh vực Văn hóa: Tăng cường"),
        ("ĐẢNG BỘ TP HẢI PHÒNG\n\n                          *                  \n\nSố 07-NQ/HU",
         "ĐẢNG BỘ TP HẢI PHÒNG\n\nSố 07-NQ/HU"),
        ("Số:163/TB-UBND\t\tThường Xuân", "Số:163/TB-UBND Thường Xuân"),
    ],
)
def test_conversion_debris_is_stripped(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_line_broken_mid_sentence_is_rejoined() -> None:
    raw = "Ủy viên Ban Thường vụ Huyện ủy và\ncác Ban xây dựng Đảng"
    assert clean_text(raw) == "Ủy viên Ban Thường vụ Huyện ủy và các Ban xây dựng Đảng"


def test_line_broken_before_a_date_is_rejoined() -> None:
    raw = "Luật Tổ chức chính quyền địa phương ngày\n22/11/2019;"
    assert clean_text(raw) == "Luật Tổ chức chính quyền địa phương ngày 22/11/2019;"


@pytest.mark.parametrize(
    "raw",
    [
        "2. Một số chỉ tiêu chủ yếu\n(1). Tổng giá trị sản xuất trên địa bàn",
        "Điều 2. Mục tiêu và các chỉ tiêu kế hoạch chủ yếu năm 2023\n1. Mục tiêu tổng quát",
        "4. Về nhiệm vụ trọng tâm 6 tháng cuối năm 2024\n4.1. Về công tác chỉ đạo, điều hành",
        # A lettered item starts in lower case and is still a heading.
        "1. Báo cáo tháng\na) Cơ quan, đơn vị thực hiện:",
    ],
)
def test_numbered_line_is_not_joined_to_the_previous_one(raw: str) -> None:
    assert clean_text(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        # Lines that start with a capital outside ASCII (Đ, Ủ) begin a new
        # line too; a letter range à-ỹ once took them for lower case.
        "Số 07-NQ/HU\nĐẢNG CỘNG SẢN VIỆT NAM",
        "Điều 1. Đánh giá tình hình thực hiện nhiệm vụ phát triển kinh tế-xã hội năm 2022\n"
        "Điều 2. Mục tiêu và các chỉ tiêu kế hoạch chủ yếu năm 2023",
        "trên địa bàn tỉnh gia lai\nỦy ban nhân dân tỉnh",
        "Năm 2022, trong điều kiện còn nhiều khó khăn\nNăm 2023",
    ],
)
def test_line_starting_with_a_capital_is_not_joined(raw: str) -> None:
    assert clean_text(raw) == raw


def test_seed_documents_are_already_clean_after_one_pass() -> None:
    for path in sorted(DOCUMENTS.glob("*.txt")):
        cleaned = clean_text(path.read_text(encoding="utf-8"))
        assert clean_text(cleaned) == cleaned, path.name
        assert "**" not in cleaned and "[bookmark:" not in cleaned, path.name
