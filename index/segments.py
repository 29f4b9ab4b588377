"""Lexical segments: the immutable pieces a :class:`~index.lexical.LexicalIndex` is made of (the Lucene model).

A segment keeps raw statistics, not BM25 scores: per token its postings (local row, term frequency), per row
its length and its store row id. The scores depend on the whole collection (number of rows, average length,
document frequency), which every add and remove changes; kept raw, a segment written once stays valid for
ever, is never rewritten, and is hard-linked into each later generation folder. :mod:`index.lexical` scores
from the sums over all live segments at query time.

Files of one segment, plain ``.npy`` (no pickles) and JSON::

    seg-<id>/rowids.npy    int64, ascending: the store row of each local row
    seg-<id>/lengths.npy   int32: tokens per row (an empty row counts its one placeholder token)
    seg-<id>/indptr.npy    int64: where each token's postings start (CSC), one more entry than tokens
    seg-<id>/rows.npy      int32: the local row of each posting, ascending within a token
    seg-<id>/tf.npy        uint16 (uint32 past 65,535): the term frequency of each posting
    seg-<id>/tokens.json   the tokens, in column order
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import threading
import uuid
import weakref
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

EMPTY_ROW = "\u2400"  # a row without tokens still needs a posting, or row numbers and lengths would drift
ARRAYS = ("rowids", "lengths", "indptr", "rows", "tf")
TOKENS_FILE = "tokens.json"


@dataclass(eq=False)
class Segment:
    """Postings of some rows, in column (token) order; immutable once built or loaded."""

    name: str
    rowids: np.ndarray
    lengths: np.ndarray
    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray
    tokens: list[str]
    vocab: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.vocab = {token: i for i, token in enumerate(self.tokens)}

    @property
    def size(self) -> int:
        return len(self.rowids)

    def postings(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(local rows, term frequencies) of a token, or None when this segment never saw it."""
        column = self.vocab.get(token)
        if column is None:
            return None
        start, end = int(self.indptr[column]), int(self.indptr[column + 1])
        return self.rows[start:end], self.tf[start:end]


def new_name() -> str:
    """A segment name no other segment anywhere has: the loaded-segment cache and hard links rely on it."""
    return f"seg-{uuid.uuid4().hex[:20]}"


# -- building ------------------------------------------------------------------


def build_segment(token_lists: Iterable[list[str]], rowids: Sequence[int] | np.ndarray | None = None) -> Segment | None:
    """A segment of the rows in order (row ``i`` is store row ``rowids[i]``, or ``i``); None for no rows.

    Counting is one pass of Python over each row's tokens (the lists are read once and dropped: 100,000
    chunks' lists are gigabytes of strings), then numpy groups the (row, token) pairs by token.
    """
    vocab: dict[str, int] = {}
    pair_rows, pair_tokens, pair_counts, lengths = array("i"), array("i"), array("i"), array("i")
    for row, token_list in enumerate(token_lists):
        found = Counter(token_list or [EMPTY_ROW])
        pair_tokens.extend([vocab.setdefault(token, len(vocab)) for token in found])
        pair_counts.extend(found.values())
        pair_rows.extend(itertools.repeat(row, len(found)))
        lengths.append(len(token_list) or 1)
    if not lengths:
        return None
    ids = np.arange(len(lengths), dtype=np.int64) if rowids is None else np.asarray(rowids, dtype=np.int64)
    if len(ids) != len(lengths):
        raise ValueError(f"{len(lengths)} token lists but {len(ids)} row ids; give one row id per list")
    tokens_of_pairs = np.frombuffer(pair_tokens, dtype=np.int32)
    order = np.argsort(tokens_of_pairs, kind="stable")  # pairs came row by row: stable keeps rows ascending
    indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(np.bincount(tokens_of_pairs, minlength=len(vocab)), out=indptr[1:])
    tf = _narrow(np.frombuffer(pair_counts, dtype=np.int32)[order])
    return Segment(new_name(), ids, np.frombuffer(lengths, dtype=np.int32).copy(), indptr,
                   np.frombuffer(pair_rows, dtype=np.int32)[order], tf, list(vocab))


def _narrow(tf: np.ndarray) -> np.ndarray:
    """Term frequencies in two bytes: a chunk repeats no token 65,535 times, but a longer one still fits."""
    return tf.astype(np.uint16 if tf.size == 0 or int(tf.max()) < 2**16 else np.uint32)


