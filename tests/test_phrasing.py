"""The glossary (users' words → the documents' terms) and the year of a passage's heading, as search reads them."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus.clean import normalize_unicode
from index.collection import Collection
from index.phrasing import abbreviations, english_gloss, everyday_gloss, gloss, spell_out
from index.search import Boosts, Searcher


def _table(name: str) -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        (resources.files("corpus") / "data" / name).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(("name", "part"), [("colloquial_terms.json", "abbreviations"),
                                            ("colloquial_terms.json", "everyday"), ("english_terms.json", "terms")])
def test_glossary_entries_are_written_as_queries_are_read(name: str, part: str) -> None:
    """Queries are NFC with one tone-mark placement before matching: a key spelled "hoá" would never fire."""
    table = _table(name)[part]
    assert len(table) > 30
    for phrase, term in table.items():
        assert phrase == normalize_unicode(phrase).lower().strip() and len(phrase) >= 2, phrase
        assert term == normalize_unicode(term).strip() and term.lower() != phrase, phrase


def test_everyday_phrases_get_the_documents_terms_longest_phrase_first() -> None:
    assert "gia cầm" in everyday_gloss("Bình Lục nuôi được bao nhiêu gà, vịt?")
    assert "thủy sản" in everyday_gloss("Lượng cá tôm của huyện")
    meat = everyday_gloss("sản lượng thịt heo")
    assert "sản lượng thịt hơi xuất chuồng" in meat and "lợn" not in meat.split()  # "heo" inside it is not read
    assert everyday_gloss("Tỷ lệ hộ nghèo năm 2023") == ""  # the documents' own words need no gloss
    assert everyday_gloss("cheo leo") == ""  # whole words only: "heo" is not inside "cheo"


def test_abbreviations_are_spelled_out_whole_words_any_case() -> None:
    assert spell_out("san luong BN tan") == "san luong bao nhiêu tan"
    assert spell_out("bnn") == "bnn"
    assert gloss("binh luc 2023 bn dn vao ccn") == "binh luc 2023 bao nhiêu doanh nghiệp vao cụm công nghiệp"


def test_english_is_glossed_only_for_a_query_in_english() -> None:
    assert "gia cầm" in gloss("How many poultry in Binh Luc?", foreign=True)
    assert "vệ sinh an toàn thực phẩm" in english_gloss("food safety inspections")
    assert gloss("poultry", foreign=False) == ""


words = st.text(alphabet="abcdeghiklmnopqrstuvxyàáạảãâầấậẩẫăằắặẳẵđèéẹẻẽêềếệểễ", min_size=1, max_size=8)


@given(st.lists(words, max_size=12), st.sampled_from([" ", "  ", "\t", "\n"]))
def test_spelling_out_changes_only_abbreviations(parts: list[str], space: str) -> None:
    text = space.join(parts)
    expected = space.join(abbreviations().get(p.lower(), p) for p in parts)
    assert spell_out(text) == expected


def _searcher(sample_index: Path, **options: object) -> Searcher:
    base = Collection.open(sample_index).searcher()
    return Searcher(base.chunks, base.documents, base.lexical, base.dense, base.dense_status,
                    replace(base.options, **options), base.indicator_records, base.restorer)


def test_an_english_question_reaches_the_line_through_the_glossary(sample_index: Path) -> None:
    """Without an encoder only the glossary bridges English to the resolution's Vietnamese."""
    question = "How many poultry does Binh Luc plan to raise in 2023?"
    found = _searcher(sample_index).search(question, 3)
    assert any("1,5 triệu con" in hit.chunk.text for hit in found)
    assert not any("1,5 triệu con" in hit.chunk.text for hit in _searcher(sample_index, glossary=False).search(
        question, 10))


def test_a_heading_naming_only_another_year_ranks_below_the_year_asked(sample_index: Path) -> None:
    """Vĩnh Bảo's resolution reports 2023 ("I. KẾT QUẢ … NĂM 2023") and plans 2024 ("II. … NĂM 2024")."""
    topics = ("thu ngân sách", "tỷ lệ hộ nghèo", "giá trị sản xuất", "năng suất lúa", "giải quyết việc làm")
    for searcher, holds in ((_searcher(sample_index), True),
                            (_searcher(sample_index, boosts=replace(Boosts(), other_year=0.0)), False)):
        sections = [searcher.search(f"{topic} Vĩnh Bảo năm 2024", 1)[0].chunk.section for topic in topics]
        assert all("2023" not in s or "2024" in s for s in sections) is holds, sections


def test_a_query_typed_without_diacritics_is_glossed_without_them() -> None:
    """The restorer may read "heo" as "hẻo": the phrase is matched on the folded words as well."""
    assert "gia cầm" in gloss("binh luc nuoi ga vit bn con", unaccented=True)
    assert "lợn" in gloss("so con heo xuat chuong", unaccented=True)
    assert "gia cầm" not in gloss("binh luc nuoi ga vit bn con")
    assert "lợn" not in gloss("How many heo", foreign=True, unaccented=True)
