"""HTTP latency and throughput of /search (lexical, hybrid) and /ask at concurrency 1, 8 and 32.

Each collection is served by its own ``tracuu serve`` process on 127.0.0.1;
the questions of the dev set are sent round-robin. Server memory (RSS) is read
after start-up and after the load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.http import Request, Server, ask_requests, run_load, search_requests, serving
from eval.datasets import load_questions
from eval.paths import REPO_ROOT

CONCURRENCY = (1, 8, 32)


@dataclass(frozen=True)
class Target:
    """One served collection: its name in the report, its index folder, and the encoder (None: lexical only;
    "bundled": the default multilingual encoder; a path: a sentence-transformers folder)."""

    name: str
    index: Path
    model: Path | str | None = None
    workers: int = 1


def dev_questions() -> list[str]:
    return [q.question for q in load_questions(REPO_ROOT / "eval" / "questions" / "dev.jsonl")]


def workloads(target: Target, questions: Sequence[str]) -> dict[str, list[Request]]:
    loads = {"search_lexical": search_requests(questions, "lexical")}
    if target.model is not None:
        loads["search_hybrid"] = search_requests(questions, "hybrid")
    loads["ask"] = ask_requests(questions)
    return loads


def measure_target(target: Target, quick: bool, questions: Sequence[str],
                   only: Sequence[str] | None = None, levels: Sequence[int] = CONCURRENCY) -> dict[str, Any]:
    max_requests, max_seconds = (150, 3.0) if quick else (800, 8.0)
    with serving(target.index, target.model, workers=target.workers) as server:
        health = server.health()
        rss_start = server.rss_mb()
        loads: dict[str, list[dict[str, Any]]] = {}
        for name, requests in workloads(target, questions).items():
            if only and name not in only:
                continue
            loads[name] = [run_load(server.base_url, requests, c, max_requests, max_seconds).summary()
                           for c in levels]
        return {"name": target.name, "documents": health["documents"], "chunks": health["chunks"],
                "dense": health["dense"].get("status"), "workers": target.workers,
                "rss_mb_start": rss_start, "rss_mb_after_load": server.rss_mb(), "loads": loads}


def run(quick: bool, targets: Sequence[Target]) -> dict[str, Any]:
    questions = dev_questions()
    measured = []
    for target in targets:
        if target.workers > 1:  # the second process is there for throughput: lexical search under load only
            measured.append(measure_target(target, quick, questions, only=["search_lexical"], levels=(8, 32)))
        else:
            measured.append(measure_target(target, quick, questions))
    return {"quick": quick, "questions": len(questions), "concurrency": list(CONCURRENCY), "collections": measured}


def render(result: dict[str, Any]) -> str:
    lines = ["## Search over HTTP (127.0.0.1, one `tracuu serve` process per collection)", "",
             f"{result['questions']} dev questions sent round-robin; each level bounded by request count and time. "
             "Latency in ms, throughput in requests/s.", "",
             "| collection | chunks | workers | endpoint | concurrency | p50 | p95 | p99 | req/s | errors |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for col in result["collections"]:
        for endpoint, levels in col["loads"].items():
            for level in levels:
                lines.append(f"| {col['name']} | {col['chunks']:,} | {col['workers']} | {endpoint} | "
                             f"{level['concurrency']} | {level['p50_ms']:.1f} | {level['p95_ms']:.1f} | "
                             f"{level['p99_ms']:.1f} | {level['rps']:.0f} | {level['errors']} |")
    lines += ["", "| collection | server RSS after start MB | after load MB |", "|---|---|---|"]
    lines += [f"| {c['name']} ({c['workers']} worker{'s' if c['workers'] > 1 else ''}) | {c['rss_mb_start']:.0f} | "
              f"{c['rss_mb_after_load']:.0f} |" for c in result["collections"]]
    return "\n".join(lines) + "\n"


__all__ = ["Server", "Target", "measure_target", "render", "run"]