def merge_segments(parts: Sequence[tuple[Segment, np.ndarray | None]]) -> Segment | None:
    """One segment of the live rows of ``parts`` (segment, live-row mask or None for all), in their order.

    Each token's postings are those of the first part, then the second's, and so on: what one build over the
    same rows gives. The parts after the first (small deltas) are merged together first, then their postings
    are inserted into the first (the base) in one pass, with no sort: a full merge at 100,000 chunks
    costs a few passes over the base's postings. Tokens left with no live posting are dropped, as a
    full build would never have seen them.
    """
    kept = [c for c in (_compact(segment, live) for segment, live in parts) if c is not None]
    if not kept:
        return None
    merged = kept[0]
    if len(kept) > 1:
        tail = kept[1]
        for later in kept[2:]:
            tail = _append(tail, later)
        merged = _append(merged, tail)
    counts = np.diff(merged.indptr)
    present = counts > 0
    indptr = np.zeros(int(present.sum()) + 1, dtype=np.int64)
    np.cumsum(counts[present], out=indptr[1:])
    tokens = [token for token, keep in zip(merged.tokens, present.tolist(), strict=True) if keep]
    return Segment(new_name(), np.asarray(merged.rowids), np.asarray(merged.lengths), indptr,
                   np.asarray(merged.rows), _narrow(np.asarray(merged.tf)), tokens)


def _compact(segment: Segment, live: np.ndarray | None) -> Segment | None:
    """The segment without its dead rows (rows renumbered; a token may be left with no posting), or None."""
    if live is None or bool(live.all()):
        return segment
    if not live.any():
        return None
    keep = live[segment.rows]
    kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    renumber = (np.cumsum(live) - 1).astype(np.int32)
    return Segment(segment.name, segment.rowids[live], segment.lengths[live], kept_before[segment.indptr],
                   renumber[segment.rows[keep]], segment.tf[keep], segment.tokens)


def _append(first: Segment, second: Segment) -> Segment:
    """``second``'s rows after ``first``'s: its postings of tokens ``first`` has go at the end of those tokens'
    blocks (``np.insert`` keeps them in order), those of new tokens become new columns at the end."""
    columns = np.repeat(np.arange(len(second.tokens), dtype=np.int64), np.diff(second.indptr))
    target = np.fromiter((first.vocab.get(t, -1) for t in second.tokens), np.int64, len(second.tokens))
    into = target[columns]
    old = into >= 0
    moved_rows = (second.rows + first.size).astype(np.int32)
    # By target token: where a token of ``first`` has no posting left, the next token's block starts at the same
    # place, and np.insert orders values that share a place as given.
    by_token = np.flatnonzero(old)[np.argsort(into[old], kind="stable")]
    at = first.indptr[into[by_token] + 1]
    dtype = np.result_type(first.tf.dtype, second.tf.dtype)
    rows = np.concatenate([np.insert(np.asarray(first.rows), at, moved_rows[by_token]), moved_rows[~old]])
    tf = np.concatenate([np.insert(np.asarray(first.tf, dtype=dtype), at, second.tf[by_token]), second.tf[~old]])
    counts = np.concatenate([np.diff(first.indptr) + np.bincount(into[old], minlength=len(first.tokens)),
                             np.diff(second.indptr)[target < 0]])
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    tokens = first.tokens + [t for t, found in zip(second.tokens, target.tolist(), strict=True) if found < 0]
    return Segment(first.name, np.concatenate([first.rowids, second.rowids]),
                   np.concatenate([first.lengths, second.lengths]), indptr, rows, tf, tokens)


# -- files ---------------------------------------------------------------------

_loaded: weakref.WeakValueDictionary[str, Segment] = weakref.WeakValueDictionary()
_loaded_lock = threading.Lock()


def save_segment(segment: Segment, folder: Path, link_from: Path | None = None) -> None:
    """Write a segment's files under ``folder/<name>``, or hard-link them from ``link_from/<name>`` if there.

    Segment files are never written in place, so a link shares them safely between generation folders:
    the old generation stays intact until it is collected, and removing it only drops one link.
    """
    target = folder / segment.name
    source = link_from / segment.name if link_from is not None else None
    target.mkdir(parents=True)
    if source is not None and (source / TOKENS_FILE).is_file():
        for file in source.iterdir():
            link_or_copy(file, target / file.name)
        return
    for name in ARRAYS:
        np.save(target / f"{name}.npy", getattr(segment, name), allow_pickle=False)
    (target / TOKENS_FILE).write_text(json.dumps(segment.tokens, ensure_ascii=False), encoding="utf-8")
    with _loaded_lock:
        _loaded[segment.name] = segment


def link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links: a copy costs space, not correctness
        shutil.copy2(source, target)


def load_segment(folder: Path) -> Segment:
    """A segment from its folder; one already in memory under that name (segments are immutable) is reused.

    The arrays are memory-mapped: server workers share the pages, and a reload costs no read.
    """
    with _loaded_lock:
        cached = _loaded.get(folder.name)
    if cached is not None:
        return cached
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS}
    tokens = json.loads((folder / TOKENS_FILE).read_text(encoding="utf-8"))
    segment = Segment(folder.name, tokens=[str(t) for t in tokens], **arrays)
    if len(segment.indptr) != len(tokens) + 1 or len(segment.lengths) != len(segment.rowids):
        raise ValueError(f"{folder}: the segment's arrays do not agree with each other; rebuild the index")
    with _loaded_lock:
        _loaded[segment.name] = segment
    return segment
