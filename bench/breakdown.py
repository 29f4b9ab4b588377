"""Where one query's time goes, in-process: the stages the searcher's stopwatch records, then answer extraction
and serialisation, per dev question; medians and p95 per stage.

The encoder's own cost appears as the ``encode`` stage, so the rest of the
hybrid path can be read without it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from answering.extractive import answer_question
from bench.stats import summarize_ms
from index.collection import Collection
from index.encoders import load_embedder
from index.search import Mode
from index.timing import Stopwatch
from service.outputs import SearchResponse
from service.serializers import hit_out

STAGES = ("filters", "tokenize", "lexical", "encode", "vector", "fusion", "answer", "serialise")


def profile_queries(collection: Collection, questions: Sequence[str], mode: Mode, repeats: int = 1) -> dict[str, Any]:
    """Per-stage timings of search + answer + serialisation for each question (seconds lists → summaries)."""
    searcher = collection.searcher()
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    totals: list[float] = []
    for _ in range(repeats):
        for question in questions:
            watch = Stopwatch()
            hits = searcher.search(question, 10, mode=mode, watch=watch)
            with watch.stage("answer"):
                answer_question(searcher, question, hits)
            with watch.stage("serialise"):
                payload = {"query": question, "took_ms": 0.0, "mode": mode, "results": [hit_out(h) for h in hits]}
                json.dumps(SearchResponse.model_validate(payload).model_dump(mode="json"), ensure_ascii=False)
            for stage in STAGES:
                if stage in watch.seconds:
                    per_stage[stage].append(watch.seconds[stage])
            totals.append(sum(watch.seconds.values()))
    return {"mode": mode, "queries": len(totals), "total": summarize_ms(totals),
            "stages": {stage: summarize_ms(values) for stage, values in per_stage.items() if values}}


def run(targets: Sequence[tuple[str, Path, Path | str | None]], questions: Sequence[str],
        quick: bool) -> dict[str, Any]:
    """``targets``: (name, index folder, encoder folder or None); hybrid where there is an encoder."""
    rows = []
    for name, index, model in targets:
        embedder, status = load_embedder(str(model) if model else "none")
        collection = Collection.open(index, embedder=embedder, dense_status=status)
        collection.searcher()
        mode: Mode = "hybrid" if embedder else "lexical"
        profile_queries(collection, questions[:10], mode)  # warm caches and pyvi
        rows.append({"collection": name, "chunks": len(collection.searcher().chunks),
                     **profile_queries(collection, questions, mode, repeats=1 if quick else 2)})
        collection.store.close()
    return {"rows": rows}


def render(result: dict[str, Any]) -> str:
    lines = ["## Where one query's time goes (in-process, per dev question)", "",
             "Median ms per stage (p95 in brackets). `encode` is the encoder's own cost (the bundled multilingual "
             "e5-small where the collection has one).", "",
             "| collection | mode | " + " | ".join(STAGES) + " | total |",
             "|---|---|" + "---|" * (len(STAGES) + 1)]
    for row in result["rows"]:
        cells = []
        for stage in STAGES:
            s = row["stages"].get(stage)
            cells.append(f"{s['p50_ms']:.2f} ({s['p95_ms']:.2f})" if s else "—")
        total = row["total"]
        lines.append(f"| {row['collection']} ({row['chunks']:,} chunks) | {row['mode']} | " + " | ".join(cells) +
                     f" | {total['p50_ms']:.2f} ({total['p95_ms']:.2f}) |")
    return "\n".join(lines) + "\n"
