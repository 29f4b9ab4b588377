"""Ingestion throughput: documents/s and chunks/s per stage, and end to end through ``Collection.ingest``.

Stages are timed one document at a time in this process, calling the same
functions :func:`corpus.pipeline.parse_text` and ``Collection._write`` call:

1. read + clean: bytes from disk, decoding and checks, :func:`corpus.clean.clean_text`;
2. structure + metadata: section tree and metadata (:func:`corpus.pipeline.structure_and_metadata`);
3. chunking + indicators: :func:`corpus.chunk.chunk_document` and the indicator extractor;
4. word segmentation + tokens: :func:`index.textnorm.stored_tokens` (abbreviations, pyvi, folding, the JSON
   the store keeps), on one core;
5. index writes: the SQLite transaction, then the BM25 build, the generation switch and the snapshot load;
6. embedding, the encoder's own cost, with the tiny random-weight test encoder on a sample of chunks
   (its speed says little about a real e5 model; the target excludes it).

End to end is ``Collection.ingest`` into an empty folder, without an encoder,
as ``tracuu index build`` runs it (parsing and tokenising over every core for a large
batch). The target is 200 chunks/s end to end.

    python -m bench.ingest [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata as pkg_metadata
from pathlib import Path
from typing import Any

from bench.generate import generate_corpus
from bench.stats import peak_rss_mb
from corpus.load import read_bytes
from corpus.models import ParsedDocument
from corpus.pipeline import parse_text
from eval.paths import REPO_ROOT
from index.collection import Collection
from index.errors import IndexMismatch
from index.folder import FORMAT_VERSION
from index.textnorm import PARALLEL_MIN_CHUNKS, stored_tokens, usable_cpus
from index.writer import PARALLEL_PARSE_MIN_BYTES, dense_text

BENCH_DIR = REPO_ROOT / "var" / "bench"
TARGET_CHUNKS_PER_S = 200.0
BUILD_RECORD = "bench-build.json"
LARGE = {False: 100_000, True: 10_000}  # generated collection size: full, quick
STAGE_SAMPLE_EVERY = {False: 10, True: 40}  # stages on the generated collection: every n-th document
EMBED_SAMPLE = {False: 1024, True: 128}  # chunks the encoder is timed on
QUICK_SHARED_DOCS = 60  # quick mode: the seeds and this many of the 177 shared documents
# What decides the content of a built index: a change to any of these rebuilds the 100k index.
INGEST_CODE = ("corpus/*.py", "corpus/data/*.json", "index/textnorm.py", "index/lexical.py", "index/store.py",
               "index/data/abbreviations.json")


@dataclass
class StageClock:
    """Wall and CPU seconds per stage, summed over documents."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu


def _rates(name: str, wall: float, cpu: float, documents: int, chunks: int) -> dict[str, Any]:
    return {"stage": name, "seconds": round(wall, 6), "cpu_seconds": round(cpu, 6),
            "docs_per_s": round(documents / wall, 1) if wall else None,
            "chunks_per_s": round(chunks / wall, 1) if wall else None}


def measure_stages(paths: Sequence[Path], scratch: Path) -> dict[str, Any]:
    """Per-stage time over ``paths``: the parse of each document, then the writer's steps for all of them.

    Both run the production code (:func:`corpus.pipeline.parse_text`, :meth:`index.writer.Writer.write`)
    with the clock passed in, so the stages cannot drift from what ingestion does.
    """
    clock = StageClock()
    collection = Collection.open(scratch)
    settings = collection.settings
    stored_tokens(["Hội đồng nhân dân"], settings.tokenizer)  # pyvi loads its model once per process: not a stage
    docs: list[ParsedDocument] = []
    for path in paths:
        with clock.stage("read"):
            raw = read_bytes(path.read_bytes(), path.name, settings.max_file_bytes)
        docs.append(parse_text(raw, path.name, settings.chunking, stage=clock.stage))
    collection.writer.write(docs, [], stage=clock.stage)
    collection.store.close()
    chunks = sum(len(d.chunks) for d in docs)
    stages = [_rates(name, clock.wall[name], clock.cpu[name], len(docs), chunks) for name in clock.wall]
    return {"documents": len(docs), "chunks": chunks, "bytes": sum(p.stat().st_size for p in paths),
            "stages": stages, "texts": [dense_text(c.text, c.header, settings) for d in docs for c in d.chunks]}


