"""The ``tracuu`` command line: parse, index, search, serve, eval.

Subcommands print JSON with ``--json`` (ensure_ascii=False, so Vietnamese
stays readable) and exit non-zero with a one-line message on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.errors import TracuuError
from corpus.load import SUPPORTED_SUFFIXES
from index.errors import IndexMismatch
from index.search import MODES
from service.settings import get_settings

if TYPE_CHECKING:
    from index.collection import Collection


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def cmd_parse(args: argparse.Namespace) -> int:
    from corpus.pipeline import parse_path

    doc = parse_path(Path(args.file))
    meta = asdict(doc.meta)
    meta["years"] = list(meta["years"])
    out = {
        "id": doc.id, "source": doc.source, **meta,
        "sections": [asdict(s) for s in doc.sections],
        "chunks": [{"id": c.id, "section": c.section, "start": c.start, "end": c.end, "text": c.text}
                   for c in doc.chunks],
    }
    if args.json:
        _print_json(out)
    else:
        print(f"{doc.source}: {meta['doc_type']} {meta['number']} — {meta['issuer']} ({meta['issued_date']})")
        print(f"  {len(doc.sections)} sections, {len(doc.chunks)} chunks")
    return 0


class ProgressBars:
    """tqdm bars on stderr, one per stage the writer reports (files parsed, chunks encoded): count, rate, time left."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(what)
        if bar is None:
            bar = self.bars[what] = tqdm(total=total, desc=what, unit=what.split()[0][:-1] or "item",
                                         file=sys.stderr, disable=not sys.stderr.isatty(), dynamic_ncols=True)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


def _open(index_dir: Path) -> Collection:
    from service.deps import open_collection

    return open_collection(get_settings().model_copy(update={"index_dir": index_dir}))


def cmd_index_build(args: argparse.Namespace) -> int:
    """Make the index reflect the corpus folder: add new and changed files, drop files no longer there."""
    index_dir = Path(args.index)
    if args.rebuild and index_dir.exists():
        import shutil

        shutil.rmtree(index_dir)
    try:
        collection = _open(index_dir)
    except IndexMismatch as exc:
        # The corpus folder is at hand, so an index built by another version is simply rebuilt.
        print(f"tracuu: {exc}; rebuilding from {args.corpus}", file=sys.stderr)
        import shutil

        shutil.rmtree(index_dir)
        collection = _open(index_dir)
    files = corpus_files(Path(args.corpus))
    bars = collection.writer.progress = ProgressBars()
    try:
        report = collection.ingest_paths(files)
    finally:
        bars.close()
    present = {p.name for p in files}
    stale = [d.id for d in collection.store.documents() if d.source not in present]
    removed = collection.remove(stale)
    docs, chunks = collection.store.counts()
    summary = {"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged,
               "removed": removed, "rejected": report.rejected, "documents": docs, "chunks": chunks}
    _print_json(summary) if args.json else print(
        f"index {index_dir}: {docs} documents, {chunks} chunks "
        f"(+{len(report.added)} added, {len(report.replaced)} replaced, {len(report.unchanged)} unchanged, "
        f"{len(removed)} removed, {len(report.rejected)} rejected)"
    )
    for rejected in report.rejected:
        print(f"rejected {rejected['source']}: {rejected['reason']}", file=sys.stderr)
    return 0


def cmd_index_add(args: argparse.Namespace) -> int:
    report = _open(Path(args.index)).ingest_paths([Path(f) for f in args.files])
    _print_json({"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged,
                 "rejected": report.rejected})
    return 1 if report.rejected and not (report.added or report.replaced or report.unchanged) else 0


def cmd_index_remove(args: argparse.Namespace) -> int:
    removed = _open(Path(args.index)).remove(args.document_ids)
    _print_json({"removed": removed, "not_found": [d for d in args.document_ids if d not in removed]})
    return 0 if removed else 1


def cmd_index_snapshot(args: argparse.Namespace) -> int:
    """A consistent copy of an index folder, safe to take while a server is writing to it."""
    from index.snapshot import snapshot

    info = snapshot(Path(args.index), Path(args.dest))
    summary = {"snapshot": str(args.dest), "documents": info.documents, "chunks": info.chunks,
               "store_generation": info.store_generation, "files": len(info.files),
               "bytes": sum(f.size for f in info.files)}
    _print_json(summary) if args.json else print(
        f"snapshot {args.dest}: {info.documents} documents, {info.chunks} chunks, store generation "
        f"{info.store_generation}, {len(info.files)} files checksummed in SNAPSHOT.json")
    return 0


