"""The summary at the top of a benchmark report: each target of the performance issue, met or not, as measured
in this run; and each tracuu figure as a ratio to txtai and to the plain bm25s + splitter pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.encoder import ENGINE_ROW, ONNX_ROW

# Retrieval quality recorded in eval/reports/dev-distractors.md (lexical): a benchmark run must not fall below it.
QUALITY_METRICS = ("hit@1", "hit@5", "mrr@10")
REPORT = Path(__file__).resolve().parents[1] / "eval" / "reports" / "dev-distractors.json"


def _reference_quality() -> dict[str, float] | None:
    """The lexical run of the committed eval report: the same questions, the same mode as the benchmark's."""
    if not REPORT.exists():
        return None
    runs = json.loads(REPORT.read_text(encoding="utf-8"))["runs"]
    lexical = runs.get("lexical only") or runs.get("tracuu")
    return {m: lexical["overall"][m] for m in QUALITY_METRICS} if lexical else None


def _collection(results: dict[str, Any], name_part: str, workers: int) -> dict[str, Any] | None:
    serving = results["sections"].get("serving", {})
    return next((c for c in serving.get("collections", []) if name_part in c["name"] and c["workers"] == workers),
                None)


def _level(collection: dict[str, Any] | None, endpoint: str, concurrency: int) -> dict[str, Any] | None:
    if collection is None:
        return None
    return next((lv for lv in collection["loads"].get(endpoint, []) if lv["concurrency"] == concurrency), None)


NOT_MEASURED = "not measured (the full run measures it)"


def _row(target: str, measured: str, met: bool | None) -> str:
    verdict = "—" if met is None else ("met" if met else "**not met**")
    return f"| {target} | {measured} | {verdict} |"


def _search_rows(results: dict[str, Any]) -> list[str]:
    one, two = _collection(results, "100k", 1), _collection(results, "100k", 2)
    rows = []
    c1 = _level(one, "search_lexical", 1)
    rows.append(_row("lexical /search p95 ≤ 25 ms at concurrency 1, 100k chunks",
                     f"{c1['p95_ms']:.1f} ms (p50 {c1['p50_ms']:.1f})" if c1 else NOT_MEASURED,
                     c1["p95_ms"] <= 25 if c1 else None))
    levels = [(w, lv) for w, lv in ((1, _level(one, "search_lexical", 8)), (2, _level(two, "search_lexical", 8))) if lv]
    measured = ", ".join(f"{lv['rps']:.0f} req/s with {w} worker{'s' if w > 1 else ''}" for w, lv in levels)
    best = max((lv["rps"] for _, lv in levels), default=None)
    rows.append(_row("lexical /search ≥ 150 req/s at concurrency 8, 100k chunks", measured or NOT_MEASURED,
                     best >= 150 if best is not None else None))
    return rows


def _vector_row(results: dict[str, Any]) -> str:
    vectors = results["sections"].get("vectors", {})
    target = vectors.get("target")
    if not target:
        return _row("1M vectors: recall@10 ≥ 0.95, p50 ≤ 5 ms, < 1 GB", NOT_MEASURED, None)
    row = next((r for s in vectors["sizes"] if s["size"] == target["size"] for r in s["rows"] if r["default"]), None)
    measured = (f"{target['size']:,} vectors, {target['kind']}: recall@10 {row['recall_at_10']:.3f}, "
                f"p50 {row['latency']['p50_ms']:.2f} ms, {row['index_mb']:.0f} MB") if row else target["kind"]
    return _row(f"{target['size']:,} vectors: recall@10 ≥ 0.95 at p50 ≤ 5 ms, < 1 GB", measured, target["met"])


def _ingest_row(results: dict[str, Any]) -> str:
    ingest = results["sections"].get("ingest", {})
    ends = [(item["name"], item["end_to_end"]) for item in ingest.get("sets", []) if "end_to_end" in item]
    measured = "; ".join(f"{name}: {end['chunks_per_s']:,.0f} chunks/s" for name, end in ends)
    worst = min((end["chunks_per_s"] for _, end in ends), default=None)
    return _row("ingestion ≥ 200 chunks/s end to end, excluding the encoder", measured or NOT_MEASURED,
                worst >= 200 if worst is not None else None)


def _quality_row(results: dict[str, Any]) -> str:
    competitors = results["sections"].get("competitors", {})
    suite = next((s for s in competitors.get("suites", []) if s.get("suite") == "dev-distractors"), None)
    ours = next((r for r in (suite or {}).get("systems", []) if r.get("system") == "tracuu lexical"), None)
    if ours is None or "quality" not in ours:
        return _row("quality not traded away (dev-distractors, lexical)", NOT_MEASURED, None)
    q, reference = ours["quality"], _reference_quality()
    if reference is None:
        return _row("quality not traded away (dev-distractors, lexical)", "no eval report to compare with", None)
    measured = ", ".join(f"{k} {q[k]:.3f} (report {v:.3f})" for k, v in reference.items())
    return _row("quality not traded away (dev-distractors, lexical)", measured,
                all(q[k] >= round(v, 3) for k, v in reference.items()))  # the benchmark keeps 3 decimals


