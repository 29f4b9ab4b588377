"""A write's new generation made from the live one: the cost of what it adds and removes, not of the collection.

Under the writer lock, after the SQLite transaction, :func:`publish_increment` starts from the live generation
(which described the store just before this write) and stages the next one:

- lexical: the added rows become a delta segment, the deleted rows tombstones (:meth:`LexicalIndex.updated`;
  merged afterwards in the background, :mod:`index.merging`); unchanged segments are hard-linked from the live
  folder, not rewritten;
- diacritics: the restorer's counts plus those of the added sampled chunks, minus the removed ones
  (:class:`RestorerSample` says which chunks are sampled);
- vectors: a copy of the FAISS index with the removed ids taken out and the new vectors added where the kind
  allows it (:meth:`VectorIndex.updated`: flat below 40,000 vectors, IVF within its drift), else rebuilt;
- the manifest, the rename of the staging folder and the switch of ``CURRENT``, as a full rebuild does them.

A crash anywhere leaves what a crashed rebuild leaves: the old generation live, the store one write ahead,
and :meth:`index.collection.Collection.open` rebuilding in full. The generation published equals the one a
full rebuild would publish — the same BM25 scores, restorer and flat vectors (``tests/test_increment.py``) —
except an IVF index within its drift, which keeps its centroids. Anything unexpected (a folder of an older
layout, counts that do not add up) makes it return False, and the writer rebuilds in full.
"""

from __future__ import annotations

import json
import logging
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from corpus.models import Chunk
from index.folder import read_manifest
from index.lexical import LEXICAL_FORMAT, NO_MERGE, OVERDUE, LexicalIndex
from index.restore import DiacriticRestorer
from index.segments import link_or_copy
from index.vectors import VectorIndex, info_record

if TYPE_CHECKING:
    from index.writer import Writer

log = logging.getLogger(__name__)

StoredRows = list[tuple[int, Chunk]]
RemovedRows = Sequence[tuple[int, str, str]]  # (row id, chunk id, text) of the chunks a write deletes
RESTORER_FILE = "diacritics.json"
RESTORER_MAX_CHARS = 3_000_000  # accent statistics saturate early (1.2M characters: 97.8% of syllables right)


@dataclass(frozen=True)
class Increment:
    """What :func:`publish_increment` hands the collection with a new generation, beside the folder itself."""

    parent: str  # the generation folder it was made from: a snapshot of that one can be advanced, not reloaded
    lexical: LexicalIndex
    vectors: VectorIndex | None  # None: read it from the folder (rebuilt, or no encoder)
    restorer: DiacriticRestorer | None  # None: read it from the folder
    same_rows: bool = False  # a merge (index.merging): only segments changed; a snapshot of the parent keeps the rest


@dataclass(frozen=True)
class RestorerSample:
    """Which chunks the diacritic restorer learns from, and the collection's text length that decides it.

    All chunks while the text is under :data:`RESTORER_MAX_CHARS`; past it one in ``step`` (a power of two),
    chosen by a hash of the chunk id, so that a write into 100,000 chunks does not re-read 40 million
    characters. Whether a chunk is sampled depends on nothing else, so a write adds and subtracts its own
    chunks' counts; only when the length crosses a power of two does the step change and the restorer is
    learnt again from the whole sample.
    """

    chars: int
    step: int

    @classmethod
    def of(cls, texts: Iterable[str]) -> RestorerSample:
        return cls.for_chars(sum(len(text) for text in texts))

    @classmethod
    def for_chars(cls, chars: int) -> RestorerSample:
        return cls(chars, 1 if chars <= RESTORER_MAX_CHARS else 2 ** math.ceil(math.log2(chars / RESTORER_MAX_CHARS)))

    def takes(self, chunk_id: str) -> bool:
        return self.step == 1 or zlib.crc32(chunk_id.encode()) % self.step == 0

    def texts(self, chunks: Iterable[Chunk]) -> list[str]:
        return [chunk.text for chunk in chunks if self.takes(chunk.id)]

    def record(self) -> dict[str, int]:
        return {"chars": self.chars, "step": self.step}


def save_restorer(restorer: DiacriticRestorer, generation_dir: Path) -> None:
    """The collection's accent statistics beside its lexical index: plain JSON, readable, no pickle."""
    text = json.dumps(restorer.to_json(), ensure_ascii=False, separators=(",", ":"))
    (generation_dir / RESTORER_FILE).write_text(text, encoding="utf-8")


def load_restorer(generation_dir: Path) -> DiacriticRestorer | None:
    path = generation_dir / RESTORER_FILE
    if not path.exists():
        return None
    return DiacriticRestorer.from_json(json.loads(path.read_text(encoding="utf-8")))


