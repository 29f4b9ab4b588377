"""``tracuu index …``: build from a folder, add, remove, snapshot and restore."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from index.distributed import RayReport, build_on_ray  # Ray itself is imported only when --ray is given
from index.errors import IndexMismatch
from index.writer import IngestReport
from service.cli_common import ProgressBars, corpus_files, open_index, print_json, require_index


def cmd_index_build(args: argparse.Namespace) -> int:
    """Make the index reflect the corpus folder: add new and changed files, drop files no longer there."""
    index_dir = Path(args.index)
    if args.rebuild and index_dir.exists():
        import shutil

        shutil.rmtree(index_dir)
    try:
        collection = open_index(index_dir)
    except IndexMismatch as exc:
        # The corpus folder is at hand, so an index built by another version is simply rebuilt.
        print(f"tracuu: {exc}; rebuilding from {args.corpus}", file=sys.stderr)
        import shutil

        shutil.rmtree(index_dir)
        collection = open_index(index_dir)
    files = corpus_files(Path(args.corpus))
    bars = collection.writer.progress = ProgressBars()
    report: IngestReport
    try:
        if args.ray:  # parsed as Ray tasks, encoded by an actor pool, written here: the same store and folder
            report = build_on_ray(collection.writer, files, args.ray)
        else:
            report = collection.ingest_paths(files)
    finally:
        bars.close()
    present = {p.name for p in files}
    stale = [d.id for d in collection.store.documents() if d.source not in present]
    removed = collection.remove(stale)
    docs, chunks = collection.store.counts()
    summary = {"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged,
               "removed": removed, "rejected": report.rejected, "documents": docs, "chunks": chunks}
    cluster = ""
    if isinstance(report, RayReport):
        summary["cluster"] = {name: getattr(report, name) for name in RayReport.CLUSTER_FIELDS}
        cluster = f"; {report.encoded} passages encoded on {report.nodes} Ray node(s)"
    print_json(summary) if args.json else print(
        f"index {index_dir}: {docs} documents, {chunks} chunks "
        f"(+{len(report.added)} added, {len(report.replaced)} replaced, {len(report.unchanged)} unchanged, "
        f"{len(removed)} removed, {len(report.rejected)} rejected)"
        + cluster
    )
    for rejected in report.rejected:
        print(f"rejected {rejected['source']}: {rejected['reason']}", file=sys.stderr)
    return 0


def cmd_index_add(args: argparse.Namespace) -> int:
    report = open_index(require_index(Path(args.index))).ingest_paths([Path(f) for f in args.files])
    print_json({"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged,
                 "rejected": report.rejected})
    return 1 if report.rejected and not (report.added or report.replaced or report.unchanged) else 0


def cmd_index_remove(args: argparse.Namespace) -> int:
    removed = open_index(require_index(Path(args.index))).remove(args.document_ids)
    print_json({"removed": removed, "not_found": [d for d in args.document_ids if d not in removed]})
    return 0 if removed else 1


def cmd_index_snapshot(args: argparse.Namespace) -> int:
    """A consistent copy of an index folder, safe to take while a server is writing to it."""
    from index.snapshot import snapshot

    info = snapshot(require_index(Path(args.index)), Path(args.dest))
    summary = {"snapshot": str(args.dest), "documents": info.documents, "chunks": info.chunks,
               "store_generation": info.store_generation, "files": len(info.files),
               "bytes": sum(f.size for f in info.files)}
    print_json(summary) if args.json else print(
        f"snapshot {args.dest}: {info.documents} documents, {info.chunks} chunks, store generation "
        f"{info.store_generation}, {len(info.files)} files checksummed in SNAPSHOT.json")
    return 0


def cmd_index_restore(args: argparse.Namespace) -> int:
    """Verify a snapshot's checksums, then put it in place as an index folder the configured model can open."""
    from index.snapshot import restore

    info = restore(Path(args.snapshot), Path(args.index), force=args.force, open_index=open_index)
    summary = {"restored": str(args.index), "from": str(args.snapshot), "documents": info.documents,
               "chunks": info.chunks, "store_generation": info.store_generation}
    print_json(summary) if args.json else print(
        f"index {args.index}: restored from {args.snapshot} ({info.documents} documents, {info.chunks} chunks, "
        f"taken {info.created_at}), every checksum verified")
    return 0
