"""Consistent copies of an index folder, taken while it is served, and their verified restore.

A snapshot holds what a server needs to answer at once, and no more::

    DEST/SNAPSHOT.json    what was copied: counts, store generation, size and sha256 of every other file
    DEST/store.sqlite     the store, through SQLite's backup API, as one self-contained file (no WAL)
    DEST/CURRENT          names the generation folder below
    DEST/gen-…/           the live generation: manifest.json, lexical/, dense/

It is taken under the collection's writer lock (an flock on the index folder),
so a write in this process or in another one (the CLI, another server worker)
lands wholly before it or wholly after it. Older generation folders and crash
leftovers are not copied. A restore checks every file against its checksum
before it writes anything, builds the index in a folder beside the target,
opens it, and only then renames it into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from pathlib import Path, PurePosixPath

from corpus.errors import TracuuError
from index.collection import Collection
from index.folder import POINTER_NAME, STORE_NAME, IndexFolder, read_manifest
from index.store import read_counts, read_generation

RECORD_NAME = "SNAPSHOT.json"
RECORD_FORMAT = "tracuu-snapshot"
RECORD_VERSION = 1
HASH_BLOCK = 1 << 20  # read files in 1 MiB pieces: a FAISS file can be gigabytes


class SnapshotError(TracuuError):
    """A snapshot that cannot be taken, or one that is damaged, incomplete or would overwrite something."""

    code = "bad_snapshot"


@dataclass(frozen=True)
class SnapshotFile:
    path: str  # relative to the snapshot folder, with "/" separators
    size: int
    sha256: str


@dataclass(frozen=True)
class SnapshotInfo:
    """The contents of ``SNAPSHOT.json``."""

    created_at: str
    store_generation: int
    manifest_store_generation: int | None  # differs from the store only for a crashed, never reopened index
    generation_folder: str
    documents: int
    chunks: int
    index_format_version: int | None
    dense: dict[str, object] | None  # which model made the vectors: restore with the same TRACUU_EMBED_MODEL
    files: tuple[SnapshotFile, ...]

    def to_json(self) -> dict[str, object]:
        return {"format": RECORD_FORMAT, "version": RECORD_VERSION, **asdict(self)}


OpenIndex = Callable[[Path], Collection]


# -- taking a snapshot ------------------------------------------------------------


def snapshot(source: Collection | Path, dest: Path) -> SnapshotInfo:
    """Copy the live state of an index folder into ``dest`` (absent or empty) and record its checksums.

    ``source`` is an open :class:`Collection` (a server taking its own snapshot) or an index folder
    (the CLI, while a server may be writing to it from another process).
    """
    _refuse_occupied(dest, "snapshot destination")
    collection = source if isinstance(source, Collection) else _collection_at(source)
    staging = _sibling(dest, "snapshot")
    try:
        with collection.exclusive():  # the lock writers hold: the store and CURRENT cannot move meanwhile
            generation, docs, chunks = _backup_store(collection.folder.store_path, staging)
            live = _live_name(collection.folder)
            shutil.copytree(collection.directory / live, staging / live)
            (staging / POINTER_NAME).write_text(live)
        manifest = json.loads((staging / live / "manifest.json").read_text(encoding="utf-8"))
        info = SnapshotInfo(
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), store_generation=generation,
            manifest_store_generation=manifest.get("store_generation"), generation_folder=live,
            documents=docs, chunks=chunks, index_format_version=manifest.get("format_version"),
            dense=manifest.get("dense"), files=_inventory(staging),
        )
        _write_record(staging, info)
        _fsync_tree(staging)
        os.replace(staging, dest)  # a reader of dest never sees a snapshot without its SNAPSHOT.json
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if collection is not source:
            collection.store.close()
    return info


def _collection_at(directory: Path) -> Collection:
    """A handle on an index folder for its lock and paths only: nothing is rebuilt, no model is loaded."""
    if not (directory / STORE_NAME).is_file():
        raise SnapshotError(f"{directory} is not an index folder: it has no store.sqlite")
    return Collection(directory)


def _live_name(folder: IndexFolder) -> str:
    live = folder.live_dir()
    if live is None or read_manifest(live) is None:
        raise SnapshotError(f"{folder.directory} has no live generation (CURRENT is missing or names nothing); "
                            f"open it once (tracuu index build, or start the server) so it is built, then retry")
    return live.name


def _backup_store(store: Path, staging: Path) -> tuple[int, int, int]:
    """Copy the store with SQLite's backup API (consistent under WAL, unlike copying the file) and count it.

    The copy is switched out of WAL mode so that it is one file whose checksum means something;
    :class:`~index.store.ChunkStore` switches it back when the restored index is opened.
    """
    staging.mkdir(parents=True)
    with closing(sqlite3.connect(store)) as live, closing(sqlite3.connect(staging / STORE_NAME)) as copy:
        live.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        docs, chunks = read_counts(copy)
        return read_generation(copy), docs, chunks


def _inventory(root: Path) -> tuple[SnapshotFile, ...]:
    return tuple(SnapshotFile(rel, (root / rel).stat().st_size, _sha256(root / rel))
                 for rel in _relative_files(root) if rel != RECORD_NAME)


def _write_record(root: Path, info: SnapshotInfo) -> None:
    text = json.dumps(info.to_json(), ensure_ascii=False, indent=2)
    (root / RECORD_NAME).write_text(text + "\n", encoding="utf-8")


# -- verifying and restoring ------------------------------------------------------


def verify(snapshot_dir: Path) -> SnapshotInfo:
    """Check every file of a snapshot against ``SNAPSHOT.json``; the error names the first bad file."""
    info = read_record(snapshot_dir)
    listed = {f.path: f for f in info.files}
    present = set(_relative_files(snapshot_dir)) - {RECORD_NAME}
    missing, extra = sorted(listed.keys() - present), sorted(present - listed.keys())
    if missing:
        raise SnapshotError(f"{snapshot_dir / missing[0]}: listed in {RECORD_NAME} but missing from the snapshot")
    if extra:
        raise SnapshotError(f"{snapshot_dir / extra[0]}: not listed in {RECORD_NAME}; the snapshot was altered")
    for entry in info.files:
        _check_file(snapshot_dir / entry.path, entry, _sha256)
    return info


def read_record(snapshot_dir: Path) -> SnapshotInfo:
    """Parse ``SNAPSHOT.json``, refusing paths that would lead out of the snapshot folder."""
    record_path = snapshot_dir / RECORD_NAME
    try:
        data = json.loads(record_path.read_text(encoding="utf-8"))
        if data.get("format") != RECORD_FORMAT or data.get("version") != RECORD_VERSION:
            raise SnapshotError(f"{record_path}: not a tracuu snapshot record of version {RECORD_VERSION}")
        files = tuple(SnapshotFile(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in data["files"])
        fields = {f.name: data[f.name] for f in dataclass_fields(SnapshotInfo) if f.name != "files"}
    except FileNotFoundError as exc:
        raise SnapshotError(f"{snapshot_dir} is not a snapshot: it has no {RECORD_NAME}") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SnapshotError(f"{record_path} is unreadable ({type(exc).__name__}: {exc})") from exc
    for entry in files:
        parts = PurePosixPath(entry.path).parts
        if not parts or PurePosixPath(entry.path).is_absolute() or ".." in parts or "\\" in entry.path:
            raise SnapshotError(f"{record_path} lists {entry.path!r}, a path outside the snapshot folder")
    if not {STORE_NAME, POINTER_NAME} <= {f.path for f in files}:
        raise SnapshotError(f"{record_path} does not list store.sqlite and CURRENT; not an index snapshot")
    return SnapshotInfo(**fields, files=files)


def restore(snapshot_dir: Path, index_dir: Path, *, force: bool = False,
            open_index: OpenIndex | None = None) -> SnapshotInfo:
    """Verify a snapshot, rebuild it beside ``index_dir``, open it, then rename it into place.

    ``open_index`` opens the restored folder the way the server will (with its model); by default
    :meth:`Collection.open` without one. A snapshot it cannot open is refused and nothing is replaced.
    With ``force`` a non-empty ``index_dir`` is replaced, but only if it is an index folder itself.
    """
    info = verify(snapshot_dir)
    if not force:
        _refuse_occupied(index_dir, "restore target", hint="; pass --force to replace it")
    elif _occupied(index_dir) and not (index_dir / STORE_NAME).exists():
        raise SnapshotError(f"restore target {index_dir} is not empty and is not an index folder; "
                            f"refusing to replace it even with --force")
    staging = _sibling(index_dir, "restore")
    try:
        staging.mkdir(parents=True)
        for entry in info.files:
            _copy_checked(snapshot_dir / entry.path, staging / entry.path, entry)
        _fsync_tree(staging)
        _check_opens(staging, info, open_index or Collection.open)
        _move_into_place(staging, index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return info


def _copy_checked(source: Path, target: Path, entry: SnapshotFile) -> None:
    """Copy one file, hashing what was read: a snapshot changed after :func:`verify` is still caught."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while block := reader.read(HASH_BLOCK):
            digest.update(block)
            writer.write(block)
    _check_file(source, entry, lambda _: digest.hexdigest())


