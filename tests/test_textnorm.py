"""index.textnorm: the fast paths give exactly what the plain ones give.

Word segmentation re-implements pyvi's feature extraction, and abbreviation
matching skips the regex when a substring test says it cannot match; both are
checked here against the code they replace (pyvi itself, the bare regexes), so
a change in either is caught before it changes what the index holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.chunk import ChunkSettings
from corpus.clean import _WORD, _normalize_syllable, normalize_tones
from corpus.load import read_path
from corpus.pipeline import parse_text
from index.textnorm import _abbreviation_patterns, _pyvi, _segment, canonical_abbreviations, expansion_text

DOCUMENTS = Path(__file__).resolve().parents[1] / "corpus" / "documents"


def _pyvi_tokenize(text: str) -> str:
    from pyvi import ViTokenizer

    return str(ViTokenizer.tokenize(text))


def _plain_expansion_text(text: str) -> str:
    extra: list[str] = []
    for p in _abbreviation_patterns():
        if p.short.search(text):
            extra.append(p.expansions[0])
        if p.long.search(text):
            extra.append(p.abbr.replace("-", ""))
    return " ".join(extra)


def _plain_canonical(text: str) -> str:
    for p in _abbreviation_patterns():
        if "-" in p.abbr:
            text = p.short.sub(p.abbr.replace("-", ""), text)
    return text


@pytest.fixture(scope="module")
def seed_chunk_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(DOCUMENTS.glob("*.txt")):
        doc = parse_text(read_path(path), path.name, ChunkSettings())
        texts += [f"{c.header}\n{c.text}" for c in doc.chunks]
    return texts


def test_the_fast_segmenter_is_in_use() -> None:
    assert _pyvi() is not None, "pyvi is not 0.1.1: segmentation falls back to pyvi itself (slower, same output)"


def test_segmentation_matches_pyvi_on_every_seed_chunk(seed_chunk_texts: list[str]) -> None:
    assert len(seed_chunk_texts) > 200
    for text in seed_chunk_texts:
        assert _segment(text) == _pyvi_tokenize(text)


@pytest.mark.parametrize("text", [
    "", " ", "\n", "Hà", "Hội đồng", "HỘI ĐỒNG NHÂN DÂN HUYỆN BÌNH GIANG", "Tỷ lệ hộ nghèo giảm còn 3,7%",
    "Thu ngân sách 2.841,5 tỷ đồng...", "Tp. Hồ Chí Minh ==> Hà Nội -> Hải Phòng >> Nam Định",
    "liên hệ ubnd@binhgiang.gov.vn hoặc https://binhgiang.gov.vn/van-ban", "Điều 5.\n\na) KT-XH; (1) GPMB",
    "ho\u0300a bi\u0300nh", "ThS. Nguyễn Văn A, Dr. B", "1_2 a_b __", "Ý", "1 2 3", "ı İ ſ",
])
def test_segmentation_matches_pyvi_on_edge_cases(text: str) -> None:
    assert _segment(text) == _pyvi_tokenize(text)


_ABBREVIATION_TEXT = st.lists(st.sampled_from([
    "KT-XH", "KT - XH", "KTXH", "kinh tế - xã hội", "Kinh Tế Xã Hội", "KINH TẾ XÃ HỘI", "HĐND", "hđnd",
    "Hội đồng nhân dân", "ỦY BAN NHÂN DÂN", "UBND", "xUBND", "UBNDx", "nông thôn mới", "NTM", "CN-TTCN",
    "ngân sách nhà nước", "NSNN", " ", "\n", "-", ",", "İ", "ı", "ſ", "ẛ", "tỉnh", "năm 2024", "KT",
]), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(_ABBREVIATION_TEXT)
def test_abbreviation_prefilters_change_nothing(text: str) -> None:
    assert expansion_text(text) == _plain_expansion_text(text)
    assert canonical_abbreviations(text) == _plain_canonical(text)


def test_abbreviation_prefilters_on_seed_chunks(seed_chunk_texts: list[str]) -> None:
    for text in seed_chunk_texts:
        assert expansion_text(text) == _plain_expansion_text(text)
        assert canonical_abbreviations(text) == _plain_canonical(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="hoàáảãạuỷýòóọ ĐđKhoáThuỷ\u0300\u0309\u0323", max_size=40))
def test_normalize_tones_matches_syllable_by_syllable(text: str) -> None:
    assert normalize_tones(text) == _WORD.sub(lambda m: _normalize_syllable(m.group(0)), text)
