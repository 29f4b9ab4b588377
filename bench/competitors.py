"""tracuu against what a user would otherwise pick: same workload, same process, same run.

The competitors are txtai (its BM25 keyword index, and its hybrid index) and the
plain pipeline of ``eval/baseline.py`` — RecursiveCharacterTextSplitter(1000,
200) and bm25s on defaults. txtai indexes the very same splitter chunks, as a
txtai user following its documentation would. Every system answers the eval
suite's questions through :func:`eval.runner.run_questions`, so hits are judged
against the same relevance units and scored by the same metrics.

The hybrid systems use the random-weight model of ``tests/tiny_model.py`` in
place of a multilingual encoder (no model hub is reachable here): their speed
is real, their quality means nothing.

Run from the repository root::

    python -m bench.competitors --quick     # the dev suite, lexical systems only (< 1 min)
    python -m bench.competitors             # dev-distractors with all five systems, ALQAC with the lexical ones
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import metadata as pkg_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import corpora
from bench.stats import emit, peak_rss_mb, ratio, rss_mb, summarize_ms

if TYPE_CHECKING:
    from eval.datasets import Question
    from eval.runner import EvalCorpus
    from eval.suites import Suite

SearchFn = Callable[[str], list[tuple[str, str]]]  # question -> (relevance unit, passage text), best first

TRACUU_LEXICAL, TRACUU_HYBRID = "tracuu lexical", "tracuu hybrid (tiny model)"
BM25S, TXTAI_BM25, TXTAI_HYBRID = "plain bm25s + splitter", "txtai BM25", "txtai hybrid (tiny model)"
COMPETITORS = (TXTAI_BM25, BM25S, TXTAI_HYBRID)
QUALITY = ("hit@1", "hit@5", "mrr@10", "ndcg@10")
SPEED = ("build_s", "docs_per_s", "chunks_per_s", "cpu_ms_per_query")
# Timing passes over the question set after the judged one; bounded by a time budget on a shared machine.
REPEATS = {True: 1, False: 3}
REPEAT_BUDGET_S = 15.0
# One query's encode on the shared 2-core machines: ~4 ms with one torch thread, 65-150 ms with two (threads
# spinning against other processes' load). One thread, for both hybrids alike; --torch-threads to change it.
TORCH_THREADS = 1


@dataclass
class Built:
    """An index ready to answer, and what building it produced."""

    search: SearchFn
    documents: int
    chunks: int
    close: Callable[[], None]


# -- the systems ---------------------------------------------------------------


def split_files(files: Sequence[tuple[str, bytes]]) -> tuple[list[str], list[str]]:
    """The chunks eval/baseline.py indexes: raw text through RecursiveCharacterTextSplitter(1000, 200)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from corpus.load import read_bytes

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    sources: list[str] = []
    texts: list[str] = []
    for source, data in files:
        for piece in splitter.split_text(read_bytes(data, source)):
            sources.append(source)
            texts.append(piece)
    return sources, texts


def build_bm25s(files: Sequence[tuple[str, bytes]], unit: Callable[[str], str]) -> Built:
    from eval.baseline import BaselineIndex, baseline_search
    from eval.runner import EVAL_K

    index = BaselineIndex(files)
    return Built(baseline_search(index, unit, EVAL_K), len(files), len(index.texts), lambda: None)


def build_txtai(files: Sequence[tuple[str, bytes]], unit: Callable[[str], str], config: dict[str, Any]) -> Built:
    """A txtai ``Embeddings`` over the splitter chunks; ids "source::n" map each hit back to its file."""
    from txtai import Embeddings

    from eval.runner import EVAL_K

    sources, texts = split_files(files)
    embeddings = Embeddings(**config)
    rows = zip(sources, texts, strict=True)
    embeddings.index((f"{source}::{n}", text, None) for n, (source, text) in enumerate(rows))

    def search(query: str) -> list[tuple[str, str]]:
        return [(unit(str(hit["id"]).rsplit("::", 1)[0]), str(hit["text"])) for hit in embeddings.search(query, EVAL_K)]

    return Built(search, len(files), len(texts), embeddings.close)


