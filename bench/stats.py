"""Summaries every benchmark reports the same way: medians and tail percentiles, never single timings."""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def summarize_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds of timings given in seconds (the machines are noisy: read p50 first)."""
    if not samples_s:
        return {"n": 0, "p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan"),
                "mean_ms": float("nan")}
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"n": int(ms.size), "p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3),
            "p99_ms": round(float(p99), 3), "mean_ms": round(float(ms.mean()), 3)}


def ratio(ours: float, theirs: float) -> float | None:
    """ours / theirs, or None where theirs is zero or missing."""
    if not theirs or theirs != theirs:
        return None
    return round(ours / theirs, 3)


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default), from /proc."""
    with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def emit(result: dict[str, Any], render: Callable[[dict[str, Any]], str], json_path: Path | None) -> int:
    """What a section run alone (``python -m bench.X``) ends with: the JSON where asked, the markdown printed."""
    if json_path is not None:
        json_path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(render(result))
    return 0
