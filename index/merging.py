"""Segment merges in the background: a write publishes its delta segment at once, and a thread merges after it.

Why: a full merge at 100,000 chunks costs about half a second, which the write that triggered it used to pay
on top of its own (bench/incremental.py). Here the write publishes its generation unmerged (the scores are the
same either way: segments keep raw statistics), then :class:`BackgroundMerger` computes the merge from the
segments already in memory, without the writer lock, and takes the lock only to publish. If another write made
a generation live meanwhile, the merge is dropped: that write planned its own, which supersedes it.

The merged generation differs from its parent only in ``lexical/``: every other file is hard-linked, the store
is not touched, and a server keeps its vectors and restorer (:class:`~index.increment.Increment` ``same_rows``).
A process that exits waits for a merge under way (the thread is not a daemon): the CLI's write is reported
first, and no half-staged folder is left (a crash leaves one that garbage collection removes).
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from index.folder import MANIFEST_NAME, read_manifest
from index.increment import Increment, RestorerSample
from index.lexical import LexicalIndex
from index.segments import link_or_copy

if TYPE_CHECKING:
    from index.writer import Writer

log = logging.getLogger(__name__)


class BackgroundMerger:
    """One merge thread per writer, merging the latest generation a write asked for."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._lock = threading.Lock()
        self._wanted: tuple[Path, LexicalIndex] | None = None
        self._thread: threading.Thread | None = None

    def request(self, live: Path, lexical: LexicalIndex) -> None:
        """Merge ``live`` (whose lexical index is ``lexical``) soon; a later request replaces an unstarted one."""
        with self._lock:
            self._wanted = (live, lexical)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="tracuu-merge", daemon=False)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until no merge is under way (tests, benchmarks, and a build that wants its final layout)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                wanted, self._wanted = self._wanted, None
                if wanted is None:
                    self._thread = None
                    return
            try:
                merge_generation(self.writer, *wanted)
            except Exception:  # a merge is an optimisation: the unmerged generation serves the same results
                log.exception("background merge of %s failed; the next write plans another", wanted[0].name)


def merge_generation(writer: Writer, live: Path, lexical: LexicalIndex) -> bool:
    """Publish ``live`` with its segments merged as the policy plans; False when there was nothing to merge or
    another generation became live first."""
    merged = lexical.merged()
    if merged is lexical:
        return False
    staging = writer.folder.staging()
    try:
        merged.save(staging / "lexical", link_from=live / "lexical")
        _link_all_but_lexical(live, staging)
        with writer.folder.exclusive():
            manifest = read_manifest(live)
            if writer.folder.live_dir() != live or manifest is None or not writer.live_is_current():
                return False  # a write came first: its generation has its own merge planned
            sample = RestorerSample(**manifest["restorer"])  # type: ignore[arg-type]
            dense = manifest.get("dense")
            record = writer.manifest(merged, dense if isinstance(dense, dict) else None, sample)
            writer.publish(staging, record, Increment(live.name, merged, None, None, same_rows=True))
            return True
    finally:
        if staging.exists():  # published: renamed away; dropped: removed here
            shutil.rmtree(staging, ignore_errors=True)


def _link_all_but_lexical(source: Path, target: Path) -> None:
    for entry in source.iterdir():
        if entry.name in ("lexical", MANIFEST_NAME):
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name, copy_function=lambda a, b: link_or_copy(Path(a), Path(b)))
        else:
            link_or_copy(entry, target / entry.name)