# txtai 9 expands keyword=True to scoring={"method": "bm25", "terms": True, "normalize": True}: a keyword-only index
# with its Unicode (UAX #29) word tokenizer; content=True stores the text so that hits carry their passage.
TXTAI_BM25_CONFIG: dict[str, Any] = {"keyword": True, "content": True}


def txtai_hybrid_config(model: Path) -> dict[str, Any]:
    # method="sentence-transformers" runs the model through the library tracuu's embedder uses: the hybrid rows
    # then differ in pipeline, not in how the model is run.
    return {"path": str(model), "method": "sentence-transformers", "hybrid": True, "content": True}


def build_tracuu(files: Sequence[tuple[str, bytes]], corpus: EvalCorpus, folder: Path, model: Path | None) -> Built:
    """A fresh Collection through the eval runner's own path; with ``model``, hybrid over the tiny encoder."""
    from eval.runner import Config, open_collection, tracuu_search
    from index.collection import Collection
    from index.encoders import load_embedder
    from index.search import Mode

    mode: Mode = "lexical" if model is None else "hybrid"
    if model is None:
        collection = open_collection(folder, replace(corpus, files=files), Config("tracuu"))
    else:
        embedder, status = load_embedder(str(model))
        if embedder is None:
            raise RuntimeError(status.get("reason", "tiny model did not load"))
        collection = Collection.open(folder, embedder=embedder, dense_status=status)
        collection.ingest(files)
    documents, chunks = collection.store.counts()
    search = tracuu_search(collection, corpus, mode)  # loads the snapshot the first query would otherwise load
    return Built(search, documents, chunks, collection.store.close)


# -- measuring -----------------------------------------------------------------


def _timed_passes(search: SearchFn, questions: Sequence[Question], repeats: int,
                  budget_s: float) -> tuple[list[float], float]:
    """Seconds per single query over up to ``repeats`` passes, stopping once ``budget_s`` is spent; and the
    process CPU seconds per query, which the other jobs on a shared machine disturb far less than wall time."""
    samples: list[float] = []
    deadline, cpu_started = time.perf_counter() + budget_s, time.process_time()
    for _ in range(repeats):
        for question in questions:
            started = time.perf_counter()
            search(question.question)
            samples.append(time.perf_counter() - started)
            if started > deadline:
                return samples, (time.process_time() - cpu_started) / len(samples)
    return samples, (time.process_time() - cpu_started) / max(1, len(samples))


Builder = Callable[[Sequence[tuple[str, bytes]], Path], Built]  # (files, scratch folder) -> index


def _settle_memory() -> float:
    """RSS once garbage is collected and glibc has handed freed heap back, so deltas count what is held."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the delta then also counts freed-but-kept heap
        pass
    return rss_mb()


@contextmanager
def _rss_polled(readings: list[float]) -> Iterator[None]:
    """Append this process's RSS to ``readings`` every 10 ms, from a thread, while the block runs."""
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.01):
            readings.append(rss_mb())

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        readings.append(rss_mb())


def _timed_build(build: Builder, files: Sequence[tuple[str, bytes]], scratch: Path) -> tuple[Built, dict[str, float]]:
    """Warm up on one file, then build on all with wall, CPU and memory measured.

    The untimed one-file build pays each system's one-time costs (imports, pyvi's model, a tokenizer) so
    that build time measures indexing; what those cost is kept as ``warmup_s``.
    """
    started = time.perf_counter()
    build(files[:1], scratch / "warmup").close()
    warmup_s = time.perf_counter() - started
    rss_before = _settle_memory()
    readings: list[float] = []
    with _rss_polled(readings):
        started, cpu_started = time.perf_counter(), time.process_time()
        built = build(files, scratch / "index")
        build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    figures = {"warmup_s": round(warmup_s, 2), "build_s": round(build_s, 3), "build_cpu_s": round(build_cpu_s, 3),
               "docs_per_s": round(built.documents / build_s, 1), "chunks_per_s": round(built.chunks / build_s, 1),
               "rss_held_mb": round(_settle_memory() - rss_before, 1),
               "rss_peak_mb": round(max(readings) - rss_before, 1)}
    return built, figures