def publish_increment(writer: Writer, parent: Path, removed: RemovedRows) -> bool:
    """Publish the generation after one write from ``parent``; False (nothing published) when it cannot."""
    try:
        return _publish(writer, parent, removed)
    except Exception:  # a full rebuild still gives the right generation; the log says why it was needed
        log.exception("incremental update from %s failed; rebuilding the derived indexes in full", parent.name)
        return False


def _publish(writer: Writer, parent: Path, removed: RemovedRows) -> bool:
    manifest = read_manifest(parent) or {}
    lexical_record, sample_record = manifest.get("lexical"), manifest.get("restorer")
    if not isinstance(lexical_record, dict) or lexical_record.get("format") != LEXICAL_FORMAT \
            or not isinstance(sample_record, dict) or (writer.embedder is None) != (manifest.get("dense") is None):
        return False  # an older layout, or an encoder came or went: only a full build makes it right
    lexical = LexicalIndex.load(parent / "lexical")
    added = writer.store.chunks_in_order(after=lexical.max_rowid)
    gone = np.array(sorted(rowid for rowid, _, _ in removed), dtype=np.int64)
    if not _all_in(gone, lexical.rowids) or lexical.size - len(gone) + len(added) != writer.store.counts()[1]:
        log.warning("generation %s does not match the store before this write; rebuilding in full", parent.name)
        return False
    staging = writer.folder.staging()
    tokens = writer.store.iter_lex_tokens(after=lexical.max_rowid)
    # merged after the write by the writer's merger (index.merging), unless writes came faster than merges for so
    # long that segments or dead rows reached twice the policy's bounds: then this write merges, as before
    updated = lexical.updated(gone, [rowid for rowid, _ in added], tokens, NO_MERGE)
    if updated.merged_plan(OVERDUE) != "none":
        updated = updated.merged()
    updated.save(staging / "lexical", link_from=parent / "lexical")
    sample, restorer = _update_restorer(writer, parent, RestorerSample(**sample_record), removed, added, staging)
    vectors, dense = _update_dense(writer, parent, gone, added, staging)
    live = writer.publish(staging, writer.manifest(updated, dense, sample),
                          Increment(parent.name, updated, vectors, restorer))
    if updated.merged_plan() != "none":
        writer.merger.request(live, updated)
    return True


def _all_in(found: np.ndarray, ascending: np.ndarray) -> bool:
    """Whether every value of ``found`` is in the sorted ``ascending`` (a binary search each, not a set)."""
    at = np.minimum(np.searchsorted(ascending, found), max(len(ascending) - 1, 0))
    return bool(len(ascending) and np.array_equal(ascending[at], found)) or not len(found)


def _update_restorer(writer: Writer, parent: Path, sample: RestorerSample, removed: RemovedRows,
                     added: StoredRows, staging: Path) -> tuple[RestorerSample, DiacriticRestorer | None]:
    """The restorer with the write's sampled chunks counted in and out; learnt again when the step changes."""
    after = RestorerSample.for_chars(sample.chars + sum(len(c.text) for _, c in added)
                                     - sum(len(text) for _, _, text in removed))
    previous = load_restorer(parent)
    if previous is None or after.step != sample.step:
        restorer = DiacriticRestorer.from_texts(after.texts(c for _, c in writer.store.chunks_in_order()))
    else:
        plus = after.texts(chunk for _, chunk in added)
        minus = [text for _, chunk_id, text in removed if after.takes(chunk_id)]
        if not plus and not minus:  # no sampled chunk changed: the same file serves
            link_or_copy(parent / RESTORER_FILE, staging / RESTORER_FILE)
            return after, previous
        restorer = previous.updated(plus, minus)
    save_restorer(restorer, staging)
    return after, restorer


def _update_dense(writer: Writer, parent: Path, gone: np.ndarray, added: StoredRows,
                  staging: Path) -> tuple[VectorIndex | None, dict[str, object] | None]:
    """The FAISS index with the write applied in place on a copy, or rebuilt where its kind requires it."""
    if writer.embedder is None:
        return None, None
    vectors = writer.chunk_vectors([chunk for _, chunk in added])
    current = VectorIndex.load(parent / "dense") if (parent / "dense" / "vectors.json").is_file() else None
    ids = np.array([rowid for rowid, _ in added], dtype=np.int64)
    updated = current.updated(gone, ids, vectors) if current is not None else None
    if updated is None:
        return None, writer.build_dense(staging, writer.store.chunks_in_order())
    updated.save(staging / "dense")
    return updated, info_record(writer.embedder.info, updated.kind)
