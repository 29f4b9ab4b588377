"""`make bench`: every benchmark in one run, results in bench/results/{quick,full}.json and .md.

Sections run one after another in one process (servers in their own), so the
ratios against other tools are measured side by side on the same machine
state. A section that fails is recorded with its error and the run goes on;
the exit status is then non-zero.

    python -m bench.run            # full: 182 documents and the generated 100,000-chunk collection (< 20 min)
    python -m bench.run --quick    # the seeds only, short loops (< 2 min)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench import breakdown, corpora, serving, soak
from bench.serving import Target, dev_questions

RESULTS = Path(__file__).resolve().parent / "results"
SOAK_SECONDS = {True: 10.0, False: 60.0}


def _machine() -> dict[str, Any]:
    import os

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_average_at_start": list(os.getloadavg())}


def _section(bar: Any, results: dict[str, Any], name: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """One section, timed; a failure is recorded and the run goes on. ``bar`` shows sections done, rate, time left."""
    started = time.perf_counter()
    bar.set_description(f"bench: {name}")
    print(f"[bench] {name} …", flush=True)
    try:
        value = work()
    except Exception as exc:  # recorded, reported, and the exit status says so
        results["sections"][name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
        print(f"[bench] {name} FAILED: {exc}", flush=True)
        bar.update()
        return None
    value["seconds"] = round(time.perf_counter() - started, 1)
    results["sections"][name] = value
    print(f"[bench] {name} done in {value['seconds']} s", flush=True)
    bar.update()
    return value


def _targets(quick: bool, results: dict[str, Any]) -> list[Target]:
    """The served collections: seeds (quick) or the 182 documents, each lexical-only and hybrid with the bundled
    encoder (the default), and (full) the 100,000-chunk collection, with one and with two worker processes."""
    model = "bundled"
    if quick:
        seeds = sorted(corpora.SEEDS.glob("*.txt"))
        return [Target("seeds", corpora.ensure_index("seeds", seeds)),
                Target("seeds+bundled encoder", corpora.ensure_index("seeds-bundled", seeds, model), model)]
    files = corpora.small_corpus()
    targets = [Target(f"{len(files)} documents", corpora.ensure_index("small", files)),
               Target(f"{len(files)} documents+bundled encoder",
                      corpora.ensure_index("small-bundled", files, model), model)]
    big = results["sections"].get("ingest", {}).get("index_100k")
    if big:
        targets += [Target("100k chunks", Path(big)), Target("100k chunks", Path(big), workers=2)]
    return targets


def run_all(quick: bool, only: Sequence[str] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {"quick": quick, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                               "machine": _machine(), "sections": {}}
    # the Ray cluster's sections start nodes (builds, replicas: minutes even small): full runs only, unless named
    wanted = set(only or ("ingest", "encoder", "serving", "breakdown", "vectors", "competitors", "incremental",
                          *(() if quick else ("distributed", "replicas")), "soak"))
    started = time.perf_counter()
    bar = tqdm(total=len(wanted), unit="section", file=sys.stderr, disable=not sys.stderr.isatty())

    if "ingest" in wanted:
        from bench import ingest

        _section(bar, results, "ingest", lambda: ingest.run(quick))  # full mode also builds the 100k-chunk index
    if "encoder" in wanted:
        from bench import encoder

        _section(bar, results, "encoder", lambda: encoder.run(quick))
    targets = _targets(quick, results) if wanted & {"serving", "breakdown", "soak"} else []
    questions = dev_questions()
    if "serving" in wanted:
        _section(bar, results, "serving", lambda: serving.run(quick, targets))
    if "breakdown" in wanted:
        picked = {(t.name, t.index, t.model): None for t in targets if t.workers == 1}
        _section(bar, results, "breakdown", lambda: breakdown.run(list(picked), questions, quick))
    if "vectors" in wanted:
        from bench import vectors

        _section(bar, results, "vectors", lambda: vectors.run(quick))
    if "competitors" in wanted:
        from bench import competitors

        _section(bar, results, "competitors", lambda: competitors.run(quick))
    if "incremental" in wanted:
        from bench import incremental

        _section(bar, results, "incremental", lambda: incremental.run(quick))
    if "distributed" in wanted:
        from bench import distributed

        _section(bar, results, "distributed", lambda: distributed.run(quick))  # its own Ray cluster on loopback
    if "replicas" in wanted:
        from bench import replicas

        _section(bar, results, "replicas", lambda: replicas.run(quick))  # uvicorn workers and Ray Serve, 1 and 2
    if "soak" in wanted:
        hybrid = next(t for t in targets if t.model is not None)
        _section(bar, results, "soak", lambda: {**soak.soak(hybrid.index, SOAK_SECONDS[quick], hybrid.model),
                                           "collection": hybrid.name})
    bar.close()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    return results


def render(results: dict[str, Any]) -> str:
    from bench import summary

    parts = [f"# tracuu benchmarks ({'quick' if results['quick'] else 'full'})", "",
             f"Run {results['started']} on {results['machine']['cpus']} CPUs, Python {results['machine']['python']}; "
             f"load average at start {results['machine']['load_average_at_start'][0]:.2f}; "
             f"total {results['total_seconds']:.0f} s.", "", summary.render(results)]
    renderers = {"ingest": "bench.ingest", "encoder": "bench.encoder", "serving": "bench.serving",
                 "breakdown": "bench.breakdown", "vectors": "bench.vectors", "competitors": "bench.competitors",
                 "soak": "bench.soak", "incremental": "bench.incremental", "distributed": "bench.distributed",
                 "replicas": "bench.replicas"}
    import importlib

    for name, section in results["sections"].items():
        if "error" in section:
            parts.append(f"## {name}: FAILED\n\n```\n{section['error']}\n```\n")
            continue
        parts.append(importlib.import_module(renderers[name]).render(section))
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seeds only, short loops (< 2 min)")
    parser.add_argument("--only", nargs="*", help="run these sections only (ingest encoder serving breakdown "
                                                  "vectors competitors incremental distributed soak)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = run_all(args.quick, args.only)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "quick" if args.quick else "full"
    if args.only:
        stem += "-" + "-".join(args.only)
    (args.out / f"{stem}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    text = render(results)
    (args.out / f"{stem}.md").write_text(text, encoding="utf-8")
    print(text)
    failed = [name for name, section in results["sections"].items() if "error" in section]
    if failed:
        print(f"[bench] failed sections: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