def cmd_index_restore(args: argparse.Namespace) -> int:
    """Verify a snapshot's checksums, then put it in place as an index folder the configured model can open."""
    from index.snapshot import restore

    info = restore(Path(args.snapshot), Path(args.index), force=args.force, open_index=_open)
    summary = {"restored": str(args.index), "from": str(args.snapshot), "documents": info.documents,
               "chunks": info.chunks, "store_generation": info.store_generation}
    _print_json(summary) if args.json else print(
        f"index {args.index}: restored from {args.snapshot} ({info.documents} documents, {info.chunks} chunks, "
        f"taken {info.created_at}), every checksum verified")
    return 0


def _filters(pairs: Sequence[str]) -> dict[str, str]:
    filters = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"tracuu: --filter takes key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        filters[key] = value
    return filters


def cmd_search(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from service.routers.search import run_search
    from service.schemas import SearchRequest

    try:
        request = SearchRequest.model_validate(
            {"query": args.query, "k": args.k, "mode": args.mode, "filters": _filters(args.filter)})
    except ValidationError as exc:
        print(f"tracuu: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    result = run_search(_open(Path(args.index)), request)
    if args.json:
        _print_json(result)
        return 0
    for i, hit in enumerate(result["results"], 1):
        doc = hit["document"]
        print(f"{i}. [{hit['score']:.4f}] {doc['number'] or doc['source']} · {doc['locality']} · {hit['section']}")
        print(f"   {hit['text'][:200]}")
    return 0


def cmd_model_fetch(args: argparse.Namespace) -> int:
    """On a connected machine: download a model once and save it as a folder to carry to an offline one."""
    from sentence_transformers import SentenceTransformer

    SentenceTransformer(args.name, device="cpu").save(args.to)
    print(f"saved {args.name} to {args.to}; on the offline machine set TRACUU_EMBED_MODEL={args.to}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    os.environ["TRACUU_INDEX_DIR"] = str(args.index)
    get_settings.cache_clear()
    # Worker processes import the app factory by name; each opens the index folder read-only in its lifespan.
    uvicorn.run("service.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level=args.log_level)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracuu", description="Search Vietnamese government documents.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse one file and print its metadata, sections and chunks")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_parse)

    index = sub.add_parser("index", help="build and update an index folder").add_subparsers(dest="action",
                                                                                         required=True)
    b = index.add_parser("build", help="index every supported file of a folder")
    b.add_argument("--corpus", required=True)
    b.add_argument("--index", default=str(get_settings().index_dir))
    b.add_argument("--rebuild", action="store_true", help="start from an empty index")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_index_build)
    a = index.add_parser("add", help="add or replace documents")
    a.add_argument("files", nargs="+")
    a.add_argument("--index", default=str(get_settings().index_dir))
    a.set_defaults(func=cmd_index_add)
    r = index.add_parser("remove", help="remove documents by id")
    r.add_argument("document_ids", nargs="+")
    r.add_argument("--index", default=str(get_settings().index_dir))
    r.set_defaults(func=cmd_index_remove)
    snap = index.add_parser("snapshot", help="copy an index folder consistently, even while it is served")
    snap.add_argument("dest", help="an absent or empty folder")
    snap.add_argument("--index", default=str(get_settings().index_dir))
    snap.add_argument("--json", action="store_true")
    snap.set_defaults(func=cmd_index_snapshot)
    rest = index.add_parser("restore", help="verify a snapshot's checksums and make it the index folder")
    rest.add_argument("snapshot", help="a folder written by 'tracuu index snapshot'")
    rest.add_argument("--index", default=str(get_settings().index_dir))
    rest.add_argument("--force", action="store_true", help="replace an existing, non-empty index folder")
    rest.add_argument("--json", action="store_true")
    rest.set_defaults(func=cmd_index_restore)

    s = sub.add_parser("search", help="query an index without a server")
    s.add_argument("query")
    s.add_argument("--index", default=str(get_settings().index_dir))
    s.add_argument("-k", type=int, default=10)
    s.add_argument("--mode", default="hybrid", choices=MODES)
    s.add_argument("--filter", action="append", default=[], help="key=value, e.g. locality=Bình Lục")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)

    v = sub.add_parser("serve", help="serve the HTTP API and the web page")
    v.add_argument("--index", default=str(get_settings().index_dir))
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8000)
    v.add_argument("--workers", type=int, default=1,
                   help="server processes; each holds its own copy of the index in memory")
    v.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    v.set_defaults(func=cmd_serve)

    m = sub.add_parser("model", help="manage the embedding model").add_subparsers(dest="action", required=True)
    f = m.add_parser("fetch", help="download a sentence-transformers model into a folder (needs a network)")
    f.add_argument("name", help="e.g. intfloat/multilingual-e5-small")
    f.add_argument("--to", required=True)
    f.set_defaults(func=cmd_model_fetch)

    from eval.cli import add_eval_parser

    add_eval_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TracuuError as exc:
        print(f"tracuu: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"tracuu: no such file: {exc.filename}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
