"""A bounded soak: mixed /search, /ask and /similar at concurrency 16 against one server on 127.0.0.1.

Passes when no request fails and the server's memory is flat after warm-up:
resident memory is sampled every ``SAMPLE_EVERY_S``; growth is measured from
the end of the warm-up (the first fifth of the run, when caches and
allocator arenas fill) to the end, against ``MAX_GROWTH_MB``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.http import Request, Server, ask_requests, run_load, search_requests, serving, similar_requests
from bench.serving import dev_questions

SAMPLE_EVERY_S = 1.0
MAX_GROWTH_MB = 25.0  # after warm-up; a leak of 1 KB per request over ~10,000 requests would show as ~10 MB
CONCURRENCY = 16


def mixed_requests(questions: Sequence[str]) -> list[Request]:
    """Searches (both modes), questions and similar-passage requests, interleaved."""
    searches = search_requests(questions, "lexical")
    hybrid = search_requests(questions, "hybrid")
    asks = ask_requests(questions)
    similar = similar_requests(questions)
    return [r for group in zip(searches, asks, hybrid, similar, strict=True) for r in group]


def _sample(server: Server, stop: threading.Event, samples: list[tuple[float, float]]) -> None:
    started = time.monotonic()
    while not stop.is_set():
        samples.append((round(time.monotonic() - started, 1), server.rss_mb()))
        stop.wait(SAMPLE_EVERY_S)


def soak(index: Path, seconds: float, model: Path | str | None = None, concurrency: int = CONCURRENCY,
         max_requests: int = 1_000_000) -> dict[str, Any]:
    """Run the mixed load for ``seconds`` (and at most ``max_requests``); return latency, errors and memory."""
    requests = mixed_requests(dev_questions())
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    with serving(index, model) as server:
        run_load(server.base_url, requests, 4, 200, 15.0)  # warm every endpoint before sampling
        sampler = threading.Thread(target=_sample, args=(server, stop, samples), daemon=True)
        sampler.start()
        try:
            result = run_load(server.base_url, requests, concurrency, max_requests, seconds, warmup=0)
        finally:
            stop.set()
            sampler.join()
        samples.append((round(result.wall_s, 1), server.rss_mb()))
    return {**result.summary(), **memory_verdict(samples)}


def memory_verdict(samples: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """RSS at the end of warm-up (first fifth of the run) and at the end; flat when growth ≤ MAX_GROWTH_MB."""
    if not samples:
        return {"rss_samples": [], "rss_growth_mb": None, "memory_flat": False}
    warm = samples[min(len(samples) - 1, len(samples) // 5)][1]
    end = samples[-1][1]
    growth = round(end - warm, 1)
    return {"rss_samples": [list(s) for s in samples], "rss_mb_after_warmup": warm, "rss_mb_end": end,
            "rss_mb_peak": max(s[1] for s in samples), "rss_growth_mb": growth, "memory_flat": growth <= MAX_GROWTH_MB}


def render(result: dict[str, Any]) -> str:
    return "\n".join([
        f"## Soak: mixed /search (lexical, hybrid), /ask, /similar at concurrency {result['concurrency']}", "",
        "| collection | seconds | requests | req/s | p50 ms | p95 ms | p99 ms | errors | RSS after warm-up MB | "
        "RSS end MB | growth MB | flat |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {result.get('collection', '')} | {result['wall_s']:.0f} | {result['n'] + result['errors']:,} | "
        f"{result['rps']:.0f} | {result['p50_ms']:.1f} | {result['p95_ms']:.1f} | {result['p99_ms']:.1f} | "
        f"{result['errors']} | {result.get('rss_mb_after_warmup', 0):.0f} | {result.get('rss_mb_end', 0):.0f} | "
        f"{result['rss_growth_mb']} | {'yes' if result['memory_flat'] else 'NO'} |", "",
    ])
