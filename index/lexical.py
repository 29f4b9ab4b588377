"""BM25 over our own Vietnamese tokens: a base segment, small delta segments and tombstones (the Lucene model).

bm25s's default tokenizer drops one-letter syllables and digits ("Ý", "Điều 5") and splits NFD text at every
combining mark, so rows are pre-tokenised by :mod:`index.textnorm`; the scores are bm25s's Lucene variant,
operation for operation (``tests/test_lexical.py`` compares them with bm25s itself).

Why segments: BM25 depends on the whole collection — the number of rows N, their average length, each token's
document frequency — so an index of precomputed scores must be rebuilt whenever one row is added. Here each
segment (:mod:`index.segments`) keeps raw term frequencies and row lengths, and the statistics are kept
global: N and the total length are summed over the live rows of every segment when an index is opened, and a
token's document frequency is the count of its live postings across segments, taken when a query asks for
it. A write adds a delta segment of its rows and marks the rows it replaces or deletes as tombstones (their
store row ids); the scores are then exactly those of a full rebuild over the same rows. Merges
(:class:`MergePolicy`) keep the segments few and drop dead rows.

Files (``lexical/`` in a generation folder)::

    segments.json     format, BM25 parameters, the segments in row order, counts: what this index holds
    tombstones.npy    int64 store row ids deleted from the segments above, ascending
    seg-<id>/         one folder per segment, hard-linked from the previous generation when unchanged
"""

from __future__ import annotations

import json
import logging
import math
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.segments import EMPTY_ROW, Segment, build_segment, load_segment, merge_segments, save_segment

logging.getLogger("bm25s").setLevel(logging.WARNING)

__all__ = ["B", "EMPTY_ROW", "K1", "LEXICAL_FORMAT", "LexicalIndex", "MergePolicy"]

K1 = 1.2
B = 0.75
LEXICAL_FORMAT = "tracuu-lexical-segments/1"
SEGMENTS_FILE = "segments.json"
TOMBSTONES_FILE = "tombstones.npy"
# Scored postings kept per index: 4 bytes each (8 for a token in several segments; the row numbers of one
# segment are views of its memory-mapped file). The 80 dev questions touch 7.2M at 100k chunks; with them all
# kept the lexical stage is as fast as bm25s's precomputed scores (p50 0.51 ms, p95 0.96), with 4M p50 0.77/1.94.
CACHE_POSTINGS = 8_000_000


@dataclass(frozen=True)
class MergePolicy:
    """When segments are merged: few segments keep queries fast, merges keep dead rows out of memory.

    A merge reads only segments already in memory (no store read, no re-tokenising): at 100,000 chunks a full
    one costs about half a second (``bench/incremental.py``), spent by :mod:`index.merging` after the write
    that planned it, not by the write.
    """

    max_segments: int = 8  # every query token is looked up in every segment
    delta_share: float = 0.25  # deltas together past this share of the base's rows: merge all into a new base
    dead_share: float = 0.2  # tombstoned rows past this share of all rows: merge all, dropping them

    def plan(self, sizes: Sequence[int], dead: int) -> str:
        """"all" (one new base), "deltas" (the deltas into one) or "none", for segments of these row counts."""
        if len(sizes) <= 1 and dead == 0:
            return "none"
        total = sum(sizes)
        if dead > self.dead_share * total or sum(sizes[1:]) > self.delta_share * sizes[0]:
            return "all"
        return "deltas" if len(sizes) > self.max_segments else "none"


DEFAULT_POLICY = MergePolicy()
NO_MERGE = MergePolicy(max_segments=sys.maxsize, delta_share=math.inf, dead_share=math.inf)  # writes: merged later
# Twice the default bounds: background merges that keep losing to newer writes (index.merging) are overdue
OVERDUE = MergePolicy(max_segments=2 * DEFAULT_POLICY.max_segments, delta_share=2 * DEFAULT_POLICY.delta_share,
                      dead_share=2 * DEFAULT_POLICY.dead_share)