def measure(name: str, build: Builder, files: Sequence[tuple[str, bytes]], questions: Sequence[Question],
            scratch: Path, repeats: int) -> dict[str, Any]:
    """Build (see :func:`_timed_build`), judge one pass of the questions, then time up to ``repeats`` more."""
    from eval.metrics import aggregate, aggregate_by_kind
    from eval.runner import run_questions

    built, figures = _timed_build(build, files, scratch)
    try:
        built.search(questions[0].question)  # warm-up: lazy tokenizers, first-touch pages
        results = run_questions(questions, built.search)
        timed, cpu_per_query = _timed_passes(built.search, questions, repeats, REPEAT_BUDGET_S)
    finally:
        built.close()
    quality = aggregate(results)
    return {
        "system": name, "documents": built.documents, "chunks": built.chunks, **figures,
        "latency": summarize_ms([r.latency_ms / 1000.0 for r in results] + timed),
        "cpu_ms_per_query": round(cpu_per_query * 1000.0, 3),
        "quality": {key: round(quality[key], 3) for key in QUALITY},
        "hit@5_by_kind": {kind: round(q["hit@5"], 3) for kind, q in aggregate_by_kind(results).items()},
    }


def _txtai_missing() -> str | None:
    try:
        import txtai  # noqa: F401
    except ImportError as exc:
        return f"txtai is not installed ({exc}); pip install -e '.[bench]'"
    return None


def _tiny_model() -> tuple[Path | None, str | None]:
    """The random-weight test encoder, built once under var/bench and shared with the other sections."""
    try:
        return corpora.tiny_model(), None
    except Exception as exc:  # transformers refusing: hybrids are skipped, not fatal
        return None, f"tiny model unavailable: {type(exc).__name__}: {str(exc)[:200]}"


def _systems(suite: Suite, skip_hybrids: str | None, scratch: Path) -> list[tuple[str, Builder | str]]:
    """Each system's builder, or the reason it is skipped; the order is fixed so runs compare."""
    corpus, no_txtai = suite.corpus, _txtai_missing()
    systems: list[tuple[str, Builder | str]] = [
        (BM25S, lambda files, _: build_bm25s(files, corpus.unit)),
        (TXTAI_BM25, no_txtai or (lambda files, _: build_txtai(files, corpus.unit, TXTAI_BM25_CONFIG))),
        (TRACUU_LEXICAL, lambda files, folder: build_tracuu(files, corpus, folder, None)),
    ]
    model, no_model = (None, skip_hybrids) if skip_hybrids else _tiny_model()
    if model is None:
        return systems + [(TXTAI_HYBRID, no_model or "no model"), (TRACUU_HYBRID, no_model or "no model")]
    tiny: Path = model
    return systems + [
        (TXTAI_HYBRID, no_txtai or (lambda files, _: build_txtai(files, corpus.unit, txtai_hybrid_config(tiny)))),
        (TRACUU_HYBRID, lambda files, folder: build_tracuu(files, corpus, folder, tiny)),
    ]


def run_suite(suite: Suite, skip_hybrids: str | None, repeats: int, scratch: Path) -> list[dict[str, Any]]:
    """Every system over one suite, hybrids unless ``skip_hybrids`` says why not."""
    rows: list[dict[str, Any]] = []
    for number, (name, build) in enumerate(_systems(suite, skip_hybrids, scratch)):
        if isinstance(build, str):
            rows.append({"system": name, "skipped": build})
        else:
            rows.append(measure(name, build, suite.corpus.files, suite.questions, scratch / f"system-{number}",
                                repeats))
    return rows


# -- ratios and the whole run ----------------------------------------------------


