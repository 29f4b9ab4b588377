"""The column-wise filter masks agree with a plain per-document reading of the filter rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.collection import Collection
from index.filters import Filters
from index.query import place_key
from index.store import StoredDocument


def matches_filters(doc: StoredDocument, f: Filters) -> bool:
    """The reference rule, one document at a time: a field the document does not state never matches."""
    meta = doc.meta
    if f.document_id is not None and doc.id != f.document_id:
        return False
    for wanted, actual in ((f.locality, meta.locality), (f.level, meta.level), (f.doc_type, meta.doc_type)):
        if wanted is not None and (actual is None or place_key(actual) != place_key(wanted)):
            return False
    provinces = {place_key(p) for p in (meta.province, meta.province_current) if p}  # the name then or now
    if f.province is not None and place_key(f.province) not in provinces:
        return False
    if f.year is not None and f.year not in meta.years:
        return False
    if f.year_from is not None and not any(y >= f.year_from for y in meta.years):
        return False
    return f.year_to is None or any(y <= f.year_to for y in meta.years)


def _values(collection: Collection) -> dict[str, list[object]]:
    docs = collection.store.documents()
    return {
        "locality": [d.meta.locality for d in docs if d.meta.locality] + ["binh luc", "Hà Nội"],
        "province": [d.meta.province for d in docs if d.meta.province] + ["HẢI DƯƠNG", "Hải Phòng", "Ninh Bình",
                                                                          "Bắc Ninh"],
        "level": [d.meta.level for d in docs if d.meta.level] + ["xã"],
        "doc_type": [d.meta.doc_type for d in docs if d.meta.doc_type] + ["Công văn"],
        "year": sorted({y for d in docs for y in d.meta.years}) + [1999],
        "document_id": [d.id for d in docs] + ["no-such-id"],
    }


def test_masks_match_the_per_document_rule(sample_index: Path) -> None:
    collection = Collection.open(sample_index)
    searcher = collection.searcher()
    values = _values(collection)
    names = ["locality", "province", "level", "doc_type", "year", "document_id"]
    field_values = {name: st.none() | st.sampled_from(values[name]) for name in names}
    years = st.none() | st.sampled_from(values["year"])

    @settings(max_examples=300, deadline=None)
    @given(st.fixed_dictionaries({**field_values, "year_from": years, "year_to": years}))
    def check(chosen: dict[str, object]) -> None:
        filters = Filters(**chosen)  # type: ignore[arg-type]
        mask = searcher.document_mask(filters)
        expected = [matches_filters(d, filters) for d in searcher.documents]
        if mask is None:
            assert all(expected)
        else:
            assert mask.tolist() == expected

    check()


def test_a_province_by_its_name_since_2025_finds_what_the_old_province_issued(sample_index: Path) -> None:
    searcher = Collection.open(sample_index).searcher()
    mask = searcher.document_mask(Filters(province="Hải Phòng"))
    assert mask is not None
    found = {d.meta.locality: d.meta.province for d, keep in zip(searcher.documents, mask, strict=True) if keep}
    assert found == {"Vĩnh Bảo": "Hải Phòng", "Bình Giang": "Hải Dương"}


@pytest.mark.parametrize("question", [
    "Nghị quyết Huyện ủy Vĩnh Bảo về nhiệm vụ năm 2024 ban hành ngày nào?",
    "nghi quyet huyen uy vinh bao nhiem vu 2024 ban hanh ngay nao",
])
def test_a_question_about_the_date_of_issue_finds_the_line_that_dates_the_document(sample_index: Path,
                                                                                  question: str) -> None:
    """The place-and-date line shares no word with the question but "ngày"; a body line dating an event
    ("Ngày 12/12/2023, Ban Chấp hành … đã tổ chức Hội nghị") must not come first."""
    from index.query import parse_query, states_date

    assert parse_query(question).asks_date and not parse_query("Hội nghị diễn ra ngày nào?").asks_date
    collection = Collection.open(sample_index)
    try:
        top = collection.searcher().search(question, 3)[0]
        assert top.document.meta.issued_date == "2023-12-12" and states_date(top.chunk.text, "2023-12-12")
    finally:
        collection.store.close()


def test_a_query_naming_another_instrument_s_number_lifts_the_passage_citing_it(sample_index: Path) -> None:
    """"chỉ thị 26-ct/tu ban hành ngày nào" asks about the directive Bắc Giang's resolution cites, not about the
    resolution: the passage citing it is lifted, and one naming the document's own number is not, by this boost."""
    import numpy as np

    from index.query import number_key

    collection = Collection.open(sample_index)
    try:
        searcher = collection.searcher()
        boosts = searcher.options.boosts
        assert boosts is not None and boosts.cited > 0
        query = searcher.parse("bắc giang chỉ thị 26-ct/tu ban hành ngày nào")
        citing = [r for r, c in enumerate(searcher.chunks) if "26-ct/tu" in number_key(c.text)]
        other = [r for r, c in enumerate(searcher.chunks) if r not in citing
                 and searcher.doc_of_row[r] == searcher.doc_of_row[citing[0]]]
        lifted = searcher._chunk_boost(query, np.array([citing[0], other[0]]), boosts)
        assert lifted[0] == lifted[1] + boosts.cited
        assert "26-ct/tu" in number_key(searcher.search(query, 3)[0].chunk.text)
        own = searcher.parse("nghị quyết 140/NQ-HĐND bình giang")  # the document's own number: its doc boost only
        row = next(r for r, c in enumerate(searcher.chunks) if "140/nq-hdnd" in number_key(c.text))
        assert searcher._chunk_boost(own, np.array([row]), boosts)[0] == 1.0
    finally:
        collection.store.close()