class LexicalIndex:
    """Scores every live row for a query; rows in store row order, which is the searcher's chunk order."""

    def __init__(self, segments: Sequence[Segment] = (), tombstones: np.ndarray | None = None) -> None:
        self.segments = tuple(segments)
        rowids = [segment.rowids for segment in self.segments]
        if any(len(r) and len(p) and r[0] <= p[-1] for p, r in zip(rowids, rowids[1:], strict=False)):
            raise ValueError("segments must hold ascending, disjoint store row ids, each after the one before")
        dead = np.unique(np.asarray(tombstones if tombstones is not None else [], dtype=np.int64))
        self._live = [np.isin(r, dead, invert=True) if len(dead) else None for r in rowids]  # None: all live
        self.tombstones = np.concatenate([r[~live] for r, live in zip(rowids, self._live, strict=True)
                                          if live is not None] or [np.zeros(0, dtype=np.int64)])
        self._offsets = np.cumsum([0, *(s.size for s in self.segments)])
        self.size = int(self._offsets[-1]) - len(self.tombstones)
        self._norms = self._row_norms()
        self._positions = self._live_positions() if len(self.tombstones) else None
        self._cache: OrderedDict[str, tuple[np.ndarray, np.ndarray] | None] = OrderedDict()
        self._cached = 0  # postings held in _cache
        self._cache_lock = threading.Lock()

    def _row_norms(self) -> list[np.ndarray]:
        """Per segment, each row's ``k1 * ((1 - b) + b * len / avg_len)`` with the average over all live rows."""
        total = sum(int((s.lengths if live is None else s.lengths[live]).sum(dtype=np.int64))
                    for s, live in zip(self.segments, self._live, strict=True))
        avg_len = total / self.size if self.size else 1.0  # as bm25s's np.array(lengths).mean(): exact sum / N
        return [K1 * ((1 - B) + B * s.lengths.astype(np.float64) / avg_len) for s in self.segments]

    def _live_positions(self) -> np.ndarray:
        """Where the live rows sit among all segment rows: the scores kept from a pass over every row."""
        masks = [np.ones(s.size, dtype=bool) if live is None else live
                 for s, live in zip(self.segments, self._live, strict=True)]
        return np.flatnonzero(np.concatenate(masks))

    @classmethod
    def build(cls, token_lists: Iterable[list[str]], rowids: Sequence[int] | np.ndarray | None = None) -> LexicalIndex:
        """One base segment of the rows in order (``rowids``: their store row ids; by default 0, 1, …)."""
        segment = build_segment(token_lists, rowids)
        return cls([segment] if segment is not None else [])

    @property
    def rowids(self) -> np.ndarray:
        """The live rows' store row ids, in the order :meth:`scores` answers."""
        parts = [s.rowids if live is None else s.rowids[live] for s, live in zip(self.segments, self._live,
                                                                                   strict=True)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    @property
    def max_rowid(self) -> int:
        """The highest store row id the segments hold, live or not: every later write's rows come after it."""
        return int(self.segments[-1].rowids[-1]) if self.segments else 0

    # -- scoring ---------------------------------------------------------------

    def document_frequency(self, token: str) -> int:
        """Live rows holding ``token``, summed over the segments: the df a full rebuild would count."""
        found = 0
        for segment, live in zip(self.segments, self._live, strict=True):
            postings = segment.postings(token)
            if postings is not None:
                found += len(postings[0]) if live is None else int(np.count_nonzero(live[postings[0]]))
        return found

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every live row (0 where nothing matches); unknown tokens are ignored, repeats count.

        Each token's contributions are added in float32 in query order, as bm25s adds its stored scores.
        """
        scores = np.zeros(int(self._offsets[-1]), dtype=np.float32)
        for token in tokens:
            found = self._contributions(token)
            if found is not None:
                np.add.at(scores, found[0], found[1])  # bm25s's own accumulation (faster than += here)
        return scores if self._positions is None else scores[self._positions]

    def _contributions(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(row positions over all segments, float32 scores) of one token, computed once per index and kept.

        idf from the global N and df (Python floats, stored as float32), per posting
        ``tf / (k1 * ((1 - b) + b * len / avg_len) + tf)`` in float64 times that idf, as float32: bm25s's
        own sequence (``BM25.index``, lucene variant). A full build stores these; here they depend on every
        segment's statistics, so each index computes them for the tokens queries ask for, and keeps the
        most recent ones up to :data:`CACHE_POSTINGS` (a common token's 50,000 postings cost ~0.3 ms).
        """
        with self._cache_lock:
            if token in self._cache:
                self._cache.move_to_end(token)
                return self._cache[token]
        df = self.document_frequency(token)
        found = None
        if df:
            idf = np.float64(np.float32(math.log(1 + (self.size - df + 0.5) / (df + 0.5))))
            positions, values = [], []
            for segment, offset, norm in zip(self.segments, self._offsets.tolist(), self._norms, strict=False):
                postings = segment.postings(token)
                if postings is not None:
                    rows, tf = postings[0], postings[1].astype(np.float64)
                    positions.append(rows + offset if offset else np.asarray(rows))
                    values.append((idf * (tf / (norm[rows] + tf))).astype(np.float32))
            one = len(values) == 1  # a view of the segment's rows, not a copy
            found = (positions[0], values[0]) if one else (np.concatenate(positions), np.concatenate(values))
        self._remember(token, found)
        return found

    def _remember(self, token: str, found: tuple[np.ndarray, np.ndarray] | None) -> None:
        with self._cache_lock:
            self._cache[token] = found
            self._cached += len(found[0]) if found is not None else 0
            while self._cached > CACHE_POSTINGS and len(self._cache) > 1:
                _, dropped = self._cache.popitem(last=False)
                self._cached -= len(dropped[0]) if dropped is not None else 0

    # -- writing ---------------------------------------------------------------

    def updated(self, removed: Iterable[int], added_rowids: Sequence[int] | np.ndarray,
                added_tokens: Iterable[list[str]], policy: MergePolicy | None = None) -> LexicalIndex:
        """A new index: ``removed`` store rows tombstoned, the added rows as a delta segment, merged by ``policy``.

        This index is left as it is (readers may hold it). Added rows must come after every row indexed so
        far, as SQLite's AUTOINCREMENT row ids do.
        """
        added_rowids = np.asarray(added_rowids, dtype=np.int64)
        if len(added_rowids) and self.segments and added_rowids[0] <= self.max_rowid:
            raise ValueError(f"added row {int(added_rowids[0])} is not after the last indexed row {self.max_rowid}")
        delta = build_segment(added_tokens, added_rowids)
        tombstones = np.union1d(self.tombstones, np.fromiter(removed, dtype=np.int64))
        grown = LexicalIndex([*self.segments, *([delta] if delta is not None else [])], tombstones)
        return grown.merged(policy)

    def merged_plan(self, policy: MergePolicy | None = None) -> str:
        """What ``policy`` (:data:`DEFAULT_POLICY`) plans for these segments: "all", "deltas" or "none"."""
        return (policy or DEFAULT_POLICY).plan([s.size for s in self.segments], len(self.tombstones))

    def merged(self, policy: MergePolicy | None = None) -> LexicalIndex:
        """This index with segments merged as ``policy`` (:data:`DEFAULT_POLICY`) plans; itself if it plans nothing."""
        plan = self.merged_plan(policy)
        if plan == "none":
            return self
        first = 0 if plan == "all" else 1
        parts = list(zip(self.segments, self._live, strict=True))
        merged = merge_segments(parts[first:])
        kept = [*self.segments[:first], *([merged] if merged is not None else [])]
        return LexicalIndex(kept, self.tombstones)

    def save(self, directory: Path, link_from: Path | None = None) -> None:
        """Write the index; segments already in ``link_from`` (the previous generation's folder) are linked."""
        directory.mkdir(parents=True, exist_ok=True)
        for segment in self.segments:
            save_segment(segment, directory, link_from)
        np.save(directory / TOMBSTONES_FILE, self.tombstones, allow_pickle=False)
        (directory / SEGMENTS_FILE).write_text(json.dumps(self.describe(), ensure_ascii=False, indent=1),
                                               encoding="utf-8")

    def describe(self) -> dict[str, object]:
        """What ``segments.json`` holds (and the manifest repeats): enough to tell what the folder contains."""
        return {"format": LEXICAL_FORMAT, "library": "tracuu (bm25s lucene scoring)", "method": "lucene",
                "k1": K1, "b": B, "rows": self.size, "tombstones": len(self.tombstones),
                "segments": [{"name": s.name, "rows": s.size, "postings": len(s.rows), "tokens": len(s.tokens),
                              "first_rowid": int(s.rowids[0]), "last_rowid": int(s.rowids[-1])}
                             for s in self.segments]}

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """The index saved in ``directory``; refuses another format rather than misread it."""
        path = directory / SEGMENTS_FILE
        described = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        if described.get("format") != LEXICAL_FORMAT:
            raise ValueError(f"{directory} holds no {LEXICAL_FORMAT} index (an older layout?); "
                             f"rebuild it: tracuu index build --corpus DIR --index INDEX --rebuild")
        segments = [load_segment(directory / entry["name"]) for entry in described["segments"]]
        index = cls(segments, np.load(directory / TOMBSTONES_FILE, allow_pickle=False))
        if index.size != described["rows"]:
            raise ValueError(f"{path} says {described['rows']} rows, its segments hold {index.size}")
        return index