def measure_embedding(texts: Sequence[str], sample: int) -> dict[str, Any]:
    """The tiny test encoder on ``sample`` of ``texts``: the encoder's own cost per chunk."""
    from bench.corpora import tiny_model
    from index.encoders import load_embedder

    try:  # the weight-loading progress bar is noise in a benchmark report
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
    embedder, status = load_embedder(str(tiny_model()))
    if embedder is None:
        return {"stage": "embedding (tiny test encoder)", "error": status.get("reason")}
    picked = random.Random(0).sample(list(texts), min(sample, len(texts)))
    embedder.encode_passages(picked[:8])  # first call builds torch's kernels
    wall, cpu = time.perf_counter(), time.process_time()
    embedder.encode_passages(picked)
    result = _rates("embedding (tiny test encoder)", time.perf_counter() - wall, time.process_time() - cpu,
                    0, len(picked))
    return {**result, "docs_per_s": None, "sampled_chunks": len(picked)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def end_to_end(paths: Sequence[Path], folder: Path) -> dict[str, Any]:
    """``Collection.ingest`` of ``paths`` into an empty ``folder``, no encoder: what ``tracuu index build`` does."""
    shutil.rmtree(folder, ignore_errors=True)
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    collection = Collection.open(folder)
    report = collection.ingest_paths(list(paths))
    seconds = time.perf_counter() - wall
    documents, chunks = collection.store.counts()
    collection.store.close()
    spread = chunks >= PARALLEL_MIN_CHUNKS or sum(p.stat().st_size for p in paths) >= PARALLEL_PARSE_MIN_BYTES
    return {**_rates("end to end: Collection.ingest (no encoder)", seconds, 0.0, documents, chunks),
            "cpu_seconds": round(time.process_time() - cpu + _children_cpu() - children, 3),
            "documents": documents, "chunks": chunks, "rejected": len(report.rejected),
            "processes": usable_cpus() if spread else 1, "peak_rss_mb": peak_rss_mb()}


def _ingest_code_fingerprint() -> str:
    digest = hashlib.sha256(f"format={FORMAT_VERSION}".encode())
    for pattern in INGEST_CODE:
        for path in sorted(REPO_ROOT.glob(pattern)):
            digest.update(path.name.encode() + path.read_bytes())
    for package in ("pyvi", "bm25s", "langchain-text-splitters"):
        digest.update(pkg_metadata.version(package).encode())
    return digest.hexdigest()[:16]


def _generated(quick: bool) -> tuple[Path, dict[str, Any]]:
    size = LARGE[quick]
    folder = BENCH_DIR / f"gen-{size // 1000}k"
    return folder, generate_corpus(folder, size)


def _reusable_build(folder: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    record_path = folder / BUILD_RECORD
    if not record_path.exists():
        return None
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if {k: record.get(k) for k in wanted} != wanted:
        return None
    try:
        collection = Collection.open(folder)  # refuses an index built with other settings or format
    except IndexMismatch:
        return None
    manifest = collection.manifest() or {}
    collection.store.close()
    if (manifest.get("documents"), manifest.get("chunks")) != (record.get("documents"), record.get("chunks")):
        return None
    return dict(record)


def build_large_index(quick: bool = False) -> dict[str, Any]:
    """The generated collection's index under var/bench, built through ``Collection.ingest``, or reused.

    Reused while the generated documents, the ingestion code and the index settings are those it was built
    with; the record of how long the build took travels with it.
    """
    generated_dir, generated = _generated(quick)
    folder = BENCH_DIR / f"index-{LARGE[quick] // 1000}k"
    wanted = {"generated": {k: generated[k] for k in ("documents", "estimated_chunks", "bytes")},
              "code": _ingest_code_fingerprint()}
    record = _reusable_build(folder, wanted)
    if record is not None:
        return {**record, "path": str(folder), "reused": True}
    paths = sorted(generated_dir.glob("*.txt"))
    result = end_to_end(paths, folder)
    record = {**wanted, **result, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "load_average": [round(x, 2) for x in os.getloadavg()]}
    (folder / BUILD_RECORD).write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    return {**record, "path": str(folder), "reused": False}


def ensure_index_100k(quick: bool = False) -> Path:
    """Path of the generated collection's index (100,000 chunks; 10,000 when ``quick``), built if needed."""
    return Path(str(build_large_index(quick)["path"]))


def small_set(quick: bool) -> list[Path]:
    from bench.corpora import small_corpus

    files = small_corpus()
    return files[: 5 + QUICK_SHARED_DOCS] if quick else files


def measure_set(name: str, paths: Sequence[Path], quick: bool, scratch: Path,
                end_to_end_paths: Sequence[Path] | None = None) -> dict[str, Any]:
    staged = measure_stages(paths, scratch / f"{name}-stages")
    texts = staged.pop("texts")
    wall = sum(stage["seconds"] for stage in staged["stages"])
    cpu = sum(stage["cpu_seconds"] for stage in staged["stages"])
    staged["stages"].append(_rates("stages 1–5 together (one process, no encoder)", wall, cpu,
                                   staged["documents"], staged["chunks"]))
    staged["stages"].append(measure_embedding(texts, EMBED_SAMPLE[quick]))
    if end_to_end_paths is not None:
        staged["end_to_end"] = end_to_end(end_to_end_paths, scratch / f"{name}-end-to-end")
    return {"name": name, **staged}


def run(quick: bool) -> dict[str, Any]:
    """Stages and end to end on the seeds + 177 shared documents; in full mode also the 100k-chunk collection."""
    started = time.perf_counter()
    result: dict[str, Any] = {"quick": quick, "cpus": usable_cpus(), "target_chunks_per_s": TARGET_CHUNKS_PER_S,
                              "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "sets": []}
    with tempfile.TemporaryDirectory(prefix="tracuu-bench-ingest-") as tmp:
        scratch = Path(tmp)
        small = small_set(quick)
        result["sets"].append(measure_set(f"seeds + {len(small) - 5} shared documents", small, quick, scratch,
                                          end_to_end_paths=small))
        if not quick:
            build = build_large_index(quick=False)
            generated = sorted((BENCH_DIR / "gen-100k").glob("*.txt"))
            sample = generated[:: STAGE_SAMPLE_EVERY[quick]]
            large = measure_set("generated 100k chunks", sample, quick, scratch)
            large["stage_sample"] = f"every {STAGE_SAMPLE_EVERY[quick]}th document"
            large["end_to_end"] = {k: build[k] for k in ("stage", "seconds", "cpu_seconds", "docs_per_s",
                                                         "chunks_per_s", "documents", "chunks", "processes",
                                                         "peak_rss_mb", "built_at", "reused", "path")}
            result["sets"].append(large)
            result["index_100k"] = build["path"]
    ends = [s["end_to_end"]["chunks_per_s"] for s in result["sets"] if "end_to_end" in s]
    result["target_met"] = bool(ends) and min(ends) >= TARGET_CHUNKS_PER_S
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _cell(value: Any) -> str:
    return "–" if value is None else f"{value:,.1f}" if isinstance(value, float) else str(value)


def render(result: dict[str, Any]) -> str:
    """Markdown: one table per collection, stages then end to end."""
    lines = [f"## Ingestion ({'quick' if result['quick'] else 'full'})", "",
             f"{result['cpus']} CPUs; load average at start {result['load_average_at_start'][0]:.2f}. "
             f"Target: ≥ {result['target_chunks_per_s']:.0f} chunks/s end to end without the encoder — "
             f"{'met' if result.get('target_met') else 'NOT met'}.", ""]
    for item in result["sets"]:
        lines += [f"### {item['name']}: {item['documents']:,} documents, {item['chunks']:,} chunks"
                  + (f" (stages on {item['stage_sample']})" if "stage_sample" in item else ""), "",
                  "| stage | seconds | CPU s | documents/s | chunks/s |", "|---|---:|---:|---:|---:|"]
        for stage in item["stages"]:
            if "error" in stage:
                lines.append(f"| {stage['stage']} | {stage['error']} | | | |")
                continue
            name = stage["stage"] + (f" ({stage['sampled_chunks']} chunks)" if "sampled_chunks" in stage else "")
            lines.append(f"| {name} | {_cell(stage['seconds'])} | {_cell(stage['cpu_seconds'])} | "
                         f"{_cell(stage['docs_per_s'])} | {_cell(stage['chunks_per_s'])} |")
        end = item.get("end_to_end")
        if end:
            note = f"{end['processes']} process" + ("es" if end["processes"] > 1 else "")
            if (end["documents"], end["chunks"]) != (item["documents"], item["chunks"]):
                note += f"; all {end['documents']:,} documents, {end['chunks']:,} chunks"
            if end.get("reused"):
                note += f"; index reused, timing recorded when built at {end['built_at']}"
            lines.append(f"| **{end['stage']}** ({note}) | **{_cell(end['seconds'])}** | {_cell(end['cpu_seconds'])}"
                         f" | {_cell(end['docs_per_s'])} | **{_cell(end['chunks_per_s'])}** |")
        lines.append("")
    if result.get("index_100k"):
        lines += [f"100k-chunk index: `{result['index_100k']}`", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seeds + 60 shared documents, no 100k collection")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.quick)
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
