"""bench.ingest: the staged parse is the pipeline's parse, and every stage is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.ingest import end_to_end, measure_stages, render
from corpus.load import read_path
from corpus.pipeline import parse_text
from tests.conftest import DOCUMENTS

pytestmark = pytest.mark.slow  # runs the ingestion benchmark

SEEDS = sorted(DOCUMENTS.glob("*.txt"))[:2]


def test_stages_cover_the_pipeline_and_count_its_chunks(tmp_path: Path) -> None:
    staged = measure_stages(SEEDS, tmp_path / "stages")
    expected = sum(len(parse_text(read_path(p), p.name).chunks) for p in SEEDS)
    assert (staged["documents"], staged["chunks"]) == (len(SEEDS), expected)
    assert [s["stage"] for s in staged["stages"]] == [
        "read", "clean", "structure + metadata", "chunking + indicators", "word segmentation + tokens",
        "index writes: SQLite", "index writes: BM25 build + snapshot load"]
    assert all(s["seconds"] > 0 and s["chunks_per_s"] > 0 for s in staged["stages"])
    assert len(staged["texts"]) == expected


def test_end_to_end_and_render(tmp_path: Path) -> None:
    end = end_to_end(SEEDS, tmp_path / "index")
    assert end["chunks"] > 0 and end["rejected"] == 0 and end["processes"] == 1
    result = {"quick": True, "cpus": 2, "target_chunks_per_s": 200.0, "load_average_at_start": [0.5, 0.5, 0.5],
              "target_met": True, "sets": [{"name": "two seeds", "documents": 2, "chunks": end["chunks"],
                                            "stages": [], "end_to_end": end}]}
    text = render(result)
    assert "two seeds" in text and "end to end" in text and "met" in text
