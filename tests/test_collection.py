"""Adding, replacing, deleting and re-ingesting documents; filters; crash safety of a write."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.collection import BuildSettings, Collection
from index.errors import IndexMismatch
from index.search import SearchFilters
from tests.conftest import DOCUMENTS, REPO_ROOT

SEEDS = sorted(DOCUMENTS.glob("*.txt"))


def _files(paths: list[Path]) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in paths]


def test_add_replace_delete_and_noop(tmp_path: Path) -> None:
    collection = Collection.open(tmp_path / "idx")
    first = collection.ingest(_files(SEEDS[:2]))
    assert sorted(first.added) == [p.name for p in SEEDS[:2]]
    again = collection.ingest(_files(SEEDS[:2]))
    assert again.unchanged == [p.name for p in SEEDS[:2]] and not again.added and not again.replaced
    generation = collection.store.generation
    assert collection.store.generation == generation  # a no-op re-ingest writes nothing

    changed = SEEDS[0].read_text(encoding="utf-8") + "\nPhấn đấu trồng mới 500 ha cây ăn quả chất lượng cao."
    report = collection.ingest([(SEEDS[0].name, changed.encode("utf-8"))])
    assert report.replaced == [SEEDS[0].name]
    hits = collection.searcher().search("trồng mới 500 ha cây ăn quả", k=3)
    assert hits and "500 ha cây ăn quả" in hits[0].chunk.text
    assert collection.store.counts()[0] == 2

    doc_id = hits[0].document.id
    assert collection.remove([doc_id]) == [doc_id]
    assert collection.store.counts()[0] == 1
    assert all(h.document.id != doc_id for h in collection.searcher().search("cây ăn quả", k=50))
    assert collection.remove([doc_id]) == []


def test_a_rejected_file_does_not_stop_the_batch(tmp_path: Path) -> None:
    collection = Collection.open(tmp_path / "idx")
    collection.ingest(_files(SEEDS[:1]))
    report = collection.ingest([("empty.txt", b""), ("bad.exe", b"MZ"), *_files(SEEDS[1:2])])
    assert {r["source"] for r in report.rejected} == {"empty.txt", "bad.exe"}
    assert report.added == [SEEDS[1].name]
    assert collection.store.counts()[0] == 2  # nothing already indexed was lost


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Collection:
    collection = Collection.open(tmp_path_factory.mktemp("filters"))
    collection.ingest(_files(SEEDS))
    return collection


@pytest.mark.parametrize(
    ("filters", "expected_localities"),
    [
        (SearchFilters(locality="Bình Lục"), {"Bình Lục"}),
        (SearchFilters(locality="binh luc"), {"Bình Lục"}),
        (SearchFilters(province="Hải Phòng"), {"Vĩnh Bảo"}),
        (SearchFilters(level="tỉnh"), {"Bắc Giang"}),
        (SearchFilters(doc_type="Thông báo"), {"Thường Xuân"}),
        (SearchFilters(year=2022), {"Bình Lục"}),
        (SearchFilters(year_from=2024), {"Bình Giang", "Bắc Giang", "Vĩnh Bảo", "Thường Xuân"}),
        (SearchFilters(year_to=2023), {"Bình Lục", "Vĩnh Bảo"}),
    ],
)
def test_each_filter(seeded: Collection, filters: SearchFilters, expected_localities: set[str]) -> None:
    hits = seeded.searcher().search("kinh tế xã hội", k=100, filters=filters)
    assert {h.document.meta.locality for h in hits} == expected_localities


def test_document_id_filter(seeded: Collection) -> None:
    target = seeded.store.documents()[0].id
    hits = seeded.searcher().search("nhiệm vụ", k=50, filters=SearchFilters(document_id=target))
    assert hits and {h.document.id for h in hits} == {target}


def test_filter_matching_nothing_returns_nothing(seeded: Collection) -> None:
    assert seeded.searcher().search("hộ nghèo", filters=SearchFilters(province="Cà Mau")) == []


def test_k_larger_than_the_collection(seeded: Collection) -> None:
    hits = seeded.searcher().search("năm", k=100_000)
    assert 0 < len(hits) <= len(seeded.searcher().chunks)


def test_opening_with_other_chunking_says_how_to_rebuild(seeded: Collection) -> None:
    from corpus.chunk import ChunkSettings

    with pytest.raises(IndexMismatch, match="--rebuild"):
        Collection.open(seeded.directory, BuildSettings(chunking=ChunkSettings(max_tokens=100)))


def test_manifest_describes_the_index(seeded: Collection) -> None:
    manifest = seeded.manifest()
    assert manifest is not None
    assert manifest["documents"] == 5 and manifest["chunks"] == len(seeded.searcher().chunks)
    assert manifest["store_generation"] == seeded.store.generation
    assert manifest["chunking"]["token_counter"] == "estimate"
    assert {"bm25s", "numpy", "python"} <= set(manifest["versions"])


_INGEST = """
import sys
from pathlib import Path
from index.collection import Collection
collection = Collection.open(Path(sys.argv[1]))
print("ready", flush=True)
collection.ingest_paths(sorted(Path(sys.argv[2]).glob("*.txt")))
print("done", flush=True)
"""


def _consistent(directory: Path) -> tuple[int, int]:
    """Reopen after a crash: store, lexical index and manifest agree, and search works."""
    collection = Collection.open(directory)
    docs, chunks = collection.store.counts()
    searcher = collection.searcher()
    assert len(searcher.chunks) == chunks == searcher.lexical.size
    assert len(searcher.documents) == docs
    assert {c.document_id for c in searcher.chunks} <= {d.id for d in searcher.documents}
    manifest = collection.manifest()
    assert manifest is not None and manifest["store_generation"] == collection.store.generation
    for chunk in searcher.chunks[:: max(1, chunks // 50)]:
        text = collection.store.document_text(chunk.document_id)
        assert text is not None and text[chunk.start:chunk.end] == chunk.text
    if docs:
        assert searcher.search("kinh tế xã hội", k=5)
    collection.store.close()
    return docs, chunks


@pytest.mark.parametrize("delay", [0.5, 2.0, 4.0])
def test_killed_ingest_leaves_a_usable_index(tmp_path: Path, delay: float) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    for copy in range(8):  # 40 documents: long enough to be killed in the middle
        for seed in SEEDS:
            (batch / f"{copy:02d}-{seed.name}").write_bytes(seed.read_bytes())
    directory = tmp_path / "idx"
    base = Collection.open(directory)
    base.ingest(_files(SEEDS[:2]))
    base.store.close()

    proc = subprocess.Popen([sys.executable, "-c", _INGEST, str(directory), str(batch)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    docs, _ = _consistent(directory)
    assert docs in (2, 42), f"a crash left {docs} documents: neither the old state nor the new"
    rerun = Collection.open(directory)
    rerun.ingest_paths(sorted(batch.glob("*.txt")))
    rerun.store.close()
    assert _consistent(directory)[0] == 42


def test_health_of_manifest_json_is_readable(seeded: Collection) -> None:
    live = (seeded.directory / "CURRENT").read_text()
    data = json.loads((seeded.directory / live / "manifest.json").read_text(encoding="utf-8"))
    assert data["format_version"] == 2