def ratios(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Each tracuu figure divided by each competitor's: latency ours/theirs (< 1 is faster), throughput ours/theirs."""
    measured = {row["system"]: row for row in rows if "skipped" not in row}

    def figures(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float | None]:
        out = {key: ratio(ours[key], theirs[key]) for key in SPEED}
        out |= {key: ratio(ours["latency"][key], theirs["latency"][key]) for key in ("p50_ms", "p95_ms", "p99_ms")}
        return out | {key: ratio(ours["quality"][key], theirs["quality"][key]) for key in QUALITY}

    return {ours: {theirs: figures(measured[ours], measured[theirs]) for theirs in COMPETITORS if theirs in measured}
            for ours in (TRACUU_LEXICAL, TRACUU_HYBRID) if ours in measured}


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "cpus": str(os.cpu_count())}
    for name in ("txtai", "bm25s", "torch", "sentence-transformers", "faiss-cpu", "langchain-text-splitters"):
        try:
            found[name] = pkg_metadata.version(name)
        except pkg_metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _load(name: str) -> tuple[Suite | None, str | None]:
    from eval.suites import SuiteUnavailable, load_suite

    try:
        return load_suite(name), None
    except SuiteUnavailable as exc:
        return None, str(exc)


def _hybrids_skipped(quick: bool, suite: str) -> str | None:
    if quick:
        return "quick mode"
    if suite == "alqac":
        # Their speed is already measured on dev-distractors and their quality means nothing: ALQAC adds only time.
        return "tiny-model hybrids run on dev-distractors only"
    return None


def run(quick: bool, alqac: bool = True, torch_threads: int = TORCH_THREADS) -> dict[str, Any]:
    """Quick: the dev suite (5 documents), lexical systems. Full: dev-distractors with all five (+ ALQAC, lexical).

    Both hybrids encode through torch, so its thread count is set once for both and recorded.
    """
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach a model hub
    torch.set_num_threads(torch_threads)
    started = time.perf_counter()
    names = ["dev"] if quick else ["dev-distractors"] + (["alqac"] if alqac else [])
    result: dict[str, Any] = {"mode": "quick" if quick else "full", "torch_threads": torch_threads,
                              "versions": _versions(), "suites": []}
    for name in names:
        suite, missing = _load(name)
        if suite is None and name == "dev-distractors":
            suite, missing = _load("dev")  # the shared corpus is absent: measure what the repo carries
        if suite is None:
            result["suites"].append({"suite": name, "skipped": missing})
            continue
        suite_started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="tracuu-bench-") as scratch:
            rows = run_suite(suite, _hybrids_skipped(quick, name), REPEATS[quick], Path(scratch))
        result["suites"].append({"suite": suite.name, "questions": len(suite.questions),
                                 "documents": len(suite.corpus.files), "note": missing, "systems": rows,
                                 "ratios": ratios(rows), "wall_s": round(time.perf_counter() - suite_started, 1)})
    result["peak_rss_mb"] = peak_rss_mb()
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


