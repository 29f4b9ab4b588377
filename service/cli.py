"""The ``tracuu`` command line: parse, index, search, info, serve, eval.

Subcommands print JSON with ``--json`` (ensure_ascii=False, so Vietnamese
stays readable) and exit non-zero with a one-line message on bad input.
Only ``tracuu index build`` creates an index; every other command that reads
one refuses a folder that holds none (status 2) instead of making an empty one.
Output piped into a reader that stops early (``| head -1``) ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.errors import TracuuError
from index.search import MODES
from service.cli_common import open_index, print_json, require_index
from service.cli_index import (
    cmd_index_add,
    cmd_index_build,
    cmd_index_remove,
    cmd_index_restore,
    cmd_index_snapshot,
)
from service.settings import get_settings

if TYPE_CHECKING:
    pass


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
        print_json(out)
    else:
        print(f"{doc.source}: {meta['doc_type']} {meta['number']} — {meta['issuer']} ({meta['issued_date']})")
        print(f"  {len(doc.sections)} sections, {len(doc.chunks)} chunks")
    return 0


def _filters(pairs: Sequence[str]) -> dict[str, str]:
    filters = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"tracuu: --filter takes key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        filters[key] = value
    return filters


LINE_CHARS = 300  # a longer line is cut around its first matching word


def lead_text(hit: dict[str, Any]) -> str:
    """The passage's leading line as the API gives it (``lead``: the line holding most of the query, the one the
    page shows first), cut around its first marked word when it is long."""
    text, offset = hit["text"], hit["start"]
    lead = hit.get("lead") or {"start": offset, "end": hit["end"]}
    line = text[lead["start"] - offset : lead["end"] - offset]
    stripped = line.lstrip()
    shift = lead["start"] - offset + len(line) - len(stripped)
    line = stripped.rstrip()
    if len(line) <= LINE_CHARS:
        return line
    marks = [s - offset - shift for s, _ in hit.get("highlights") or () if 0 <= s - offset - shift < len(line)]
    start = max(0, min(marks[0] if marks else 0, len(line) - LINE_CHARS) - 40)
    cut = line[start : start + LINE_CHARS]
    return ("…" if start else "") + cut + ("…" if start + LINE_CHARS < len(line) else "")


def _print_hits(result: dict[str, Any], query: str) -> None:
    if result.get("understood_as"):
        print(f"(understood as: {result['understood_as']})")
    if not result["results"]:
        print("no passage matches")
    for i, hit in enumerate(result["results"], 1):
        doc = hit["document"]
        where = " · ".join(x for x in (doc["number"] or doc["source"], doc["issuer"] or doc["locality"],
                                         doc["issued_date"]) if x)
        print(f"{i}. {where}  [{hit['score']:.4f}]")
        if hit["section"]:
            print(f"   {hit['section']}")
        print(f"   » {lead_text(hit)}")


def cmd_search(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from service.routers.search import run_search
    from service.schemas import SearchRequest

    index_dir = require_index(Path(args.index))
    try:
        request = SearchRequest.model_validate(
            {"query": args.query, "k": args.k, "mode": args.mode, "filters": _filters(args.filter)})
    except ValidationError as exc:
        print(f"tracuu: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    result = run_search(open_index(index_dir), request)
    if args.json:
        print_json(result)
    else:
        _print_hits(result, args.query)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """What an index folder holds: counts by province, year and type, the encoder, the last update."""
    from service.overview import folder_overview

    info = folder_overview(require_index(Path(args.index)))
    if args.json:
        print_json(info)
        return 0
    print(f"index {args.index}: {info['documents']} documents, {info['chunks']} chunks")
    print(f"encoder: {info['encoder'] or 'none (lexical search only)'}")
    print(f"last update: {info['updated_at'] or 'unknown'}")
    sections = (
        ("by province", [(f"{r['province'] or '(unknown)'}" + (f" (now {r['province_current']})"
                                                              if r["province_current"] else ""), r["documents"])
                         for r in info["by_province"]]),
        ("by year", [(str(r["year"] or "(no year)"), r["documents"]) for r in info["by_year"]]),
        ("by type", [(r["doc_type"] or "(unknown)", r["documents"]) for r in info["by_doc_type"]]),
    )
    for title, rows in sections:
        print(f"{title}:")
        width = max((len(label) for label, _ in rows), default=0)
        for label, count in rows:
            print(f"  {label.ljust(width)}  {count:>6}")
    return 0


def cmd_model_export(args: argparse.Namespace) -> int:
    """The bundled model as a sentence-transformers folder: what torch, fine-tuning and other tools can load."""
    from index.encoders.export import export_bundled

    dest = Path(args.dest)
    if dest.exists() and any(dest.iterdir()):
        print(f"tracuu: {dest} is not empty; give a new folder", file=sys.stderr)
        return 2
    export_bundled(dest)
    print(f"exported the bundled encoder to {dest}; use it with TRACUU_EMBED_MODEL={dest}")
    return 0


def cmd_model_tune(args: argparse.Namespace) -> int:
    """Mine pairs from the collection, fine-tune, save the model and its recipe (see index.encoders.tune)."""
    import tempfile
    from dataclasses import asdict

    from index.encoders.export import export_bundled
    from index.encoders.tune import mine_pairs, tune
    from index.folder import STORE_NAME
    from index.store import ChunkStore
    from index.writer import BuildSettings, dense_text

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        print(f"tracuu: {out} is not empty; give a new folder", file=sys.stderr)
        return 2
    index_dir = require_index(Path(args.index))
    settings = BuildSettings()
    store = ChunkStore(index_dir / STORE_NAME)
    try:
        pairs = mine_pairs(store, lambda c: dense_text(c.text, c.header, settings), limit=args.pairs)
    finally:
        store.close()
    print("pairs: " + ", ".join(f"{kind} {len(v)}" for kind, v in pairs.items()), file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(args.base) if args.base else export_bundled(Path(scratch) / "base")
        recipe = tune(base, pairs, out, minutes=args.minutes)
    print_json(asdict(recipe))
    print(f"saved to {out}; use it with TRACUU_EMBED_MODEL={out}", file=sys.stderr)
    return 0


def cmd_model_fetch(args: argparse.Namespace) -> int:
    """On a connected machine: download a model once and save it as a folder to carry to an offline one."""
    from sentence_transformers import SentenceTransformer

    SentenceTransformer(args.name, device="cpu").save(args.to)
    print(f"saved {args.name} to {args.to}; on the offline machine set TRACUU_EMBED_MODEL={args.to}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    require_index(Path(args.index))
    os.environ["TRACUU_INDEX_DIR"] = str(args.index)
    get_settings.cache_clear()
    if args.ray:  # replicas on a Ray cluster (one machine or several) instead of this machine's processes
        from service.ray_serve import serve_on_ray

        serve_on_ray(Path(args.index), args.ray, args.replicas, args.host, args.port)
        return 0
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
    b.add_argument("--ray", metavar="ADDRESS|local", help="parse and encode on the Ray cluster at ADDRESS "
                                                          "(host:port), or on a local one started for the build")
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

    i = sub.add_parser("info", help="what an index holds: documents by province, year and type; encoder; last update")
    i.add_argument("--index", default=str(get_settings().index_dir))
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    v = sub.add_parser("serve", help="serve the HTTP API and the web page")
    v.add_argument("--index", default=str(get_settings().index_dir))
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8000)
    v.add_argument("--workers", type=int, default=1,
                   help="server processes; each holds its own copy of the index in memory")
    v.add_argument("--ray", metavar="ADDRESS", help="serve through Ray Serve on the cluster at ADDRESS (or 'local'): "
                   "replicas on every node; the index folder must be at the same path on each")
    v.add_argument("--replicas", type=int, default=2, help="with --ray: how many copies of the app answer")
    v.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    v.set_defaults(func=cmd_serve)

    m = sub.add_parser("model", help="manage the embedding model").add_subparsers(dest="action", required=True)
    f = m.add_parser("fetch", help="download a sentence-transformers model into a folder (needs a network)")
    f.add_argument("name", help="e.g. intfloat/multilingual-e5-small")
    f.add_argument("--to", required=True)
    f.set_defaults(func=cmd_model_fetch)
    x = m.add_parser("export-bundled", help="write the bundled multilingual e5-small as a sentence-transformers "
                                            "folder (weights dequantised from its 4-bit file, tokenizer rebuilt)")
    x.add_argument("dest", help="a folder that does not exist yet; then TRACUU_EMBED_MODEL=DEST selects it")
    x.set_defaults(func=cmd_model_export)
    t = m.add_parser("tune", help="fine-tune a sentence-transformers copy on pairs mined from an index's own "
                                  "documents (headings, indicator names, titles ↔ their passages)")
    t.add_argument("--index", required=True, help="the collection to learn from")
    t.add_argument("--out", required=True, help="a folder that does not exist yet")
    t.add_argument("--base", help="the model to start from (default: the bundled encoder, exported on the fly)")
    t.add_argument("--minutes", type=float, default=25.0, help="wall-clock budget for training (default 25)")
    t.add_argument("--pairs", type=int, default=6000, help="at most this many training pairs")
    t.set_defaults(func=cmd_model_tune)

    from eval.cli import add_eval_parser

    add_eval_parser(sub)
    return parser


def _quiet_stdout() -> None:
    """After a reader closed the pipe: send what is left to /dev/null, so the exit flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = int(args.func(args))
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not in the interpreter's exit flush
        return status
    except BrokenPipeError:  # `tracuu search … | head -1`: the reader has what it wanted
        _quiet_stdout()
        return 0
    except TracuuError as exc:
        print(f"tracuu: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"tracuu: no such file: {exc.filename}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
