"""What the page reads from the API: real matches and the leading line of each passage, the collection's places for
the pickers, the comparison under filters, the chart drawn on the server, and a page that loads nothing from
outside."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from answering.highlight import highlight_spans, lead_line, query_terms
from corpus.gazetteer import fold
from service.charts import vn_number

QUESTION = "chỉ tiêu hộ nghèo 2023 của Bình Lục?"
PASSAGE = ("Chỉ đạo huy động nguồn lực, thu nhập bình quân tăng.\n"
           "- Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7% năm 2023 tại huyện Bình Lục.\n"
           "- Các chỉ tiêu khác.")


def marked(text: str, query: str) -> list[str]:
    return [text[s:e] for s, e in highlight_spans(text, query_terms(query))]


def test_compound_words_are_matched_whole_and_accents_are_respected() -> None:
    found = marked(PASSAGE, QUESTION)
    assert found == ["hộ", "nghèo", "2023", "Bình Lục", "chỉ tiêu"]  # not "bình quân", "nguồn lực", "Chỉ đạo"


def test_a_query_without_diacritics_matches_on_folded_words() -> None:
    assert {fold(w).lower() for w in marked(PASSAGE, "ho ngheo binh luc")} >= {"ho", "ngheo"}


def test_an_abbreviation_marks_its_expansion() -> None:
    text = "Đẩy nhanh công tác giải phóng mặt bằng các dự án trọng điểm."
    assert "giải phóng mặt bằng" in marked(text, "tiến độ GPMB")


def test_the_lead_line_is_the_one_holding_most_of_the_query() -> None:
    start, end = lead_line(PASSAGE, query_terms(QUESTION))
    assert PASSAGE[start:end].startswith("- Tỷ lệ hộ nghèo") and "\n" not in PASSAGE[start:end]
    assert lead_line("một dòng\nhai dòng", query_terms("không khớp")) == (0, len("một dòng"))


@given(st.text(alphabet=st.sampled_from(list("aàáạăắâấbcdđeêếiìoôồơớuưứy hHĐ\n-,.%0123")), max_size=120),
       st.sampled_from([QUESTION, "ho ngheo", "GPMB", "đất đai", "x"]))
def test_marks_are_ordered_disjoint_and_inside_the_text(text: str, query: str) -> None:
    terms = query_terms(query)
    spans = highlight_spans(text, terms)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    start, end = lead_line(text, terms)
    assert 0 <= start <= end <= len(text)


def test_search_results_carry_marks_and_lead_as_document_offsets(client: TestClient) -> None:
    body = client.post("/search", json={"query": QUESTION, "k": 3}).json()
    first = body["results"][0]
    text = client.get(f"/documents/{first['document']['id']}").json()["text"]
    lead = first["lead"]
    assert first["start"] <= lead["start"] < lead["end"] <= first["end"]
    assert "giảm còn 3,7%" in text[lead["start"]:lead["end"]]
    assert {fold(text[s:e]).lower() for s, e in first["highlights"]} <= {"ho", "ngheo", "chi tieu", "binh luc", "2023"}


def test_overview_lists_localities_and_levels_for_the_pickers(client: TestClient) -> None:
    data = client.get("/overview").json()
    localities = {(p["locality"], p["province"]) for p in data["by_locality"]}
    assert ("Bình Lục", "Hà Nam") in localities and ("Bình Giang", "Hải Dương") in localities
    assert sum(p["documents"] for p in data["by_locality"]) <= data["documents"]
    assert {lv["level"] for lv in data["by_level"]} >= {"huyện"}


def test_comparison_follows_the_filters_and_says_what_it_left_out(client: TestClient) -> None:
    key = "tỷ lệ hộ nghèo"
    everything = client.get("/indicators/compare", params={"key": key}).json()
    assert {r["locality"] for r in everything["rows"]} >= {"Bình Lục", "Vĩnh Bảo"}
    assert everything["unit"] == "%" and isinstance(everything["left_out"], list)
    ninh_binh = client.get("/indicators/compare", params={"key": key, "province": "Ninh Bình"}).json()
    assert {r["locality"] for r in ninh_binh["rows"]} == {"Bình Lục"}  # Hà Nam is in Ninh Bình since 2025
    none = client.get("/indicators/compare", params={"key": key, "year_from": 2030}).json()
    assert none["rows"] == [] and none["unit"] is None
    assert client.get("/indicators/compare", params={"key": key, "level": "thôn"}).status_code == 422


def test_chart_is_an_svg_with_axis_unit_and_vietnamese_numbers(client: TestClient) -> None:
    response = client.get("/indicators/compare/chart.svg", params={"key": "tỷ lệ hộ nghèo", "width": 390})
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.text)
    assert float(root.get("width", "0").removesuffix("pt")) * 96 / 72 <= 391  # drawn at the frame's width
    labels = ["".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")]
    texts = " ".join(labels)
    assert "3,7" in texts and "0,46" in texts and "%" in texts and "Bình Lục" in texts
    numbers = [w for w in texts.split() if any(c.isdigit() for c in w)]
    assert numbers and not [w for w in numbers if re.fullmatch(r"\d+\.\d{1,2}", w)]  # "2,5", never "2.5"
    filtered = client.get("/indicators/compare/chart.svg", params={"key": "tỷ lệ hộ nghèo", "province": "Hà Nam"})
    assert "Vĩnh Bảo" not in filtered.text and "Bình Lục" in filtered.text
    empty = client.get("/indicators/compare/chart.svg", params={"key": "không có chỉ tiêu này"})
    assert empty.status_code == 200 and "Chưa có số liệu" in empty.text
    assert client.get("/indicators/compare/chart.svg", params={"key": "x", "width": 10}).status_code == 422


def test_vietnamese_number_format() -> None:
    assert [vn_number(v) for v in (2809.228, 3.7, 0.46, 12345678, -1.5)] == ["2.809,23", "3,7", "0,46",
                                                                             "12.345.678", "-1,5"]


def test_the_page_loads_only_from_this_app(client: TestClient) -> None:
    response = client.get("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    for path in ("/", "/static/app.js", "/static/app.css"):
        text = client.get(path).text
        assert client.get(path).status_code == 200
        assert not re.findall(r"https?://(?!127\.0\.0\.1)[^\s\"'`)]+", text), path