# -- the report ------------------------------------------------------------------


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _times(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _system_rows(suite: dict[str, Any]) -> list[str]:
    lines = ["| system | docs | chunks | build s (CPU s) | docs/s | chunks/s | RSS held / peak Δ MB | p50 ms "
             "| p95 ms | p99 ms | CPU ms/q | hit@1 | hit@5 | MRR@10 | nDCG@10 | docs/s ÷ txtai BM25 | docs/s ÷ bm25s "
             "| p50 ÷ txtai BM25 | p50 ÷ bm25s |", "|---" * 19 + "|"]
    for row in suite["systems"]:
        if "skipped" in row:
            lines.append(f"| {row['system']} | skipped: {row['skipped']} |" + " |" * 17)
            continue
        lat, q = row["latency"], row["quality"]
        versus = suite["ratios"].get(row["system"], {})
        build = f"{row['build_s']:.2f} ({row['build_cpu_s']:.2f})"
        memory = f"{row['rss_held_mb']:.0f} / {row['rss_peak_mb']:.0f}"
        cells = [row["system"], str(row["documents"]), str(row["chunks"]), build,
                 _num(row["docs_per_s"], 1), _num(row["chunks_per_s"], 1), memory,
                 _num(lat["p50_ms"], 2), _num(lat["p95_ms"], 2), _num(lat["p99_ms"], 2),
                 _num(row["cpu_ms_per_query"], 2), *(_num(q[key]) for key in QUALITY)]
        for key in ("docs_per_s", "p50_ms"):
            cells += [_times(versus.get(theirs, {}).get(key)) if versus else "" for theirs in (TXTAI_BM25, BM25S)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _ratio_rows(suite: dict[str, Any]) -> list[str]:
    keys = ("build_s", "docs_per_s", "chunks_per_s", "p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_query", *QUALITY)
    lines = ["| ours ÷ theirs | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for ours, against in suite["ratios"].items():
        for theirs, figures in against.items():
            lines.append(f"| {ours} ÷ {theirs} | " + " | ".join(_times(figures[k]) for k in keys) + " |")
    return lines


def _kind_rows(suite: dict[str, Any]) -> list[str]:
    measured = [row for row in suite["systems"] if "skipped" not in row]
    kinds = sorted({kind for row in measured for kind in row["hit@5_by_kind"]})
    lines = ["| hit@5 by kind | " + " | ".join(row["system"] for row in measured) + " |",
             "|---" * (len(measured) + 1) + "|"]
    for kind in kinds:
        lines.append(f"| {kind} | " + " | ".join(_num(row["hit@5_by_kind"].get(kind)) for row in measured) + " |")
    return lines


def render(result: dict[str, Any]) -> str:
    """The run as markdown: one table per suite, every tracuu figure next to its ratio to each competitor."""
    versions = ", ".join(f"{k} {v}" for k, v in result["versions"].items())
    out = [f"# tracuu against txtai and plain bm25s — {result['mode']} run, {result['wall_s']} s", "",
           f"- {versions}; torch threads {result['torch_threads']}; peak RSS of the whole run "
           f"{result['peak_rss_mb']} MB",
           "- Latency: single queries one at a time, in process, after one warm-up query; the judged pass plus "
           "bounded repeat passes. Ratios are ours ÷ theirs: below 1× is faster for latency and build s, "
           "above 1× is faster for docs/s. Build CPU s and CPU ms/q (over the repeat passes) are this process's "
           "CPU time, steadier than wall time on this shared machine.",
           "- RSS held: resident memory after the build (index held, garbage collected, malloc_trim) minus before "
           "it; peak: the highest reading during the build, polled every 10 ms, minus before. Same process, in "
           "the order listed, so read them as indicative.",
           "- Hybrid rows use the random-weight tiny test model for the encoder: their speed is real, their "
           "quality means nothing.", ""]
    for suite in result["suites"]:
        if "skipped" in suite:
            out += [f"## {suite['suite']}: skipped — {suite['skipped']}", ""]
            continue
        out += [f"## {suite['suite']}: {suite['questions']} questions over {suite['documents']} documents "
                f"({suite['wall_s']} s)", ""]
        if suite.get("note"):
            out += [f"- fell back to the dev suite: {suite['note']}", ""]
        warmups = ", ".join(f"{row['system']} {row['warmup_s']} s" for row in suite["systems"] if "warmup_s" in row)
        out += _system_rows(suite) + ["", f"One-time costs, paid in an untimed one-file build first: {warmups}.", ""]
        out += _ratio_rows(suite) + [""] + _kind_rows(suite) + [""]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="the dev suite, lexical systems only")
    parser.add_argument("--no-alqac", action="store_true", help="full run without the ALQAC suite")
    parser.add_argument("--torch-threads", type=int, default=TORCH_THREADS, help="torch threads for the hybrids")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    result = run(args.quick, alqac=not args.no_alqac, torch_threads=args.torch_threads)
    return emit(result, render, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
