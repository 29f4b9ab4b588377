"""The collections the benchmarks serve, built once under var/bench and reused while their inputs are unchanged.

- ``small``: corpus/documents (5 seeds) + ../shared/data/gov-docs-2004-2010 (177) when present;
- ``small-tiny``: the same with the tiny test encoder, so the dense leg and FAISS run for real;
- the 100,000-chunk collection comes from :func:`bench.ingest.ensure_index_100k`.

A marker file records what an index was built from; a changed input or a
changed FORMAT_VERSION rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from eval.paths import REPO_ROOT
from eval.runner import seed_embeddings
from index.collection import Collection
from index.encoders import load_embedder
from index.folder import FORMAT_VERSION, STORE_NAME
from index.store import ChunkStore

BENCH_DIR = REPO_ROOT / "var" / "bench"
SEEDS = REPO_ROOT / "corpus" / "documents"
SHARED_DOCS = REPO_ROOT.parent / "shared" / "data" / "gov-docs-2004-2010"
MARKER = "bench-input.json"


def small_corpus() -> list[Path]:
    """The seeds plus the 177 shared documents (just the seeds when ../shared is absent)."""
    files = sorted(SEEDS.glob("*.txt"))
    if SHARED_DOCS.is_dir():
        files += sorted(SHARED_DOCS.glob("*.txt"))
    return files


def tiny_model() -> Path:
    """The random-weight test encoder (tests/tiny_model.py), built once."""
    folder = BENCH_DIR / "tiny-model"
    model = folder / "tiny-st"
    if not (model / "modules.json").exists():
        from index.encoders.tiny import build_tiny_model

        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        model = build_tiny_model(folder)
    return model


def _input_key(files: list[Path], model: Path | str | None) -> str:
    digest = hashlib.sha256(f"format={FORMAT_VERSION};model={model}".encode())
    for path in files:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def ensure_index(name: str, files: list[Path], model: Path | str | None = None) -> Path:
    """An index folder over ``files`` (with ``model`` for the dense leg), rebuilt only when its inputs changed.

    Embeddings the evaluation already computed for the same texts (``var/eval``) are copied in first, so the
    bundled encoder encodes only what neither has seen.
    """
    folder = BENCH_DIR / f"index-{name}"
    key = _input_key(files, model)
    marker = folder / MARKER
    if marker.exists() and json.loads(marker.read_text()).get("key") == key:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    embedder, status = load_embedder(str(model) if model else "none")
    if model is not None and embedder is None:
        raise RuntimeError(f"encoder {model} did not load: {status}")
    if embedder is not None:
        ChunkStore(folder / STORE_NAME).close()
        for cached in sorted((REPO_ROOT / "var" / "eval").glob("*")):
            seed_embeddings(folder / STORE_NAME, cached)
    Collection.open(folder, embedder=embedder, dense_status=status).ingest_paths(files)
    marker.write_text(json.dumps({"key": key, "files": len(files), "model": str(model) if model else None}))
    return folder
