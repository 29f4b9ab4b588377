"""bench.incremental: the report's table and the equality check it rests on (the measurement itself runs in
``make bench``: it needs the generated 10k and 100k collections)."""

from __future__ import annotations

from bench.incremental import _same, render


def _summary(p50: float, n: int = 3) -> dict[str, float]:
    return {"n": n, "p50_ms": p50, "p95_ms": p50 * 1.5, "p99_ms": p50 * 2, "mean_ms": p50}


def test_the_table_shows_each_collection_against_a_full_rebuild() -> None:
    collection = {"name": "100k chunks", "chunks": 100_523, "add": _summary(240.0), "remove": _summary(210.0),
                  "http": {"add": _summary(300.0)}, "full_merge_ms": 650.0, "rebuild": _summary(12_000.0, 1),
                  "write_with_rebuild": _summary(12_500.0, 1), "ratio_add_to_write_with_rebuild": 0.019,
                  "equal_to_rebuild": True, "segments_after": 6}
    table = render({"quick": False, "collections": [collection], "target_met": True})
    assert "Target: ≤ 1 s end to end — met." in table
    assert "| 100k chunks (100,523) | 240 / 360 (n=3) | 300 / 450 (n=3) | 210 / 315 (n=3) | 650 | 12,000 / 18,000 " \
           "(n=1) | 12,500 / 18,750 (n=1) | 0.019 | yes |" in table


def test_equal_means_same_chunks_in_order_and_scores_within_a_millionth() -> None:
    assert _same([[("a", 1.0), ("b", 0.5)]], [[("a", 1.0 + 1e-7), ("b", 0.5)]])
    assert not _same([[("a", 1.0), ("b", 0.5)]], [[("b", 0.5), ("a", 1.0)]])
    assert not _same([[("a", 1.0)]], [[("a", 1.00001)]])
