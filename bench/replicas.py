"""Requests/s with 1 and 2 replicas, for the two ways tracuu runs replicas: uvicorn's worker processes on one
machine (``tracuu serve --workers N``) and Ray Serve (``tracuu serve --ray ADDRESS --replicas N``, a head on
127.0.0.2 and a worker node on 127.0.0.3).

The same index, the same dev questions round-robin, the same concurrency, each load bounded by count and time.
The load generator runs on the same 2 cores as every replica, so the 2-replica rows show what a second replica
buys here, not on two machines; the ratios between mechanisms are what this section is for.

    python -m bench.run --only replicas
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench import corpora
from bench.cluster import HEAD_IP, LocalCluster
from bench.http import Request, Server, run_load, search_requests
from bench.serving import dev_questions

CONCURRENCY = 8
BOUNDS = {True: (200, 4.0), False: (1500, 12.0)}  # (requests, seconds) per load
REPLICAS = (1, 2)


def _loads(model: str) -> dict[str, list[Request]]:
    questions = dev_questions()
    loads = {"search_lexical": search_requests(questions, "lexical")}
    if model:
        loads["search_hybrid"] = search_requests(questions, "hybrid")
    return loads


def _measure(server: Server, loads: dict[str, list[Request]], quick: bool) -> dict[str, Any]:
    max_requests, max_seconds = BOUNDS[quick]
    try:
        health = server.wait_ready(timeout_s=300)
        rows = {name: run_load(server.base_url, requests, CONCURRENCY, max_requests, max_seconds).summary()
                for name, requests in loads.items()}
        return {"chunks": health["chunks"], "dense": health["dense"].get("status"), "loads": rows}
    finally:
        server.stop()


def run(quick: bool, model: str = "bundled") -> dict[str, Any]:
    files = sorted(corpora.SEEDS.glob("*.txt")) if quick else corpora.small_corpus()
    index = corpora.ensure_index("seeds-bundled" if quick else "small-bundled", files, model)
    loads = _loads(model)
    rows = []
    for replicas in REPLICAS:
        measured = _measure(Server(index, model, workers=replicas), loads, quick)
        rows.append({"mechanism": "uvicorn workers", "replicas": replicas, **measured})
    with LocalCluster(workers=1) as cluster:
        for replicas in REPLICAS:
            server = Server(index, model, workers=replicas, ray=cluster.address, host=HEAD_IP, extra_env=cluster.env)
            rows.append({"mechanism": "Ray Serve (2 nodes)", "replicas": replicas, **_measure(server, loads, quick)})
    return {"quick": quick, "documents": len(files), "concurrency": CONCURRENCY, "rows": rows}


def _ratio(rows: Sequence[dict[str, Any]], row: dict[str, Any], load: str) -> str:
    one = next(r for r in rows if r["mechanism"] == row["mechanism"] and r["replicas"] == 1)
    base = one["loads"][load]["rps"]
    return f"{row['loads'][load]['rps'] / base:.2f}" if base else "—"


def render(result: dict[str, Any]) -> str:
    lines = [f"## Replicas: requests/s with 1 and 2 ({result['documents']} documents, concurrency "
             f"{result['concurrency']}, load generator on the same 2 cores)", "",
             "| mechanism | replicas | endpoint | req/s | × 1 replica | p50 ms | p95 ms | errors |",
             "|---|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        for load, summary in row["loads"].items():
            lines.append(f"| {row['mechanism']} | {row['replicas']} | {load} | {summary['rps']:.0f} | "
                         f"{_ratio(result['rows'], row, load)} | {summary['p50_ms']:.1f} | {summary['p95_ms']:.1f} | "
                         f"{summary['errors']} |")
    return "\n".join(lines) + "\n"