def _hybrid_rows(results: dict[str, Any]) -> list[str]:
    """The semantic-search targets: query encoding and hybrid /search over HTTP with the bundled encoder."""
    encoder = results["sections"].get("encoder", {})
    query = encoder.get("query_default", "engine")  # the encoder a server uses for queries (TRACUU_QUERY_ENCODER)
    names = {"engine": ENGINE_ROW, "onnx": ONNX_ROW}  # as bench/encoder.py names its rows
    name = names.get(query, f"torch copy {query}")
    one = next((q for q in encoder.get("queries", []) if q["threads"] == 1 and q.get("encoder", ENGINE_ROW) == name),
               None)
    rows = [_row("query encoding p50 ≤ 8 ms (bundled encoder, one thread)",
                 f"{one['p50_ms']:.1f} ms (p95 {one['p95_ms']:.1f}; {one['encoder']})" if one else NOT_MEASURED,
                 one["p50_ms"] <= 8 if one else None)]
    bulk = encoder.get("bulk_default")
    build = next((r for r in encoder.get("throughput", []) if r.get("encoder", "").endswith(f" {bulk}")
                  or (bulk == "engine" and r.get("encoder", "").startswith("engine")
                      and r["threads"] == encoder.get("cores"))), None)
    rows.append(_row("build encoding ≥ 25 chunks/s, ~150-token chunks, the build default, every core",
                     f"{build['passages_per_s']} chunks/s ({build['encoder']}, min cosine vs engine "
                     f"{build['min_cosine_vs_engine']})" if build else NOT_MEASURED,
                     build["passages_per_s"] >= 25 and build["min_cosine_vs_engine"] >= 0.99 if build else None))
    served = _collection(results, "bundled encoder", 1)
    hybrid, lexical = _level(served, "search_hybrid", 1), _level(served, "search_lexical", 1)
    measured = NOT_MEASURED
    if hybrid and lexical:
        measured = (f"{hybrid['p95_ms']:.1f} ms (p50 {hybrid['p50_ms']:.1f}); lexical on the same server "
                    f"{lexical['p95_ms']:.1f} ms: {hybrid['p95_ms'] / lexical['p95_ms']:.1f}×")
    rows.append(_row(f"hybrid /search p95 ≤ 30 ms at concurrency 1, {served['name'] if served else 'bundled'}",
                     measured, hybrid["p95_ms"] <= 30 if hybrid else None))
    return rows


def _soak_row(results: dict[str, Any]) -> str:
    soak = results["sections"].get("soak")
    if not soak or "errors" not in soak:
        return _row("soak: zero errors, flat memory", NOT_MEASURED, None)
    requests = soak["n"] + soak["errors"]
    measured = (f"{soak['wall_s']:.0f} s at concurrency {soak['concurrency']}, {requests:,} requests, "
                f"{soak['errors']} errors, RSS {soak.get('rss_mb_after_warmup', 0):.0f} → "
                f"{soak.get('rss_mb_end', 0):.0f} MB")
    return _row("soak: zero errors, flat memory after warm-up", measured, soak["errors"] == 0 and soak["memory_flat"])


def _ratio_table(results: dict[str, Any]) -> list[str]:
    competitors = results["sections"].get("competitors", {})
    lines = ["", "### tracuu ÷ the alternatives (same run, same questions; latency < 1× is faster)", "",
             "| suite | ours | theirs | build chunks/s | p50 | p95 | hit@1 | MRR@10 |",
             "|---|---|---|---|---|---|---|---|"]
    for suite in competitors.get("suites", []):
        for ours, against in suite.get("ratios", {}).items():
            for theirs, r in against.items():
                cells = [r.get("chunks_per_s"), r.get("p50_ms"), r.get("p95_ms"), r.get("hit@1"), r.get("mrr@10")]
                lines.append(f"| {suite['suite']} | {ours} | {theirs} | " +
                             " | ".join("—" if c is None else f"{c:.2f}×" for c in cells) + " |")
    return lines if len(lines) > 5 else []


def render(results: dict[str, Any]) -> str:
    lines = ["## Summary against the targets", "", "| target | measured in this run | |", "|---|---|---|"]
    lines += _search_rows(results) + _hybrid_rows(results)
    lines += [_vector_row(results), _ingest_row(results), _quality_row(results), _soak_row(results)]
    lines += _ratio_table(results)
    return "\n".join(lines) + "\n"
