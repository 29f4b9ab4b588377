"""``tracuu index snapshot`` / ``restore``: a consistent copy taken while writing, verified by checksums."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from index.collection import Collection
from index.encoders import Embedder
from index.search import Mode
from index.snapshot import RECORD_NAME, SnapshotError, SnapshotInfo, restore, snapshot, verify
from service.cli import main
from service.settings import get_settings
from tests.conftest import DOCUMENTS
from tests.test_collection import _shortened, assert_consistent

pytestmark = pytest.mark.slow  # builds indexes with an encoder and copies them

SEEDS = sorted(DOCUMENTS.glob("*.txt"))
QUERIES = ["chỉ tiêu hộ nghèo năm 2023", "thu ngân sách nhà nước", "kinh tế xã hội Bình Giang"]


@pytest.fixture(scope="module")
def source_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("source") / "idx"
    collection = Collection.open(directory)
    collection.ingest([(p.name, p.read_bytes()) for p in SEEDS])
    collection.store.close()
    return directory


@pytest.fixture(scope="module")
def taken(source_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("taken") / "snap"
    snapshot(source_index, dest)
    return dest


@pytest.fixture
def copy_of(taken: Path, tmp_path: Path) -> Path:
    """A private copy of the snapshot for a test to damage."""
    return Path(shutil.copytree(taken, tmp_path / "snap"))


def _answers(collection: Collection, mode: Mode = "hybrid") -> list[list[tuple[str, float]]]:
    return [[(h.chunk.id, round(h.score, 5)) for h in collection.searcher().search(q, k=5, mode=mode)]
            for q in QUERIES]


def _store_facts(path: Path) -> tuple[int, int, int]:
    with closing(sqlite3.connect(path)) as db:
        generation = int(db.execute("SELECT value FROM state WHERE key = 'generation'").fetchone()[0])
        docs = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    return generation, docs, chunks


# -- taking ---------------------------------------------------------------------------


def test_snapshots_taken_while_a_writer_ingests_are_consistent(tmp_path: Path) -> None:
    """Each snapshot is one state of the store: its record, its store copy and its manifest agree."""
    writer = Collection.open(tmp_path / "idx")
    writer.ingest([(f"base-{p.name}", _shortened(p)) for p in SEEDS[:1]])
    batches = [[(f"{i:02d}-{p.name}", _shortened(p))] for i in range(3) for p in SEEDS]
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for batch in batches:  # one write per document: many states for a snapshot to land between
                writer.ingest(batch)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    snapshots: list[tuple[Path, SnapshotInfo]] = []
    while (thread.is_alive() and len(snapshots) < 8) or not snapshots:
        dest = tmp_path / f"snap-{len(snapshots)}"
        # Through the folder, not the writer's object: only the flock on the index folder keeps them apart.
        snapshots.append((dest, snapshot(tmp_path / "idx", dest)))
    thread.join()
    assert not failures and len(snapshots) >= 2
    for dest, info in snapshots:
        assert _store_facts(dest / "store.sqlite") == (info.store_generation, info.documents, info.chunks)
        manifest = json.loads((dest / info.generation_folder / "manifest.json").read_text(encoding="utf-8"))
        assert (manifest["store_generation"], manifest["documents"], manifest["chunks"]) == (
            info.store_generation, info.documents, info.chunks)
        assert (dest / "CURRENT").read_text() == info.generation_folder
        assert verify(dest) == info
    generations = [info.store_generation for _, info in snapshots]
    assert generations == sorted(generations) and len(set(generations)) > 1, "no snapshot landed between writes"
    middle_dest, middle = snapshots[len(snapshots) // 2]
    restore(middle_dest, tmp_path / "restored")
    assert len(assert_consistent(tmp_path / "restored").documents) == middle.documents


def test_snapshot_record_lists_every_file_with_its_checksum(taken: Path) -> None:
    record = json.loads((taken / RECORD_NAME).read_text(encoding="utf-8"))
    assert record["format"] == "tracuu-snapshot" and record["version"] == 1
    listed = {f["path"] for f in record["files"]}
    on_disk = {p.relative_to(taken).as_posix() for p in taken.rglob("*") if p.is_file()} - {RECORD_NAME}
    assert listed == on_disk and {"store.sqlite", "CURRENT", f"{record['generation_folder']}/manifest.json"} <= listed
    assert all(len(f["sha256"]) == 64 for f in record["files"])
    assert (record["documents"], record["chunks"]) == _store_facts(taken / "store.sqlite")[1:]
    assert not list(taken.glob("store.sqlite-*")), "the store copy is one self-contained file, not WAL"


def test_snapshot_refuses_a_non_empty_destination_or_a_folder_that_is_no_index(source_index: Path,
                                                                               tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(SnapshotError, match="not empty"):
        snapshot(source_index, tmp_path / "full")
    with pytest.raises(SnapshotError, match="not an index folder"):
        snapshot(tmp_path / "full", tmp_path / "dest")
    assert (tmp_path / "full" / "keep.txt").read_text() == "x" and not (tmp_path / "dest").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["full"], "no staging folder is left behind"


# -- restoring ------------------------------------------------------------------------


def test_restored_index_answers_like_the_source(tmp_path: Path, tiny_model_dir: Path) -> None:
    from index.encoders import load_embedder

    embedder, status = load_embedder(str(tiny_model_dir))
    assert embedder is not None, status
    source = Collection.open(tmp_path / "idx", embedder=embedder)
    source.ingest([(p.name, _shortened(p)) for p in SEEDS])
    info = snapshot(source, tmp_path / "snap")
    assert info.dense is not None and info.dense["model"] == embedder.info.model

    restore(tmp_path / "snap", tmp_path / "elsewhere" / "idx", open_index=_opener(embedder))
    restored = Collection.open(tmp_path / "elsewhere" / "idx", embedder=embedder)
    assert _answers(restored) == _answers(source) and _answers(restored, "dense") == _answers(source, "dense")
    assert restored.store.generation == source.store.generation
    restored.store.close()
    assert_consistent(tmp_path / "elsewhere" / "idx", embedder)


def test_restore_refuses_a_snapshot_the_configured_model_cannot_open(tmp_path: Path, tiny_model_dir: Path) -> None:
    from index.encoders import load_embedder

    embedder, _ = load_embedder(str(tiny_model_dir))
    source = Collection.open(tmp_path / "idx", embedder=embedder)
    source.ingest([(SEEDS[0].name, _shortened(SEEDS[0]))])
    snapshot(source, tmp_path / "snap")
    with pytest.raises(SnapshotError, match="cannot be opened with this configuration.*--rebuild"):
        restore(tmp_path / "snap", tmp_path / "target")  # no model: chunked for another tokenizer
    assert [p.name for p in tmp_path.iterdir()] == ["idx", "snap"], "nothing restored, no staging left"


def _opener(embedder: Embedder) -> Callable[[Path], Collection]:
    return lambda path: Collection.open(path, embedder=embedder)


def test_restore_gives_back_the_same_store(source_index: Path, taken: Path, tmp_path: Path) -> None:
    info = restore(taken, tmp_path / "idx")
    assert _store_facts(tmp_path / "idx" / "store.sqlite") == _store_facts(source_index / "store.sqlite")
    assert info.documents == len(SEEDS)
    restored, original = Collection.open(tmp_path / "idx"), Collection.open(source_index)
    assert _answers(restored) == _answers(original)
    restored.store.close()
    original.store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"], "the staging folder was renamed, not left"


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("victim", ["store.sqlite", "CURRENT", "manifest.json", "lexical/segments.json",
                                    "lexical/seg-*/tokens.json", "lexical/seg-*/tf.npy"])
def test_a_flipped_byte_is_refused_naming_the_file(copy_of: Path, tmp_path: Path, victim: str) -> None:
    live = (copy_of / "CURRENT").read_text()
    path = copy_of / victim if victim in ("store.sqlite", "CURRENT") else next((copy_of / live).glob(victim))
    _flip_a_byte(path)
    with pytest.raises(SnapshotError, match=f"{path}: sha256 .* the snapshot is damaged"):
        restore(copy_of, tmp_path / "target")
    assert not (tmp_path / "target").exists()


def test_a_truncated_file_is_refused(copy_of: Path, tmp_path: Path) -> None:
    path = copy_of / "store.sqlite"
    path.write_bytes(path.read_bytes()[:-4096])
    with pytest.raises(SnapshotError, match=f"{path}: .* bytes, but {RECORD_NAME} records"):
        restore(copy_of, tmp_path / "target")


def test_a_missing_or_an_extra_file_is_refused(copy_of: Path, tmp_path: Path) -> None:
    manifest = copy_of / (copy_of / "CURRENT").read_text() / "manifest.json"
    manifest.rename(tmp_path / "manifest.json")
    with pytest.raises(SnapshotError, match=f"{manifest}: listed in {RECORD_NAME} but missing"):
        restore(copy_of, tmp_path / "target")
    (tmp_path / "manifest.json").rename(manifest)
    (copy_of / "store.sqlite-wal").write_bytes(b"\0" * 32)
    with pytest.raises(SnapshotError, match="store.sqlite-wal: not listed"):
        restore(copy_of, tmp_path / "target")
    (copy_of / "store.sqlite-wal").unlink()
    (copy_of / RECORD_NAME).unlink()
    with pytest.raises(SnapshotError, match=f"has no {RECORD_NAME}"):
        restore(copy_of, tmp_path / "target")
    assert not (tmp_path / "target").exists()


def test_a_record_pointing_outside_the_snapshot_is_refused(copy_of: Path, tmp_path: Path) -> None:
    record = json.loads((copy_of / RECORD_NAME).read_text(encoding="utf-8"))
    record["files"].append({"path": "../../etc/passwd", "size": 1, "sha256": "0" * 64})
    (copy_of / RECORD_NAME).write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(SnapshotError, match="outside the snapshot folder"):
        restore(copy_of, tmp_path / "target")


def test_restoring_over_a_non_empty_folder_needs_force(taken: Path, tmp_path: Path) -> None:
    target = tmp_path / "idx"
    other = Collection.open(target)
    other.ingest([(SEEDS[0].name, SEEDS[0].read_bytes())])
    other.store.close()
    before = _store_facts(target / "store.sqlite")
    with pytest.raises(SnapshotError, match="not empty; pass --force"):
        restore(taken, target)
    assert _store_facts(target / "store.sqlite") == before, "the existing index is untouched"

    info = restore(taken, target, force=True)
    assert _store_facts(target / "store.sqlite")[1:] == (info.documents, info.chunks) != before[1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"], "the replaced index was removed"

    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("không phải chỉ mục")
    with pytest.raises(SnapshotError, match="not an index folder; refusing to replace it even with --force"):
        restore(taken, tmp_path / "home", force=True)
    assert (tmp_path / "home" / "notes.txt").exists()


def test_restore_into_an_empty_folder(taken: Path, tmp_path: Path) -> None:
    (tmp_path / "idx").mkdir()
    restore(taken, tmp_path / "idx")
    assert len(assert_consistent(tmp_path / "idx").documents) == len(SEEDS)


# -- the command line -------------------------------------------------------------------


def test_cli_snapshot_and_restore_round_trip(source_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRACUU_EMBED_MODEL", "none")  # the source index is lexical-only
    get_settings.cache_clear()
    snap, target = tmp_path / "snap", tmp_path / "restored"
    assert main(["index", "snapshot", "--index", str(source_index), str(snap), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["documents"] == len(SEEDS) and summary["files"] >= 4

    assert main(["index", "restore", str(snap), "--index", str(target)]) == 0
    assert "every checksum verified" in capsys.readouterr().out
    assert main(["search", "chỉ tiêu hộ nghèo", "--index", str(target), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]

    assert main(["index", "restore", str(snap), "--index", str(target)]) == 2
    assert "not empty; pass --force" in capsys.readouterr().err
    assert main(["index", "restore", str(snap), "--index", str(target), "--force"]) == 0
    capsys.readouterr()

    _flip_a_byte(snap / "store.sqlite")
    assert main(["index", "restore", str(snap), "--index", str(tmp_path / "other")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tracuu: ") and f"{snap / 'store.sqlite'}: sha256" in err
    assert main(["index", "snapshot", "--index", str(tmp_path / "nothing"), str(tmp_path / "s2")]) == 2
    assert "not an index folder" in capsys.readouterr().err
    get_settings.cache_clear()
