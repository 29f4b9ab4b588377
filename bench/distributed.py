"""Builds on a Ray cluster with the bundled encoder: chunks/s on 1 node and on 2, CPU-seconds per chunk, and what one
batch's round trip costs, at a small scale (about 300 chunks, 120 in quick mode) so the section stays in minutes.

The same files are built three times into fresh folders: by one process (``Collection.ingest_paths`` here, the
encoder loaded and warmed first), then by ``tracuu index build --ray`` in a subprocess on a cluster started here
(:class:`bench.cluster.LocalCluster`) with the head alone (127.0.0.2), then with a worker node added (127.0.0.3),
2 CPUs each. Both nodes share this machine's cores: two nodes cannot be twice as fast here, and the CPU-seconds per
chunk say what a node would add on a machine of its own. Figures per build:

- *pipeline chunks/s*: passages encoded ÷ the build's own time, from the first file sent to the last row written
  (actors load and warm their encoder before it starts; parse workers load the tokenizer within it);
- *end to end*: chunks ÷ the whole command's wall time (start, connection, actors loading, publishing);
- *CPU-s per chunk*: CPU time in parse tasks, encode calls and the driver ÷ chunks encoded, and the same with
  the Ray daemons' CPU (GCS, raylets, agents) over the build added;
- *per-batch overhead*: a batch of one passage sent 30 times to an encoder actor, round trip less the time
  the actor spent encoding it (median), and the same for an empty batch.

    python -m bench.distributed [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.cluster import LocalCluster, descendants
from bench.generate import load_sources, variant
from bench.stats import emit, ratio
from eval.paths import REPO_ROOT

SEEDS = sorted((REPO_ROOT / "corpus" / "documents").glob("*.txt"))
# by the estimate the generator counts with; the bundled tokenizer cuts about 4 chunks where it counts 5
# (the seeds: 291 by estimate, 229 with the bundled encoder), so about 120 and 300 chunks are built
TARGET_ESTIMATED_CHUNKS = {True: 150, False: 380}
PROBE_CALLS = 30
BUILD_TIMEOUT_S = 600


def make_corpus(folder: Path, quick: bool) -> list[Path]:
    """The seeds, then variants of them (bench.generate), until the target number of chunks by estimate."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = [s for s in load_sources(SEEDS) if s.chunks > 0]
    chunks, number = 0, 0
    while chunks < TARGET_ESTIMATED_CHUNKS[quick]:
        source = sources[number % len(sources)]
        if number < len(sources):
            (folder / source.path.name).write_bytes(source.path.read_bytes())
        else:
            (folder / f"variant-{number:02d}-{source.path.name}").write_text(variant(source, 5, number), "utf-8")
        chunks, number = chunks + source.chunks, number + 1
    return sorted(folder.iterdir())


def single_process(files: list[Path], index: Path) -> dict[str, Any]:
    from index.collection import Collection
    from index.encoders import load_embedder

    embedder, status = load_embedder(None)
    if embedder is None:
        raise RuntimeError(f"the bundled encoder is unavailable: {status}")
    embedder.encode_passages(["passage"] * 64)  # the bulk encoder loaded, as the actors do before the build
    collection = Collection.open(index, embedder=embedder)
    started, cpu = time.perf_counter(), time.process_time()
    collection.ingest_paths(files)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    chunks = collection.store.counts()[1]
    collection.store.close()
    return {"chunks": chunks, "seconds": round(seconds, 2), "chunks_per_s": round(chunks / seconds, 2),
            "cpu_s_per_chunk": round(cpu / chunks, 4)}


def _cpu_seconds(processes: set[tuple[int, int]]) -> dict[tuple[int, int], float]:
    ticks, found = os.sysconf("SC_CLK_TCK"), {}
    for pid, started in processes:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[19]) == started:
            found[(pid, started)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def on_cluster(cluster: LocalCluster, corpus: Path, index: Path) -> dict[str, Any]:
    """``tracuu index build --ray`` in a subprocess; the Ray daemons' CPU read from /proc before and after."""
    daemons = set().union(*(descendants(node.process.pid) for node in (cluster.head, *cluster.workers)))
    before = _cpu_seconds(daemons)
    env = {**os.environ, **cluster.env}
    env.pop("TRACUU_EMBED_MODEL", None)  # the bundled encoder
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "service.cli", "index", "build", "--corpus", str(corpus), "--index",
                           str(index), "--ray", cluster.address, "--json"], cwd=REPO_ROOT, env=env, text=True,
                          capture_output=True, timeout=BUILD_TIMEOUT_S)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"tracuu index build --ray failed ({done.returncode}): {done.stderr[-2000:]}")
    after = _cpu_seconds(daemons)
    ray_cpu = sum(after[p] - before[p] for p in before.keys() & after.keys())
    summary = json.loads(done.stdout)
    stats, chunks = summary["cluster"], summary["chunks"]
    work = stats["worker_cpu_seconds"] + stats["driver_cpu_seconds"]
    encoded = max(1, stats["encoded"])
    return {"nodes": stats["nodes"], "actors": stats["actors"], "chunks": chunks, "encoded": stats["encoded"],
            "batches": stats["batches"], "seconds": round(stats["seconds"], 2), "wall_s": round(wall, 2),
            "chunks_per_s": round(stats["encoded"] / stats["seconds"], 2), "end_to_end_chunks_per_s":
            round(chunks / wall, 2), "cpu_s_per_chunk": round(work / encoded, 4),
            "cpu_s_per_chunk_with_ray": round((work + ray_cpu) / encoded, 4),
            "encode_s_per_chunk": round(stats["encode_seconds"] / encoded, 4)}


