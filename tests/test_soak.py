"""A short soak in `make test` (the 60-second one runs in `make bench`): mixed load, no errors, flat memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import MAX_GROWTH_MB, soak

pytestmark = pytest.mark.slow  # starts a server under load


def test_mixed_load_at_concurrency_16_has_no_errors_and_flat_memory(sample_index: Path) -> None:
    result = soak(sample_index, seconds=12.0, concurrency=16, max_requests=5_000)
    assert result["n"] > 100, result  # the loop ran, bounded by time
    assert result["errors"] == 0, result["error_kinds"]
    assert result["rss_growth_mb"] is not None and result["rss_growth_mb"] <= MAX_GROWTH_MB, result["rss_samples"]
