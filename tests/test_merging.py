"""Background merges: a write publishes its delta segment unmerged, the merge comes after it off the write's path,
serves exactly what the unmerged generation served, and is dropped when another write got there first."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pytest

from index import increment as increment_module
from index import lexical as lexical_module
from index.collection import Collection
from index.lexical import NO_MERGE, LexicalIndex, MergePolicy
from index.merging import merge_generation
from tests.test_increment import TIGHT, _served, document

EAGER = MergePolicy(max_segments=8, delta_share=0.0, dead_share=0.0)  # any delta: merge all into a new base


def _segments(index_dir: Path) -> int:
    live = index_dir / (index_dir / "CURRENT").read_text().strip()
    return len(json.loads((live / "lexical" / "segments.json").read_text(encoding="utf-8"))["segments"])


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Collection, list[tuple[Path, LexicalIndex]]]:
    """A collection whose merges are recorded, not run, under a policy that merges after every write."""
    with mock.patch.object(lexical_module, "DEFAULT_POLICY", EAGER), \
            mock.patch.object(increment_module, "OVERDUE", NO_MERGE):  # the merges wait for the test
        collection = Collection.open(tmp_path / "ix")
        collection.ingest([("a.txt", document(1, 0)), ("b.txt", document(2, 0))])
        collection.searcher()
        requests: list[tuple[Path, LexicalIndex]] = []
        collection.writer.merger.request = lambda live, lexical: requests.append((live, lexical))  # type: ignore
        yield collection, requests
        collection.store.close()


def test_the_write_publishes_its_delta_and_the_merge_serves_the_same(
        recorded: tuple[Collection, list[tuple[Path, LexicalIndex]]], tmp_path: Path) -> None:
    collection, requests = recorded
    before = _segments(tmp_path / "ix")
    collection.ingest([("c.txt", document(3, 0))])
    assert _segments(tmp_path / "ix") == before + 1  # published unmerged: the write did not pay for the merge
    assert len(requests) == 1 and requests[0][0].name == collection.served_generation
    unmerged = _served(collection.searcher())
    served_vectors = collection.searcher().dense

    assert merge_generation(collection.writer, *requests[0])
    assert _segments(tmp_path / "ix") == 1
    assert collection.served_generation != requests[0][0].name
    assert _served(collection.searcher()) == unmerged  # segments keep raw statistics: the same scores
    assert collection.searcher().dense is served_vectors or served_vectors is None
    reopened = Collection.open(tmp_path / "ix")  # another process reads the merged generation from its files
    assert _served(reopened.searcher()) == unmerged
    reopened.store.close()
    assert not list((tmp_path / "ix").glob("staging-*"))


def test_a_merge_is_dropped_when_a_write_published_first(
        recorded: tuple[Collection, list[tuple[Path, LexicalIndex]]], tmp_path: Path) -> None:
    collection, requests = recorded
    collection.ingest([("c.txt", document(3, 0))])
    collection.ingest([("d.txt", document(4, 0))])  # published before the first write's merge could be
    live = (tmp_path / "ix" / "CURRENT").read_text()
    assert not merge_generation(collection.writer, *requests[0])
    assert (tmp_path / "ix" / "CURRENT").read_text() == live
    assert not list((tmp_path / "ix").glob("staging-*"))
    assert merge_generation(collection.writer, *requests[1])  # the latest one merges
    assert {d.source for d in collection.searcher().documents} == {"a.txt", "b.txt", "c.txt", "d.txt"}


def test_the_merger_thread_merges_after_the_write(tmp_path: Path) -> None:
    with mock.patch.object(lexical_module, "DEFAULT_POLICY", TIGHT):
        collection = Collection.open(tmp_path / "ix")
        collection.ingest([("a.txt", document(1, 0)), ("b.txt", document(2, 0))])
        collection.searcher()
        for n in range(3, 7):
            collection.ingest([(f"n{n}.txt", document(n, 0))])
        collection.writer.merger.wait(timeout=60)
        assert _segments(tmp_path / "ix") <= TIGHT.max_segments
        merged = _served(collection.searcher())
        collection.rebuild()
        assert _served(collection.searcher()) == merged
        collection.store.close()


def test_a_write_merges_itself_when_background_merges_are_overdue(
        recorded: tuple[Collection, list[tuple[Path, LexicalIndex]]], tmp_path: Path) -> None:
    """Writes faster than merges would pile up segments (each merge dropped for a newer write): past twice the
    policy's bounds the write merges inline, as writes did before merges moved to the background."""
    collection, requests = recorded
    overdue = MergePolicy(max_segments=3, delta_share=100.0, dead_share=1.0)
    with mock.patch.object(increment_module, "OVERDUE", overdue):
        for n in range(3, 9):
            collection.ingest([(f"n{n}.txt", document(n, 0))])
            assert _segments(tmp_path / "ix") <= overdue.max_segments
    assert 0 < len(requests) < 6  # asked after the writes that did not merge; not after those that did
    assert {d.source for d in collection.searcher().documents} >= {f"n{n}.txt" for n in range(3, 9)}
