"""The competitor adapters map hits back to relevance units the way the eval runner does; ratios divide right."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.competitors import (
    BM25S,
    TRACUU_LEXICAL,
    TXTAI_BM25,
    TXTAI_BM25_CONFIG,
    build_bm25s,
    build_txtai,
    measure,
    ratios,
    render,
    split_files,
)
from eval.baseline import BaselineIndex
from eval.datasets import Question

pytestmark = pytest.mark.slow  # builds indexes with txtai and bm25s

FILES = [
    ("binh-luc.txt", "Chỉ tiêu tỷ lệ hộ nghèo năm 2023 của huyện Bình Lục giảm còn 3,7%.\n".encode()),
    ("bac-giang.txt", "Hội đồng nhân dân tỉnh Bắc Giang khóa XIX, kỳ họp thứ 5.\n".encode()),
    ("dai-tu.txt", ("Thu nhập bình quân đầu người huyện Đại Từ đạt 66,3 triệu đồng. " * 40).encode()),
]
QUESTIONS = [
    Question("q1", "tỷ lệ hộ nghèo Bình Lục", ("binh-luc.txt",), "3,7%", "target"),
    Question("q2", "Bắc Giang khóa XIX", ("bac-giang.txt",), None, "metadata"),
]


def test_split_files_gives_the_chunks_the_baseline_indexes() -> None:
    sources, texts = split_files(FILES)
    baseline = BaselineIndex(FILES)
    assert (sources, texts) == (baseline.sources, baseline.texts)
    assert sources.count("dai-tu.txt") > 1  # 2,400 characters: more than one 1000/200 chunk


def test_measure_judges_bm25s_hits_with_the_runner(tmp_path: Path) -> None:
    row = measure(BM25S, lambda files, _: build_bm25s(files, lambda s: s), FILES, QUESTIONS, tmp_path, repeats=1)
    assert (row["documents"], row["quality"]["hit@1"], row["quality"]["mrr@10"]) == (3, 1.0, 1.0)
    assert row["latency"]["n"] == 2 * len(QUESTIONS)  # the judged pass plus one timed pass


def test_txtai_hits_map_back_to_units() -> None:
    built = build_txtai(FILES, lambda source: f"unit:{source}", TXTAI_BM25_CONFIG)
    try:
        hits = built.search("hộ nghèo Bình Lục")
    finally:
        built.close()
    assert hits[0][0] == "unit:binh-luc.txt"
    assert "3,7%" in hits[0][1]


def _row(system: str, build_s: float, p50: float, mrr: float) -> dict[str, object]:
    return {"system": system, "documents": 10, "chunks": 20, "warmup_s": 0.0, "build_s": build_s,
            "build_cpu_s": build_s, "docs_per_s": 10 / build_s, "chunks_per_s": 20 / build_s, "rss_held_mb": 1.0,
            "rss_peak_mb": 2.0, "cpu_ms_per_query": p50, "latency": {"p50_ms": p50, "p95_ms": p50, "p99_ms": p50},
            "quality": {"hit@1": mrr, "hit@5": mrr, "mrr@10": mrr, "ndcg@10": mrr}, "hit@5_by_kind": {"target": mrr}}


def test_ratios_are_ours_over_theirs_and_skipped_systems_drop_out() -> None:
    rows = [_row(BM25S, 1.0, 0.5, 0.5), {"system": TXTAI_BM25, "skipped": "txtai is not installed"},
            _row(TRACUU_LEXICAL, 4.0, 1.0, 0.9)]
    figures = ratios(rows)[TRACUU_LEXICAL]
    assert list(figures) == [BM25S]
    assert (figures[BM25S]["build_s"], figures[BM25S]["docs_per_s"], figures[BM25S]["p50_ms"]) == (4.0, 0.25, 2.0)
    result = {"mode": "quick", "wall_s": 1.0, "versions": {"txtai": "not installed"}, "torch_threads": 1,
              "peak_rss_mb": 1.0, "suites": [{"suite": "dev", "questions": 2, "documents": 10, "note": None,
                                               "systems": rows, "ratios": ratios(rows), "wall_s": 1.0}]}
    table = render(result)
    assert "| txtai BM25 | skipped: txtai is not installed |" in table
    assert "| tracuu lexical ÷ plain bm25s + splitter | 4.00× | 0.25×" in table
