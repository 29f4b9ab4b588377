"""Writes that cost what they add: one document added to a 10,000- and a 100,000-chunk collection.

Each generated collection of :mod:`bench.ingest` (10k, and 100k in full mode) is copied to a scratch folder,
so the cached index stays as it was built, and measured there, lexical-only:

1. in process, ``Collection.ingest`` of one new document at a time, end to end (parse, tokens, SQLite, delta
   segment, restorer, generation switch and the new snapshot installed), then deletions of two such documents
   and of documents of the base segment;
2. the full merge of the lexical segments (what the background merger of :mod:`index.merging` spends after a
   write whose delta passes :class:`index.lexical.MergePolicy`'s bounds; the write itself no longer waits for
   it) and a full rebuild of the derived indexes; the searcher after the
   incremental writes must answer the dev questions exactly as the rebuilt one does (``equal_to_rebuild``);
3. the same write with incremental updates off (``Writer.incremental = False``): what every write cost before;
4. over HTTP, ``POST /documents`` with one file to ``tracuu serve`` on 127.0.0.1; when the response arrives,
   the server has published the generation and serves it.

The added documents are variants of the real documents (:func:`bench.generate.variant`) under another seed,
so they are new and the size of a typical upload. Every loop is bounded by a count and a deadline.

    python -m bench.incremental [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx

from bench.generate import Source, load_sources, source_paths, variant
from bench.http import serving
from bench.ingest import build_large_index
from bench.serving import dev_questions
from bench.stats import emit, ratio, summarize_ms
from index.collection import Collection
from index.lexical import MergePolicy
from index.search import Searcher
from index.textnorm import stored_tokens

ADDS = {True: 5, False: 20}  # in process and over HTTP, per collection
REMOVES = {True: 3, False: 5}
FULL_WRITES = 1  # a write with a full rebuild: 12-19 s at 100k chunks, and the rebuild alone is timed beside it
PHASE_DEADLINE_S = 90.0
UPLOAD_SEED = 7  # not the generator's seed 0: the documents are new to the collection


@lru_cache(maxsize=1)
def _sources() -> list[Source]:
    return [s for s in load_sources(source_paths()) if s.chunks > 0]


def uploads(count: int, start: int) -> list[tuple[str, bytes]]:
    """``count`` new documents (name, bytes), variants of randomly chosen real ones."""
    picked = random.Random(start).choices(_sources(), k=count)
    return [(f"upload-{start + i:04d}-{s.path.stem}.txt", variant(s, UPLOAD_SEED, start + i).encode("utf-8"))
            for i, s in enumerate(picked)]


def _timed(items: Sequence[Any], action: Callable[[Any], object]) -> list[float]:
    """Seconds per item, stopping at the phase deadline."""
    deadline, seconds = time.monotonic() + PHASE_DEADLINE_S, []
    for item in items:
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        action(item)
        seconds.append(time.perf_counter() - started)
    return seconds


def _answers(searcher: Searcher, questions: Sequence[str]) -> list[list[tuple[str, float]]]:
    return [[(hit.chunk.id, hit.score) for hit in searcher.search(q, k=10)] for q in questions]


def _same(first: list[list[tuple[str, float]]], second: list[list[tuple[str, float]]]) -> bool:
    """Same chunks in the same order, scores within 1e-6."""
    return all([i for i, _ in a] == [i for i, _ in b]
               and all(abs(x - y) <= 1e-6 for (_, x), (_, y) in zip(a, b, strict=True))
               for a, b in zip(first, second, strict=True))


def measure_in_process(folder: Path, quick: bool, questions: Sequence[str]) -> dict[str, Any]:
    collection = Collection.open(folder)
    try:
        collection.searcher()
        stored_tokens(["Hội đồng nhân dân"], collection.settings.tokenizer)  # pyvi loads its model once per process
        added = _timed(uploads(ADDS[quick], 0), lambda file: collection.ingest([file]))
        stored = collection.store.documents()  # deletions of new documents, and of the base's (tombstones there)
        gone = [d.id for d in stored if d.source.startswith("upload-")][:2] + [
            d.id for d in stored if not d.source.startswith("upload-")][: REMOVES[quick] - 2]
        removed = _timed(gone, lambda doc_id: collection.remove([doc_id]))
        collection.writer.merger.wait()  # the merges the writes asked for, published before the comparison
        served = collection.searcher()
        segments = len(served.lexical.segments)
        incremental = _answers(served, questions)
        started = time.perf_counter()
        served.lexical.merged(MergePolicy(delta_share=0.0, dead_share=0.0))
        merge_s = time.perf_counter() - started
        rebuild = _timed([None], lambda _: collection.rebuild())
        equal = _same(incremental, _answers(collection.searcher(), questions))
        collection.writer.incremental = False
        full = _timed(uploads(FULL_WRITES, 500), lambda file: collection.ingest([file]))
        documents, chunks = collection.store.counts()
    finally:
        collection.store.close()
    return {"documents": documents, "chunks": chunks, "add": summarize_ms(added), "remove": summarize_ms(removed),
            "segments_after": segments, "full_merge_ms": round(merge_s * 1000, 1),
            "rebuild": summarize_ms(rebuild), "write_with_rebuild": summarize_ms(full), "equal_to_rebuild": equal,
            "add_max_ms": round(max(added) * 1000, 1) if added else None}


def measure_http(folder: Path, quick: bool) -> dict[str, Any]:
    key = os.environ.get("TRACUU_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with serving(folder) as server, httpx.Client(base_url=server.base_url, timeout=120.0, headers=headers) as client:
        def upload(file: tuple[str, bytes]) -> None:
            response = client.post("/documents", files={"files": (file[0], file[1], "text/plain")})
            response.raise_for_status()
            if not response.json()["added"]:
                raise RuntimeError(f"{file[0]} was not added: {response.text[:300]}")

        first = _timed(uploads(1, 999), upload)  # the server's first write also loads pyvi's model
        seconds = _timed(uploads(ADDS[quick], 1000), upload)
        health = server.health()
    return {"add": summarize_ms(seconds), "chunks": health["chunks"], "first_add_ms": round(first[0] * 1000, 1),
            "add_max_ms": round(max(seconds) * 1000, 1) if seconds else None}


def measure(name: str, built: Path, quick: bool, questions: Sequence[str], scratch: Path) -> dict[str, Any]:
    folder = scratch / name
    shutil.copytree(built, folder)
    try:
        result = {"name": name, **measure_in_process(folder, quick, questions)}
        result["http"] = measure_http(folder, quick)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["ratio_add_to_write_with_rebuild"] = ratio(result["add"]["p50_ms"], result["write_with_rebuild"]["p50_ms"])
    result["ratio_http_add_to_write_with_rebuild"] = ratio(result["http"]["add"]["p50_ms"],
                                                           result["write_with_rebuild"]["p50_ms"])
    return result


def run(quick: bool) -> dict[str, Any]:
    """The 10k collection, and the 100k one unless ``quick`` (both built by bench.ingest, or reused)."""
    started = time.perf_counter()
    questions = dev_questions()
    targets = [("10k chunks", Path(str(build_large_index(quick=True)["path"])))]
    if not quick:
        targets.append(("100k chunks", Path(str(build_large_index(quick=False)["path"]))))
    with tempfile.TemporaryDirectory(prefix="tracuu-bench-incremental-") as tmp:
        collections = [measure(name, path, quick, questions, Path(tmp)) for name, path in targets]
    return {"quick": quick, "collections": collections, "target_ms": 1000.0,
            "target_met": all(c["http"]["add"]["p50_ms"] <= 1000.0 and c["add"]["p50_ms"] <= 1000.0
                              for c in collections),
            "seconds": round(time.perf_counter() - started, 1)}


def _ms(summary: dict[str, Any]) -> str:
    if not summary.get("n"):
        return "–"
    return f"{summary['p50_ms']:,.0f} / {summary['p95_ms']:,.0f} (n={summary['n']})"


def render(result: dict[str, Any]) -> str:
    lines = [f"## Incremental writes ({'quick' if result['quick'] else 'full'})", "",
             "One new document (a variant of a real one) per write, lexical-only; p50 / p95 in ms. Target: ≤ 1 s "
             f"end to end — {'met' if result['target_met'] else 'NOT met'}.", "",
             "| collection | add, in process | add, HTTP | remove | full merge | full rebuild | write with full "
             "rebuild (before) | add ÷ before | equal to rebuild |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in result["collections"]:
        lines.append(f"| {c['name']} ({c['chunks']:,}) | {_ms(c['add'])} | {_ms(c['http']['add'])} | "
                     f"{_ms(c['remove'])} | {c['full_merge_ms']:,.0f} | {_ms(c['rebuild'])} | "
                     f"{_ms(c['write_with_rebuild'])} | {c['ratio_add_to_write_with_rebuild']} | "
                     f"{'yes' if c['equal_to_rebuild'] else '**NO**'} |")
    lines += ["", f"Segments after the writes: {', '.join(str(c['segments_after']) for c in result['collections'])};"
              " a full merge runs in the background after a write whose deltas pass a quarter of the base or whose "
              "tombstones pass a fifth of the rows (its cost is in the table; the write does not wait for it).", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.incremental", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the 10k collection only, fewer writes")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    return emit(run(args.quick), render, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
