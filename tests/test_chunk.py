"""corpus.chunk: every chunk is a verbatim, ordered, sized span of the cleaned text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.chunk import ChunkSettings, estimate_tokens
from corpus.models import ParsedDocument
from corpus.pipeline import parse_path, parse_text

DOCUMENTS = Path(__file__).resolve().parents[1] / "corpus" / "documents"
SEEDS = sorted(DOCUMENTS.glob("*.txt"))

_WORDS = (
    "Hội đồng nhân dân huyện Bình Lục Tỷ lệ hộ nghèo theo chuẩn mới giảm còn 3,7% năm 2023 kinh tế - xã hội "
    "tăng trưởng 2,4% so với cùng kỳ Ủy ban thủy sản hoà khoá tỷ đồng 2.841 (giá so sánh năm 2010) ; , . : "
    "Huyện ủy Hội Hội Hội"
).split()
_HEADINGS = ["Điều 1.", "Điều 2.", "I.", "II.", "1.", "2.", "3.1.", "(1)", "(17).", "a)", "b)", "- ", "+ ", "",
             "QUYẾT NGHỊ:", "Nơi nhận:"]
_line = st.builds(
    lambda heading, words: f"{heading} {' '.join(words)}".strip(),
    st.sampled_from(_HEADINGS),
    st.lists(st.sampled_from(_WORDS), max_size=80),
)
_document = st.lists(st.tuples(_line, st.sampled_from(["\n", "\n\n", "\n\n\n", "  \n"])), min_size=1, max_size=30).map(
    lambda lines: "".join(line + end for line, end in lines)
)
_settings = st.builds(
    lambda max_tokens, overlap: ChunkSettings(max_tokens=max_tokens, overlap_tokens=min(overlap, max_tokens // 3)),
    st.integers(min_value=16, max_value=260),
    st.integers(min_value=0, max_value=40),
)


def _check_chunks(doc: ParsedDocument, max_tokens: int) -> None:
    text = doc.text
    previous_start = -1
    covered = bytearray(len(text))
    for ordinal, chunk in enumerate(doc.chunks):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip(), "no blank chunk"
        assert chunk.start > previous_start, "chunks in document order"
        assert chunk.ordinal == ordinal
        assert chunk.document_id == doc.id
        assert chunk.tokens == estimate_tokens(chunk.text) <= max_tokens
        previous_start = chunk.start
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    assert len({chunk.id for chunk in doc.chunks}) == len(doc.chunks)
    # No text is lost: every visible character is in some chunk.
    lost = [i for i, char in enumerate(text) if not char.isspace() and not covered[i]]
    assert not lost, f"text at {lost[0]} is in no chunk: {text[lost[0]:lost[0] + 40]!r}"
    # A chunk never crosses a numbered heading.
    cuts = [s.start for s in doc.sections if s.kind != "bullet"]
    for chunk in doc.chunks:
        assert not [cut for cut in cuts if chunk.start < cut < chunk.end], chunk.text


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_document, _settings)
def test_chunks_are_verbatim_ordered_unique_and_stable(raw: str, chunk_settings: ChunkSettings) -> None:
    first = parse_text(raw, "tong-hop.txt", chunk_settings)
    _check_chunks(first, chunk_settings.max_tokens)
    second = parse_text(raw, "tong-hop.txt", chunk_settings)
    assert [c.id for c in second.chunks] == [c.id for c in first.chunks]


def test_repeated_text_is_chunked_to_its_end() -> None:
    # The splitter's pieces repeat here; locating each one by its first
    # occurrence once left the tail of the block in no chunk.
    raw = "3.1. Hội\nĐiều 1. Hội Hội Hội Hội ; Hội\n"
    doc = parse_text(raw, "lap.txt", ChunkSettings(max_tokens=20, overlap_tokens=5))
    _check_chunks(doc, 20)
    assert doc.chunks[-1].end == len(doc.text)


@pytest.mark.parametrize("path", SEEDS, ids=[p.name[:3] for p in SEEDS])
def test_seed_documents_chunks(path: Path) -> None:
    doc = parse_path(path)
    assert doc.chunks
    _check_chunks(doc, ChunkSettings().max_tokens)
    assert [c.id for c in parse_path(path).chunks] == [c.id for c in doc.chunks]


def test_chunk_ids_follow_the_content() -> None:
    raw = SEEDS[1].read_text(encoding="utf-8")
    ids = {c.id for c in parse_text(raw, "a.txt").chunks}
    changed = raw.replace("giảm còn 3,7%", "giảm còn 3,6%")
    assert {c.id for c in parse_text(changed, "a.txt").chunks}.isdisjoint(ids)


def test_an_unbroken_run_is_split_when_the_counter_sees_it() -> None:
    # The estimate counts a run of word characters as one token; a counter
    # that sees every character still gets chunks within its limit.
    raw = "Điều 1. " + "x" * 1000 + "\nĐiều 2. Giao Ủy ban nhân dân tỉnh tổ chức thực hiện Nghị quyết."
    doc = parse_text(raw, "dai.txt", ChunkSettings(max_tokens=100, overlap_tokens=0), count_tokens=len)
    assert all(c.tokens == len(c.text) <= 100 for c in doc.chunks)
    # Without overlap the pieces tile the article, less the space a cut falls on.
    assert "".join(c.text for c in doc.chunks if c.section == "Điều 1") == "Điều 1." + "x" * 1000


def test_context_header_carries_the_document_identity() -> None:
    doc = parse_path(SEEDS[1])
    chunk = next(c for c in doc.chunks if "Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%" in c.text)
    for part in ("Nghị quyết", "HĐND huyện Bình Lục", "Hà Nam", "năm 2023", chunk.section):
        assert part in chunk.header
    assert chunk.header not in doc.text  # indexed beside the chunk, never quoted