def _check_opens(staging: Path, info: SnapshotInfo, open_index: OpenIndex) -> None:
    """Open the restored copy as the server would and compare it with the record."""
    try:
        collection = open_index(staging)
    except TracuuError as exc:
        raise SnapshotError(f"the snapshot cannot be opened with this configuration, nothing was restored: "
                            f"{exc}") from exc
    try:
        collection.searcher()  # loads the lexical and vector indexes, not only the store
        counts = collection.store.counts()
    finally:
        collection.store.close()
    if counts != (info.documents, info.chunks):
        raise SnapshotError(f"restored store holds {counts[0]} documents and {counts[1]} chunks, but "
                            f"{RECORD_NAME} says {info.documents} and {info.chunks}")


def _move_into_place(staging: Path, index_dir: Path) -> None:
    """One atomic rename onto an absent or empty folder; two renames when replacing an index (--force)."""
    if not _occupied(index_dir):
        os.replace(staging, index_dir)
        return
    replaced = _sibling(index_dir, "replaced")
    os.replace(index_dir, replaced)
    os.replace(staging, index_dir)
    shutil.rmtree(replaced, ignore_errors=True)


# -- files -------------------------------------------------------------------------


def _relative_files(root: Path) -> list[str]:
    """Every file under ``root`` as a relative POSIX path; links and other non-files are refused."""
    found = []
    for folder, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            path = Path(folder, name)
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                raise SnapshotError(f"{path}: not a plain file or folder; a snapshot holds only those")
        found += [Path(folder, name).relative_to(root).as_posix() for name in names]
    return sorted(found)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, entry: SnapshotFile, hash_of: Callable[[Path], str]) -> None:
    size = path.stat().st_size
    if size != entry.size:
        raise SnapshotError(f"{path}: {size} bytes, but {RECORD_NAME} records {entry.size}; the snapshot is damaged")
    found = hash_of(path)
    if found != entry.sha256:
        raise SnapshotError(f"{path}: sha256 {found[:16]}…, but {RECORD_NAME} records {entry.sha256[:16]}…; "
                            f"the snapshot is damaged")


def _fsync_tree(root: Path) -> None:
    """Flush every file and folder, so a snapshot or a restored index survives a power cut once renamed."""
    for folder, _, names in os.walk(root):
        for name in [*names, "."]:
            fd = os.open(Path(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _occupied(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def _refuse_occupied(path: Path, what: str, hint: str = "") -> None:
    if _occupied(path):
        raise SnapshotError(f"{what} {path} is not empty{hint}")


def _sibling(path: Path, purpose: str) -> Path:
    """A fresh folder name beside ``path``: same file system, so the final rename is atomic."""
    return path.parent / f".{path.name}.{purpose}-{time.time_ns()}.tmp"
