"""Vector scale: build time, memory, single-query latency and recall@10 of each FAISS index kind we can serve.

384-dimension generated vectors, 100,000 and 1,000,000 of them and as many as ``EXACT_LIMIT`` (where exact
search stops being the default; quick: 100,000, exact and the default kind only), every index
built and searched through :class:`index.vectors.VectorIndex` — the code the service runs — and scored
against exact search. The row marked *default* is the kind ``VectorIndex.build`` picks at that size.

Why a Gaussian mixture and not plain Gaussian noise: independent Gaussian vectors in 384 dimensions are
all nearly orthogonal, with no neighbourhoods for an index to exploit — harder than any real collection,
and unlike sentence embeddings, which gather by topic. So the vectors here are drawn from 256 topics of
16 subtopics each (4,096 centres), with Dirichlet(0.5) weights so some topics are much larger than
others, plus per-vector noise; every coordinate is scaled by (j + 1)^-0.5 so variance falls across
dimensions as it does in trained embeddings, and everything is L2-normalised. Queries come from the same
mixture with their own noise, so none is in the base set. Among 100,000 vectors a query's nearest has a
cosine of about 0.71 and its tenth about 0.65, with a median gap of 0.002 between the 10th and 11th (at
1M: 0.75, 0.71 and 0.001); random pairs are near orthogonal. Neighbours that close make 8-bit codes and
coarse probing visibly lossy. All of it is seeded.

Ground truth is exact inner product over the full set (``faiss.knn``: IndexFlatIP's kernel without a
second copy of the vectors), a batch of queries at a time.

    python -m bench.vectors --quick
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import emit, peak_rss_mb, rss_mb, summarize_ms
from index.vectors import EXACT_LIMIT, HNSW_EF_SEARCH, HNSW_M, VectorIndex

DIMENSION = 384
K = 10
SEED = 20_240_601
TOPICS, SUBTOPICS = 256, 16  # 4,096 centres: "a few thousand" topics, ~250 vectors each at 1M
SUBTOPIC_SPREAD = 0.6  # subtopics stay near their topic (cosine ≈ 0.87) ...
NOISE = 0.9  # ... and vectors near their subtopic: top-1 cosine ≈ 0.71, random pairs ≈ 0
GENERATE_BATCH = 50_000  # rows drawn at a time, so the noise never needs a second full-size buffer
TRUTH_BATCH = 100  # queries per exact-search call: bounds the distance matrix at 100 × 1M floats
QUERIES = {True: 200, False: 300}
FLAT_QUERIES_AT_1M = 40  # one exact scan of 1M vectors takes ~0.1 s here; 40 are enough for a median
THREADS = 1  # FAISS OpenMP threads; the 2-thread rows show why (the cores are shared)
WARMUP = 5
SEARCH_SETTINGS = ("nprobe", "efSearch")  # what FAISS reads from the index at search time; the rest is fixed


@dataclass(frozen=True)
class Setting:
    """One measured row: a search-time override of an index as built ({} = as built) and the thread count."""

    overrides: dict[str, int]
    threads: int = THREADS


AS_BUILT = Setting({})
TWO_THREADS = Setting({}, threads=2)


def plan(quick: bool) -> dict[int, list[tuple[str, list[Setting]]]]:
    """Which kinds at which size, with which search settings; the default kind is always measured as built."""
    if quick:
        return {100_000: [("flat-ip", [AS_BUILT]), (VectorIndex.default_kind(100_000, DIMENSION), [AS_BUILT])]}
    ivf = [Setting({"nprobe": 8}), AS_BUILT, Setting({"nprobe": 32})]
    return {
        EXACT_LIMIT: [("flat-ip", [AS_BUILT]), ("ivf-fp16", [AS_BUILT])],  # what exact search costs at the limit
        100_000: [("flat-ip", [AS_BUILT, TWO_THREADS]), (f"hnsw-m{HNSW_M}", [Setting({"efSearch": 64}), AS_BUILT]),
                  ("ivf-fp16", [*ivf, TWO_THREADS]), ("ivf-sq8", [AS_BUILT])],
        1_000_000: [("flat-ip", [AS_BUILT]), ("ivf-fp16", [*ivf, TWO_THREADS]),
                    ("ivf-sq8", [Setting({"nprobe": 8}), AS_BUILT])],
    }


# -- data ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mixture:
    centres: np.ndarray  # (TOPICS × SUBTOPICS, dimension), unit length
    weights: np.ndarray  # probability of each centre
    scale: np.ndarray  # per-dimension noise scale, decaying like a trained embedding's spectrum


def mixture(dimension: int, seed: int = SEED) -> Mixture:
    """Topics, their subtopics and uneven weights (see the module docstring for why this shape)."""
    rng = np.random.default_rng(seed)
    scale = (np.arange(dimension) + 1.0) ** -0.5
    scale = (scale / np.linalg.norm(scale)).astype(np.float32)  # unit norm: noise of size NOISE per vector
    topics = _unit(rng.standard_normal((TOPICS, dimension), dtype=np.float32) * scale)
    spread = rng.standard_normal((TOPICS * SUBTOPICS, dimension), dtype=np.float32) * scale * SUBTOPIC_SPREAD
    centres = _unit(np.repeat(topics, SUBTOPICS, axis=0) + spread)
    return Mixture(centres, rng.dirichlet(np.full(len(centres), 0.5)), scale)


def draw(source: Mixture, count: int, seed: int) -> np.ndarray:
    """``count`` unit vectors: a centre chosen by weight plus scaled Gaussian noise, a batch at a time in place."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, len(source.scale)), dtype=np.float32)
    for start in range(0, count, GENERATE_BATCH):
        rows = out[start:start + GENERATE_BATCH]
        rng.standard_normal(out=rows, dtype=np.float32)
        rows *= source.scale * NOISE
        rows += source.centres[rng.choice(len(source.centres), size=len(rows), p=source.weights)]
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def exact_top_k(base: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Row positions of each query's k best inner products over all of ``base``, a batch of queries at a time."""
    import faiss

    found = [faiss.knn(queries[i:i + TRUTH_BATCH], base, k, metric=faiss.METRIC_INNER_PRODUCT)[1]
             for i in range(0, len(queries), TRUTH_BATCH)]
    return np.concatenate(found)


def recall_at_k(found: Sequence[Sequence[int]], truth: np.ndarray) -> float:
    """Mean share of each query's true top k that the index returned in its top k."""
    hits = [len(set(row) & set(expected.tolist())) / len(expected) for row, expected in zip(found, truth, strict=True)]
    return round(float(np.mean(hits)), 4)


# -- measuring -----------------------------------------------------------------


def _apply(index: VectorIndex, overrides: dict[str, int]) -> None:
    """Search-time settings FAISS reads from the index itself, so ``VectorIndex.search`` picks them up."""
    import faiss

    for name, value in overrides.items():
        if name == "nprobe":
            index.index.nprobe = value
        elif name == "efSearch":
            graph: Any = faiss.downcast_index(index.index.index)  # FAISS's stubs type it as the base Index
            graph.hnsw.efSearch = value
        else:
            raise ValueError(f"no search setting {name!r} for {index.kind}")


def time_queries(index: VectorIndex, queries: np.ndarray) -> tuple[list[float], list[list[int]]]:
    """Each query alone, as the service sends them; answers as row positions (ids here are positions + 1)."""
    for query in queries[:WARMUP]:
        index.search(query[None, :], K)
    samples, found = [], []
    for query in queries:
        started = time.perf_counter()
        row = index.search(query[None, :], K)[0]
        samples.append(time.perf_counter() - started)
        found.append([i - 1 for i, _ in row])
    return samples, found


def build_and_load(kind: str, base: np.ndarray, scratch: Path) -> tuple[VectorIndex, dict[str, Any]]:
    """Build, save, then load as the service does; the loaded copy is the one searched.

    Both memory growths are kept: a build holds more than the file (inverted lists grow by doubling),
    while a loaded index is sized exactly.
    """
    ids = np.arange(1, len(base) + 1, dtype=np.int64)  # not positions: the id mapping is exercised too
    gc.collect()
    before = rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    built = VectorIndex.build(ids, base, DIMENSION, kind=kind)
    measured = {"build_s": round(time.perf_counter() - wall, 2), "build_cpu_s": round(time.process_time() - cpu, 2),
                "build_rss_delta_mb": round(rss_mb() - before, 1)}
    built.save(scratch)
    measured["index_mb"] = round((scratch / "vectors.faiss").stat().st_size / 2**20, 1)
    del built
    gc.collect()
    before, wall = rss_mb(), time.perf_counter()
    loaded = VectorIndex.load(scratch)
    measured |= {"load_s": round(time.perf_counter() - wall, 2), "load_rss_delta_mb": round(rss_mb() - before, 1)}
    return loaded, measured


def measure_kind(kind: str, settings: list[Setting], base: np.ndarray, queries: np.ndarray,
                 truth: np.ndarray) -> list[dict[str, Any]]:
    """One build of ``kind``, then one row per search setting, each starting from the settings as built."""
    import faiss

    with tempfile.TemporaryDirectory(prefix="tracuu-vectors-") as scratch:
        index, built = build_and_load(kind, base, Path(scratch))
    as_built = {name: value for name, value in index.settings.items() if name in SEARCH_SETTINGS}
    default = VectorIndex.default_kind(len(base), DIMENSION)
    rows = []
    for setting in settings:
        _apply(index, as_built | setting.overrides)
        faiss.omp_set_num_threads(setting.threads)
        samples, found = time_queries(index, queries)
        faiss.omp_set_num_threads(THREADS)
        rows.append({"size": len(base), "kind": kind, "params": index.settings, "threads": setting.threads,
                     **built, "latency": summarize_ms(samples), "queries": len(queries),
                     "recall_at_10": recall_at_k(found, truth[:len(queries)]),
                     "default": kind == default and setting == AS_BUILT})
    del index
    gc.collect()
    return rows


def extrapolated_hnsw(measured: dict[str, Any], size: int) -> dict[str, Any]:
    """HNSW at ``size`` from its measured row: insertion costs ~log n each, memory grows linearly. Not built."""
    growth = size / measured["size"]
    build_growth = growth * math.log(size) / math.log(measured["size"])
    return {"size": size, "kind": measured["kind"], "params": measured["params"], "threads": measured["threads"],
            "build_s": round(measured["build_s"] * build_growth), "build_cpu_s": None, "build_rss_delta_mb": None,
            "index_mb": round(measured["index_mb"] * growth), "load_s": None, "load_rss_delta_mb": None,
            "latency": None, "queries": 0, "recall_at_10": None, "default": False,
            "extrapolated_from": measured["size"]}


def measure_size(size: int, kinds: list[tuple[str, list[Setting]]], base: np.ndarray,
                 queries: np.ndarray) -> dict[str, Any]:
    started = time.perf_counter()
    truth = exact_top_k(base, queries)
    truth_s = round(time.perf_counter() - started, 1)
    rows: list[dict[str, Any]] = []
    for kind, settings in kinds:
        few = queries[:FLAT_QUERIES_AT_1M] if kind == "flat-ip" and size >= 1_000_000 else queries
        rows += measure_kind(kind, settings, base, few, truth)
    return {"size": size, "ground_truth_s": truth_s, "rows": rows,
            "wall_s": round(time.perf_counter() - started, 1)}


def run(quick: bool) -> dict[str, Any]:
    """Quick: 100k vectors, flat and the default kind (~10 s here). Full: 40k, 100k and 1M (~3 min here)."""
    import faiss

    faiss.omp_set_num_threads(THREADS)
    started = time.perf_counter()
    sizes = plan(quick)
    source = mixture(DIMENSION)
    base = draw(source, max(sizes), SEED + 1)
    queries = draw(source, QUERIES[quick], SEED + 2)
    result: dict[str, Any] = {
        "mode": "quick" if quick else "full", "dimension": DIMENSION, "k": K, "threads": THREADS,
        "faiss": faiss.__version__, "cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2),
        "generate_s": round(time.perf_counter() - started, 1), "sizes": []}
    for size, kinds in sizes.items():
        result["sizes"].append(measure_size(size, kinds, base[:size], queries))
    hnsw = [row for entry in result["sizes"] for row in entry["rows"] if row["kind"].startswith("hnsw")
            and row["params"].get("efSearch") == HNSW_EF_SEARCH]
    if hnsw and max(sizes) > hnsw[0]["size"]:
        result["sizes"][-1]["rows"].append(extrapolated_hnsw(hnsw[0], max(sizes)))
    result["target"] = target_check(result)
    result["peak_rss_mb"] = peak_rss_mb()
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def target_check(result: dict[str, Any]) -> dict[str, Any]:
    """The issue's target, read off the default row at the largest size: recall ≥ 0.95, p50 ≤ 5 ms, < 1 GB."""
    largest = result["sizes"][-1]
    row = next((r for r in largest["rows"] if r["default"]), None)
    if row is None:
        return {"size": largest["size"], "kind": "not measured", "checks": {"default kind measured": False},
                "met": False}
    checks = {"recall_at_10 >= 0.95": row["recall_at_10"] >= 0.95, "p50_ms <= 5": row["latency"]["p50_ms"] <= 5.0,
              "index_mb < 1000": row["index_mb"] * 2**20 < 1e9}
    return {"size": largest["size"], "kind": row["kind"], "checks": checks, "met": all(checks.values())}


# -- the report ----------------------------------------------------------------


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _row(row: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v}" for k, v in row["params"].items()) or "exact"
    lat = row["latency"] or {}
    flag = "**default**" if row["default"] else ("extrapolated, not built" if "extrapolated_from" in row else "")
    memory = f"{_num(row['build_rss_delta_mb'], 0)} / {_num(row['load_rss_delta_mb'], 0)}"
    cells = [f"{row['size']:,}", row["kind"], params, str(row["threads"]), _num(row["build_s"], 1),
             _num(row["build_cpu_s"], 1), _num(row["load_s"], 2), _num(row["index_mb"], 1), memory,
             _num(lat.get("p50_ms"), 3), _num(lat.get("p95_ms"), 3), _num(lat.get("p99_ms"), 3),
             str(row["queries"] or "—"), _num(row["recall_at_10"], 4), flag]
    return "| " + " | ".join(cells) + " |"


def render(result: dict[str, Any]) -> str:
    """The run as a markdown section: one table over all sizes, the target check, how it was measured."""
    target = result["target"]
    verdict = "met" if target["met"] else "NOT met"
    checks = ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in target["checks"].items())
    out = [f"## Vector scale ({result['mode']} run, {result['wall_s']} s)", "",
           f"{result['dimension']}-d generated vectors (a seeded Gaussian mixture of 4,096 centres, "
           f"normalised; see bench/vectors.py), inner product, recall@{result['k']} against exact search. "
           f"FAISS {result['faiss']}, {result['cpus']} CPUs shared with other work (load average "
           f"{result['load_average']} at the start), FAISS threads {result['threads']} unless the row says "
           f"otherwise. Generation {result['generate_s']} s; ground truth "
           + ", ".join(f"{s['ground_truth_s']} s at {s['size']:,}" for s in result["sizes"]) + ".", "",
           "| size | index | params | threads | build s | build CPU s | load s | index MB | RSS Δ MB build / load "
           "| p50 ms | p95 ms | p99 ms | queries | recall@10 | |", "|---" * 15 + "|"]
    out += [_row(row) for entry in result["sizes"] for row in entry["rows"]]
    out += ["", f"Target at {target['size']:,} ({target['kind']}, the default): {verdict} — {checks}.", "",
            "- Latency: one query per call through `VectorIndex.search` on the index as saved and loaded back, "
            "after a warm-up, k = 10. Index MB: the saved FAISS file. RSS Δ: resident memory growth over the "
            "build (inverted lists grow by doubling, so a build holds more than the file) and over the load "
            "(sized exactly); memory freed by an earlier row can be reused by a later one, so read both as "
            "indicative.",
            "- Rows of one index share its build; they differ only in search settings. Exact scans at 1M time "
            f"{FLAT_QUERIES_AT_1M} queries.",
            "- An extrapolated row was not built (its build would not fit the benchmark's time): build time "
            "scaled by n·log n, size linearly, from the measured row at the smaller size.",
            f"- Peak RSS of the whole run {result['peak_rss_mb']} MB.", ""]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100,000 vectors, flat and the default kind only")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    result = run(args.quick)
    return emit(result, render, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
