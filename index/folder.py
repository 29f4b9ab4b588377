"""The layout of an index folder, in one place: store, live pointer, generation folders, manifest, writer lock.

Layout::

    INDEX_DIR/store.sqlite          documents, chunks, metadata (the truth)
    INDEX_DIR/CURRENT               name of the live generation folder
    INDEX_DIR/gen-000007-…/         manifest.json, diacritics.json, lexical/ (and dense/ when a model is loaded)
    INDEX_DIR/gen-…/lexical/        segments.json, tombstones.npy, seg-<id>/ (see :mod:`index.lexical`)
    INDEX_DIR/.write.lock           flock held by the one writer (any thread, any process)

A write commits to SQLite in one transaction, then builds a new generation
folder beside the live one (:meth:`IndexFolder.staging`) and switches
``CURRENT`` with an atomic rename (:meth:`IndexFolder.publish`). A crash
anywhere leaves either the old generation live or a store whose generation the
live folder does not match. Most writes build the new generation from the live
one (:mod:`index.increment`): lexical segment files, written once and never
changed, are hard-linked into it rather than copied, so dropping an old
generation only drops links. :mod:`index.collection` and :mod:`index.snapshot`
both read the layout through this module.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata as pkg_metadata
from pathlib import Path

from index.encoders import EmbedderInfo
from index.errors import IndexMismatch

FORMAT_VERSION = 3  # 2: indicator records in the store; 3: embeddings keyed by text hash, diacritics.json
KEEP_GENERATIONS = 2
STORE_NAME = "store.sqlite"
POINTER_NAME = "CURRENT"
MANIFEST_NAME = "manifest.json"
SETTINGS_KEYS = ("chunking", "tokenizer", "context_headers")


class IndexFolder:
    """Paths, the live generation, publishing a new one, and the writer lock of one index folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._thread_lock = threading.RLock()

    @property
    def store_path(self) -> Path:
        return self.directory / STORE_NAME

    def live_dir(self) -> Path | None:
        """The generation folder ``CURRENT`` names, or None when there is none yet (or it vanished)."""
        pointer = self.directory / POINTER_NAME
        if not pointer.exists():
            return None
        name = pointer.read_text().strip()
        live = self.directory / name
        return live if name and live.is_dir() else None

    def manifest(self) -> dict[str, object] | None:
        live = self.live_dir()
        return read_manifest(live) if live is not None else None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One writer at a time, across threads and processes (an flock on the index folder)."""
        with self._thread_lock, open(self.directory / ".write.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def staging(self) -> Path:
        """A fresh folder name to build the next generation in (removed as garbage if a crash leaves it)."""
        return self.directory / f"staging-{time.time_ns()}.tmp"

    def publish(self, staging: Path, generation: int, manifest: dict[str, object]) -> Path:
        """Write the manifest, rename the staging folder to a generation folder and make it live atomically."""
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        folder = self.directory / f"gen-{generation:06d}-{time.time_ns()}"
        os.replace(staging, folder)
        pointer_tmp = self.directory / f"{POINTER_NAME}.tmp"
        pointer_tmp.write_text(folder.name)
        os.replace(pointer_tmp, self.directory / POINTER_NAME)
        return folder

    def collect_garbage(self, live: Path) -> None:
        """Keep the newest generations (a reader may still hold the previous one); drop crash leftovers."""
        gens = sorted((p for p in self.directory.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in gens[:-KEEP_GENERATIONS]:
            if old != live:
                shutil.rmtree(old, ignore_errors=True)
        for leftover in self.directory.glob("staging-*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)


def read_manifest(generation_dir: Path) -> dict[str, object] | None:
    try:  # no exists() check first: another process's garbage collection may remove it between the two
        return dict(json.loads((generation_dir / MANIFEST_NAME).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def rebuild_hint(directory: Path) -> str:
    return f"tracuu index build --corpus DIR --index {directory} --rebuild"


def check_manifest(manifest: dict[str, object], settings: dict[str, object], embedder: EmbedderInfo | None,
                   directory: Path) -> None:
    """Refuse an index built another way than this process would build it, naming the command that rebuilds."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(
            f"index at {directory} has format {manifest.get('format_version')}, this tracuu writes "
            f"{FORMAT_VERSION}; rebuild it: {rebuild_hint(directory)}"
        )
    for key in SETTINGS_KEYS:
        if manifest.get(key) != settings[key]:
            raise IndexMismatch(f"index at {directory} was built with {key}={manifest.get(key)}, not {settings[key]}; "
                                f"rebuild it: {rebuild_hint(directory)}")
    built_dense = manifest.get("dense")
    if embedder and isinstance(built_dense, dict):
        for key in ("model", "dimension"):
            if built_dense.get(key) != getattr(embedder, key):
                raise IndexMismatch(
                    f"index at {directory} holds vectors from {key}={built_dense.get(key)}, but the "
                    f"configured model has {getattr(embedder, key)}; rebuild it with the model set: "
                    f"TRACUU_EMBED_MODEL=... {rebuild_hint(directory)}"
                )


def versions() -> dict[str, str]:
    """Versions of what builds an index, recorded in its manifest."""
    names = ("tracuu", "bm25s", "numpy", "faiss-cpu", "sentence-transformers", "pyvi")
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = pkg_metadata.version(name)
        except pkg_metadata.PackageNotFoundError:
            continue
    return found


def fingerprint(hashes: list[str]) -> str:
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:16]