def probe(address: str, calls: int = PROBE_CALLS) -> dict[str, Any]:
    """Run in a subprocess (the cluster's environment): one encoder actor, batches of one passage and of none."""
    import numpy as np
    import ray

    from index.encoders import load_embedder
    from index.ray_work import EncoderActor, connected, encoder_spec

    embedder, _ = load_embedder(None)
    assert embedder is not None
    with connected(address):
        actor: Any = ray.remote(EncoderActor).options(num_cpus=1).remote(encoder_spec(embedder.info), 1, embedder.info)
        ray.get(actor.ready.remote())
        found: dict[str, float] = {}
        for name, batch in (("one_passage", ["Tỷ lệ hộ nghèo giảm còn 3,7%."]), ("empty", [])):
            overheads = []
            for _ in range(calls):
                started = time.perf_counter()
                _, inside, _ = ray.get(actor.encode.remote(batch))
                overheads.append(time.perf_counter() - started - inside)
            found[f"{name}_overhead_ms"] = round(float(np.median(overheads)) * 1000, 2)
        ray.kill(actor)
    return found


def _probe(cluster: LocalCluster) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.distributed", "--probe", cluster.address], cwd=REPO_ROOT,
                          env={**os.environ, **cluster.env}, text=True, capture_output=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"probe failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(quick: bool) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tracuu-bench-ray-") as tmp:
        files = make_corpus(Path(tmp) / "corpus", quick)
        single = single_process(files, Path(tmp) / "single")
        with LocalCluster(workers=0) as cluster:
            one = on_cluster(cluster, Path(tmp) / "corpus", Path(tmp) / "one-node")
            overhead = _probe(cluster)
            cluster.add_worker()
            two = on_cluster(cluster, Path(tmp) / "corpus", Path(tmp) / "two-nodes")
            cluster.remember()
    return {"quick": quick, "files": len(files), "single": single, "one_node": one, "two_nodes": two,
            "overhead": overhead, "ratio_two_to_one": ratio(two["chunks_per_s"], one["chunks_per_s"]),
            "ratio_one_node_to_single": ratio(one["chunks_per_s"], single["chunks_per_s"]),
            "cpus": os.cpu_count(), "seconds": round(time.perf_counter() - started, 1)}


def render(result: dict[str, Any]) -> str:
    lines = [f"## Distributed build on Ray ({'quick' if result['quick'] else 'full'})", "",
             f"The bundled encoder over {result['single']['chunks']} chunks; the nodes share this machine's "
             f"{result['cpus']} cores (2 logical CPUs each: one encoder actor with 1 thread, one parse slot).", "",
             "| build | chunks/s (pipeline) | chunks/s (end to end) | CPU-s per chunk | with Ray daemons | "
             "encode s per chunk | batches |", "|---|---:|---:|---:|---:|---:|---:|"]
    single = result["single"]
    lines.append(f"| one process (2 threads) | {single['chunks_per_s']} | – | {single['cpu_s_per_chunk']} | – | – "
                 "| – |")
    for name, key in (("Ray, 1 node", "one_node"), ("Ray, 2 nodes", "two_nodes")):
        r = result[key]
        lines.append(f"| {name} ({r['actors']} actor{'s' if r['actors'] > 1 else ''}) | {r['chunks_per_s']} | "
                     f"{r['end_to_end_chunks_per_s']} | {r['cpu_s_per_chunk']} | {r['cpu_s_per_chunk_with_ray']} | "
                     f"{r['encode_s_per_chunk']} | {r['batches']} |")
    overhead = result["overhead"]
    lines += ["", f"2 nodes ÷ 1 node: {result['ratio_two_to_one']}; 1 node ÷ one process: "
              f"{result['ratio_one_node_to_single']}. Per-batch overhead (an actor call's round trip less its "
              f"encoding, median of {PROBE_CALLS}): {overhead['one_passage_overhead_ms']} ms with one passage, "
              f"{overhead['empty_overhead_ms']} ms empty.", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 120 chunks")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    parser.add_argument("--probe", metavar="ADDRESS", help=argparse.SUPPRESS)  # the overhead probe's subprocess
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe)))
        return 0
    return emit(run(args.quick), render, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
