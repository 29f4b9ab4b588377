"""index.wants: which questions ask for a figure or a place, and what a passage must state to answer them."""

from __future__ import annotations

import pytest

from index.phrasing import gloss
from index.wants import ANY_FIGURE, RATE_IN_LINE, asks_place, names_place, states, wanted_figure


def _figure(question: str) -> object:
    return wanted_figure(question, f"{question} {gloss(question)}")


@pytest.mark.parametrize(("question", "holds", "lacks"), [
    ("Bình Giang 6 tháng đầu 2024 tăng bao nhiêu phần trăm?", "tăng 13,8%", "tăng 478 tỷ đồng"),
    ("gia tri xay dung 6t tăg bn %", "tăng 14,3 %", "tăng mạnh"),
    ("tỷ lệ hộ nghèo năm 2023 giảm còn bao nhiêu?", "giảm còn 3,7%", "giảm còn 120 hộ"),
    ("What poverty rate does Binh Luc aim for in 2023?", "3,7%", "120 hộ"),
    ("Bình Lục có bao nhiêu xã đạt chuẩn nông thôn mới nâng cao?", "04-06 xã", "các xã đạt chuẩn"),
    ("how many communes reach the new-rural standard", "5 xã", "các xã"),
])
def test_a_question_asking_a_figure_wants_one_of_its_kind(question: str, holds: str, lacks: str) -> None:
    wanted = _figure(question)
    assert wanted is not None and states(wanted, holds) and not states(wanted, lacks)


def test_rates_and_counts_get_their_patterns() -> None:
    assert _figure("tỷ lệ hộ nghèo giảm còn bao nhiêu") is RATE_IN_LINE
    assert _figure("bao nhiêu xã đạt chuẩn") is not ANY_FIGURE  # the unit named: a count of communes
    assert _figure("Thường Xuân có mấy sản phẩm OCOP") is ANY_FIGURE


@pytest.mark.parametrize("question", [
    "chỉ tiêu hộ nghèo Bình Lục", "Ai chủ trì hội nghị?", "Which directive guides the land database?",
    "Nhà máy nào được xây dựng?",  # "máy" typed bare is no "mấy"
])
def test_a_question_asking_no_figure_wants_none(question: str) -> None:
    assert _figure(question) is None


@pytest.mark.parametrize(("question", "asks"), [
    ("Năm 2024 Thường Xuân muốn xã nào vượt lên một bậc?", True),
    ("Bình Lục thu hút doanh nghiệp ở những nơi nào?", True),
    ("binh giang thi diem phan loai rac o 2 xa nao", True),
    ("Which communes in Binh Giang pilot waste sorting?", True),
    ("Bình Giang đẩy nhanh nâng cấp tuyến đường tỉnh nào?", False),  # a provincial road, not a province
    ("chỉ tiêu hộ nghèo 2023 của Bình Lục", False),
])
def test_which_questions_ask_for_a_place(question: str, asks: bool) -> None:
    assert asks_place(question) == asks
    if asks:  # what answers it: a place named by its unit and name
        assert names_place("tại xã Đồng Du và thị trấn Bình Mỹ") and not names_place("các xã, thị trấn")


def test_the_place_a_question_names_is_not_the_place_it_asks_for() -> None:
    """"Thường Xuân … xã nào": the line "UBND huyện Thường Xuân đã tổ chức hội nghị" names no other place."""
    from index.query import place_key

    named = {place_key("Thường Xuân")}
    assert not names_place("Ngày 17/7/2024, UBND huyện Thường Xuân đã tổ chức hội nghị sơ kết", named)
    assert names_place("phấn đấu xã Thọ Thanh đạt chuẩn nông thôn mới nâng cao", named)
    assert names_place("UBND huyện Thường Xuân đã tổ chức hội nghị")  # no place named: any counts
