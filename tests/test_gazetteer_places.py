"""Place names in questions: units, capitalised names, known places, near misses — and the words that only look
like places ("Bình Lục năm" is not "Lục Nam", "là gì" is not "La Gi")."""

from __future__ import annotations

import pytest

from corpus.gazetteer import edit_distance, find_place_mentions, fold, load_gazetteer, near_misses

KNOWN = frozenset(fold(x) for x in ("Bình Lục", "Hà Nam", "Ninh Bình", "Bình Giang", "Hải Dương", "Hải Phòng",
                                    "Vĩnh Bảo", "Thường Xuân", "Thanh Hóa", "Bắc Giang", "Bắc Ninh"))


def _found(text: str) -> list[tuple[str, str | None, tuple[str, ...]]]:
    return [(m.text, m.level, m.near) for m in find_place_mentions(text, KNOWN)]


@pytest.mark.parametrize(("question", "expected"), [
    ("Chỉ tiêu tỷ lệ hộ nghèo năm 2023 của huyện Bình Lục là bao nhiêu?", [("Bình Lục", "huyện", ())]),
    ("Bình Lục năm 2023 tỷ lệ phát triển dân số tự nhiên phải dưới bao nhiêu?", [("Bình Lục", "huyện", ())]),
    ("chi tieu ho ngheo 2023 cua binh luc", [("binh luc", "huyện", ())]),
    ("Khẩu hiệu hành động cho cả năm 2024 của huyện Vĩnh Bảo là gì?", [("Vĩnh Bảo", "huyện", ())]),
    ("Tổng vốn đầu tư toàn xã hội của huyện Vĩnh Bảo (Hải Phòng) năm 2024 dự kiến?",
     [("Vĩnh Bảo", "huyện", ()), ("Hải Phòng", "tỉnh", ())]),
    ("Nghị quyết Huyện ủy Vĩnh Bảo về nhiệm vụ năm 2024 ban hành ngày nào?", [("Vĩnh Bảo", "huyện", ())]),
    ("What is Vinh Bao's per-capita income target for 2024?", [("Vinh Bao", "huyện", ())]),
    ("Tổng thu ngân sách nhà nước trên địa bàn TP Hồ Chí Minh năm 2023 đạt bao nhiêu?", [("Hồ Chí Minh", "tỉnh", ())]),
    ("Bắc Giang khởi công nhà máy xử lý rác nào ở huyện Hiệp Hòa?",
     [("Bắc Giang", "tỉnh", ()), ("Hiệp Hòa", "huyện", ())]),
])
def test_places_a_question_names(question: str, expected: list[tuple[str, str, tuple[str, ...]]]) -> None:
    assert _found(question) == expected


@pytest.mark.parametrize("question", [
    "Năm 2024 Vĩnh Bảo làm lễ giỗ cụ Trạng Trình lần thứ bao nhiêu?",  # a person, not a place
    "Tổng vốn đầu tư toàn xã hội trên địa bàn năm 2023 là gì?",  # "xã hội", "là gì" (La Gi)
    "vinh bao 2024 cn do huyen quan ly tang bn %",  # "quan ly" after "huyen": an ordinary word
])
def test_ordinary_words_are_not_places(question: str) -> None:
    assert all(m.key in KNOWN for m in find_place_mentions(question, KNOWN))


@pytest.mark.parametrize(("question", "near"), [
    ("Thu nhập bình quân đầu người huyện Bình Lộc năm 2023 là bao nhiêu?", "binh luc"),
    ("Bìng Lục năm 2023 phấn đấu tỷ lệ hộ nghèo giảm còn bao nhiêu?", "binh luc"),
    ("Tốc độ tăng trưởng kinh tế huyện Vĩnh Bảu năm 2023 là bao nhiêu?", "vinh bao"),
    ("Thườg Xuân muốn giảm tỷ lệ trẻ em suy dinh dưỡng xuống còn bao nhiêu năm 2024?", "thuong xuan"),
    ("huyen binh loc 2023 thu nhap", "binh luc"),
])
def test_near_misses_of_known_places(question: str, near: str) -> None:
    mentions = find_place_mentions(question, KNOWN)
    assert [m.near for m in mentions] == [(near,)] and mentions[0].level is None


def test_a_real_district_is_not_a_misspelling_of_a_known_one() -> None:
    """Bình Gia (Lạng Sơn) is two edits from Bình Giang: it is a place no document is about, not a typo."""
    assert _found("Tỷ lệ hộ nghèo huyện Bình Gia năm 2023?") == [("Bình Gia", "huyện", ())]


def test_edit_distance_and_near_misses() -> None:
    assert edit_distance("binh luc", "binh loc") == 1 and edit_distance("abc", "xyzabc", limit=2) == 3
    assert near_misses("vinh bau", KNOWN) == ["vinh bao"]
    assert near_misses("thuong xuyen", KNOWN) == ["thuong xuan"]  # two edits allowed from ten letters
    assert near_misses("ha noi", KNOWN) == []


def test_the_gazetteer_has_communes_and_folded_lookups() -> None:
    gazetteer = load_gazetteer()
    assert "Bình Giang" in gazetteer.districts and gazetteer.current_province("Hà Nam") == "Ninh Bình"
    assert gazetteer.levels("binh luc") == {"huyện": "Bình Lục"}
    assert "xã" in gazetteer.levels("vinh hong")  # Bình Giang's Vĩnh Hồng, among others
