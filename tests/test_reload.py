"""A server sees writes made by another process (the CLI, another worker) without restarting."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import collection as collection_module
from index.collection import Collection

DOCS = Path(__file__).resolve().parents[1] / "corpus" / "documents"


def test_a_second_writer_is_seen_after_the_check_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collection_module, "RELOAD_CHECK_S", 0.0)
    files = sorted(DOCS.glob("*.txt"))
    server_view = Collection.open(tmp_path / "ix")
    server_view.ingest_paths(files[:1])
    assert {d.source for d in server_view.searcher().documents} == {files[0].name}

    cli = Collection.open(tmp_path / "ix")  # another process's view of the same folder
    cli.ingest_paths(files[1:2])
    seen = server_view.searcher()
    assert {d.source for d in seen.documents} == {files[0].name, files[1].name}
    assert seen.lexical.size == len(seen.chunks)  # chunks and BM25 come from the same generation

    cli.remove([d.id for d in cli.store.documents() if d.source == files[0].name])
    assert {d.source for d in server_view.searcher().documents} == {files[1].name}


def test_within_the_interval_the_snapshot_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collection_module, "RELOAD_CHECK_S", 3600.0)
    files = sorted(DOCS.glob("*.txt"))
    view = Collection.open(tmp_path / "ix")
    view.ingest_paths(files[:1])
    first = view.searcher()
    Collection.open(tmp_path / "ix").ingest_paths(files[1:2])
    assert view.searcher() is first  # no file read per request within the interval


def test_a_replica_keeps_its_snapshot_when_the_new_generation_cannot_be_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process's garbage collection can remove a generation while a replica loads it: that replica's
    requests keep the snapshot they had, and the next check after the interval loads what is live then."""
    monkeypatch.setattr(collection_module, "RELOAD_CHECK_S", 0.0)
    files = sorted(DOCS.glob("*.txt"))
    replica = Collection.open(tmp_path / "ix")
    replica.ingest_paths(files[:1])
    served = replica.searcher()
    before = replica.served_generation
    Collection.open(tmp_path / "ix").ingest_paths(files[1:2])

    def vanished(*_: object, **__: object) -> None:
        raise FileNotFoundError("gen-…/lexical/meta.json")

    monkeypatch.setattr(replica, "_load_searcher", vanished)
    assert replica.searcher() is served and replica.served_generation == before
    monkeypatch.undo()
    monkeypatch.setattr(collection_module, "RELOAD_CHECK_S", 0.0)
    assert {d.source for d in replica.searcher().documents} == {files[0].name, files[1].name}
    assert replica.served_generation == (tmp_path / "ix" / "CURRENT").read_text().strip() != before
