"""bench.generate: a large collection moved in place and time from the real documents, reproducibly."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from bench.generate import generate_corpus, move_places, renumber, scale_figures, shift_years
from corpus.gazetteer import load_gazetteer
from corpus.load import read_path
from corpus.pipeline import parse_text
from tests.conftest import DOCUMENTS

pytestmark = pytest.mark.slow  # generates a synthetic collection

SEEDS = sorted(DOCUMENTS.glob("*.txt"))


def test_places_move_in_every_case_the_text_writes_them() -> None:
    text = "Bình Giang, ngày 16 tháng 7 năm 2024\nHỘI ĐỒNG NHÂN DÂN HUYỆN BÌNH GIANG\ntỉnh hải dương"
    moved = move_places(text, {"Bình Giang": "Kim Bảng", "Hải Dương": "Hà Nam"})
    assert moved == "Kim Bảng, ngày 16 tháng 7 năm 2024\nHỘI ĐỒNG NHÂN DÂN HUYỆN KIM BẢNG\ntỉnh hà nam"


def test_a_swap_of_two_places_is_not_renamed_twice() -> None:
    assert move_places("Hà Nam và Hải Dương", {"Hà Nam": "Hải Dương", "Hải Dương": "Hà Nam"}) == "Hải Dương và Hà Nam"


def test_years_shift_but_cited_decrees_keep_their_numbers() -> None:
    text = "Căn cứ Nghị định số 197/2004/NĐ-CP ngày 03/12/2004; kế hoạch năm 2024"
    assert shift_years(text, -3) == "Căn cứ Nghị định số 197/2004/NĐ-CP ngày 03/12/2001; kế hoạch năm 2021"


def test_figures_keep_their_format() -> None:
    text = "tỷ lệ hộ nghèo giảm còn 3,7%; thu ngân sách 2.841,5 tỷ đồng; Điều 2. năm 2025"
    scaled = scale_figures(text, random.Random(1))
    assert re.fullmatch(r"tỷ lệ hộ nghèo giảm còn \d,\d%; thu ngân sách \d\.\d{3},\d tỷ đồng; Điều 2\. năm 2025",
                        scaled)
    assert scaled != text


def test_only_the_documents_own_number_changes() -> None:
    text = "Số: 140 /NQ-HĐND\nXét Báo cáo số 222/BC-UBND"
    assert renumber(text, random.Random(0)).endswith("/NQ-HĐND\nXét Báo cáo số 222/BC-UBND")
    assert not renumber(text, random.Random(0)).startswith("Số: 140 ")


def test_generation_is_reproducible_reused_and_sized(tmp_path: Path) -> None:
    first = generate_corpus(tmp_path / "a", 1000, seed=3, sources=SEEDS)
    assert first["estimated_chunks"] >= 1000 and not first["reused"]
    again = generate_corpus(tmp_path / "a", 1000, seed=3, sources=SEEDS)
    assert again["reused"] and again["documents"] == first["documents"]
    other = generate_corpus(tmp_path / "b", 1000, seed=3, sources=SEEDS)
    names = sorted(p.name for p in (tmp_path / "a").glob("*.txt"))
    assert names == sorted(p.name for p in (tmp_path / "b").glob("*.txt")) and len(names) == other["documents"]
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)


def test_generated_documents_parse_as_documents_of_other_places(tmp_path: Path) -> None:
    generate_corpus(tmp_path, 600, seed=0, sources=SEEDS)
    gazetteer = load_gazetteer()
    chunks = 0
    for path in sorted(tmp_path.glob("*.txt")):
        doc = parse_text(read_path(path), path.name)
        chunks += len(doc.chunks)
        assert all(doc.text[c.start : c.end] == c.text for c in doc.chunks)
        assert doc.meta.province in gazetteer.provinces
    assert 500 <= chunks <= 700  # estimated from the sources' chunk counts