@pytest.mark.parametrize(("question", "answer"), [
    ("Mảng buôn bán, kinh doanh ở Bình Giang sáu tháng đầu 2024 lớn hơn cùng thời điểm năm trước mấy phần trăm?",
     "13,8%"),
    ("What share of workers in Vinh Bao district should have received vocational training in 2024?", "%"),
    ("Năm 2024 Thường Xuân định có sản phẩm đặc sản được tỉnh chấm sao ở những xã nào?", "Bát Mọt"),
    ("binh giang cuoi 2024 thi diem phan loai rac tai nguon o 2 xa nao", "xã"),
])
def test_a_passage_stating_no_figure_or_place_of_the_kind_asked_counts_less(sample_index: Path, question: str,
                                                                           answer: str) -> None:
    """"… mấy phần trăm" wants a line with a percentage, "… ở những xã nào" one naming a commune; a passage
    sharing more of the question's words but stating neither came first without the boost."""
    from dataclasses import replace

    collection = Collection.open(sample_index)
    try:
        searcher = collection.searcher()
        boosts = searcher.options.boosts
        assert boosts is not None and boosts.figureless > 0 and boosts.placeless > 0
        off = replace(searcher.options, boosts=replace(boosts, figureless=0.0, placeless=0.0))
        assert answer in searcher.search(question, 3)[0].chunk.text
        assert searcher.search(question, 3, options=off)[0].chunk.id != searcher.search(question, 3)[0].chunk.id
    finally:
        collection.store.close()


def test_a_pasted_passage_or_a_question_naming_no_place_asks_nothing_of_its_passages(sample_index: Path) -> None:
    """/similar's pasted passage may hold "3,7%", and "địa phương nào …" alone asks which documents: neither
    penalises passages."""
    import numpy as np

    collection = Collection.open(sample_index)
    try:
        searcher = collection.searcher()
        rows = np.arange(len(searcher.chunks))
        longest = max(searcher.chunks, key=lambda c: len(c.text.split())).text
        pasted = searcher.parse(f"{longest} tăng bao nhiêu 3,7%")
        assert (searcher._chunk_boost(pasted, rows, searcher.options.boosts) >= 1.0).all()
        which = searcher.parse("Địa phương nào có nhiệm vụ phát triển sản phẩm OCOP?")
        assert (searcher._chunk_boost(which, rows, searcher.options.boosts) >= 1.0).all()
    finally:
        collection.store.close()
