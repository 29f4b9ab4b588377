"""Builds on a Ray cluster: files parsed as tasks, passages encoded by an actor pool, the driver writing.

``tracuu index build --corpus DIR --index DIR --ray ADDRESS|local`` runs :func:`build_on_ray`:

- the driver reads each file's bytes and a Ray task parses it (clean, metadata, structure, chunks, indicators)
  and tokenises its chunks: :func:`index.writer.parse_tokenized`, chunks sized by the same encoder's tokenizer;
- the passages whose vector the store lacks (by content hash: :func:`index.writer.embedding_key`) go, in file
  order and in batches of :data:`index.writer.ENCODE_BATCH` exactly as a single-process build cuts them, to a
  pool of actors, one per node, each holding one encoder that runs on the actor's CPUs; a batch's vectors are
  saved as soon as it comes back, so a build that dies keeps them;
- the driver writes documents whose passages are all encoded, in file order, one transaction per
  ``write_chunks`` chunks (:meth:`index.writer.Writer.store_locked`), then publishes one generation, advanced
  from the live one or rebuilt. The store and the folder are a single-process build's: same documents, rows,
  chunks, offsets and vectors.

A node that dies takes its actor along: the actor's batches go to the others and Ray retries the parse tasks;
with no actor left the build stops with :class:`index.errors.DistributedBuildError`, after writing the documents
whose vectors are all stored. What was stored stays: a rerun skips those documents and encodes none of the vectors.
Ray is imported inside functions only (here and in :mod:`index.ray_work`), so ``import index`` never needs it;
every node must have tracuu installed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from corpus.models import ParsedDocument
from index.errors import DistributedBuildError
from index.ray_work import EncoderActor, connected, encoder_spec, parse_task, why
from index.writer import ENCODE_BATCH, IngestReport, Tokenized, Writer, dense_text, embedding_key


@dataclass(frozen=True)
class RayOptions:
    """How the work is cut; the defaults suit a build, tests and benchmarks shrink them."""

    encode_batch: int = ENCODE_BATCH  # the single-process build's batches: a bundled batch picks its encoder by size
    write_chunks: int = 2_000  # chunks per store transaction
    actor_cpus: int | None = None  # per encoder actor; None: its node's CPUs less one, left to the parse tasks
    actor_queue: int = 2  # batches in flight per actor: one encoding, one waiting, so no actor idles on a round trip
    parse_ahead: int = 4  # parse tasks in flight per node
    ready_timeout_s: float = 180.0  # an actor that has not loaded its encoder by then is given up
    stall_timeout_s: float = 600.0  # no task finishing for this long fails the build


@dataclass
class RayReport(IngestReport):
    """The ingest report, and what the cluster did (``documents`` stays empty: the batches are not kept)."""

    nodes: int = 0
    actors: int = 0
    lost_actors: int = 0
    encoded: int = 0  # passages sent to encoders and returned (a batch its node took along is sent again)
    batches: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0  # wall time inside the actors' encode calls, summed
    round_trip_seconds: float = 0.0  # batch submitted → vectors at the driver, summed
    worker_cpu_seconds: float = 0.0  # CPU time of parsing and encoding in the workers (encoder loading not counted)
    driver_cpu_seconds: float = 0.0

    CLUSTER_FIELDS: ClassVar[tuple[str, ...]] = (
        "nodes", "actors", "lost_actors", "encoded", "batches", "seconds", "encode_seconds", "round_trip_seconds",
        "worker_cpu_seconds", "driver_cpu_seconds")


def build_on_ray(writer: Writer, paths: Sequence[Path], address: str, options: RayOptions | None = None) -> RayReport:
    """Add or replace the files as :meth:`Writer.ingest` does, the work spread over the Ray cluster at ``address``."""
    with connected(address):
        return _Build(writer, options or RayOptions()).run(paths)


@dataclass
class _Pending:
    """A parsed document waiting for its passages' vectors before it is written."""

    doc: ParsedDocument
    tokens: list[str]
    needed: set[str] = field(default_factory=set)


class _Build:
    """The driver's loop: parse ahead, queue passages in file order, encode on the pool, write in file order."""

    def __init__(self, writer: Writer, options: RayOptions, ray: Any = None) -> None:
        if ray is None:  # the tests hand in a stand-in that runs everything in this process
            import ray

        self.ray, self.writer, self.options = ray, writer, options
        self.report = RayReport()
        self.embedder = writer.embedder
        self.spec = encoder_spec(self.embedder.info) if self.embedder else None
        nodes = [n for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) >= 1]
        if not nodes:
            raise DistributedBuildError("the Ray cluster has no live node with a CPU")
        self.report.nodes = len(nodes)
        self.actors: dict[Any, int] = self._start_actors(nodes) if self.embedder else {}  # actor → batches in flight
        self.parse = ray.remote(parse_task)
        self.parsing: dict[Any, int] = {}  # task → file index
        self.parsed: dict[int, Tokenized | dict[str, str]] = {}
        self.waiting: dict[str, list[_Pending]] = {}  # passage key queued or encoding → documents needing it
        self.queue: deque[tuple[str, str]] = deque()  # (key, text) not yet sent
        self.retry: deque[tuple[list[str], list[str]]] = deque()  # batches an actor took along: sent again whole
        self.batches: dict[Any, tuple[Any, list[str], list[str], float]] = {}  # ref → actor, keys, texts, sent at
        self.prepared: deque[_Pending] = deque()
        self.ready: list[_Pending] = []
        self.removed: list[tuple[int, str, str]] = []
        self.submitted = self.taken = self.files_done = 0

    def _start_actors(self, nodes: list[dict[str, Any]]) -> dict[Any, int]:
        assert self.embedder is not None and self.spec is not None
        actor_class: Any = self.ray.remote(EncoderActor)
        starting: dict[Any, Any] = {}
        for node in nodes:
            cpus = self.options.actor_cpus or max(1, int(node["Resources"]["CPU"]) - 1)
            placed = self.ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            actor = actor_class.options(num_cpus=cpus, max_restarts=0, scheduling_strategy=placed).remote(
                self.spec, cpus, self.embedder.info)
            starting[actor.ready.remote()] = actor
        done, late = self.ray.wait(list(starting), num_returns=len(starting), timeout=self.options.ready_timeout_s)
        actors, errors = {}, []
        for ref in done:
            try:
                self.ray.get(ref)
                actors[starting[ref]] = 0
            except self.ray.exceptions.RayError as exc:
                errors.append(why(exc))
        for ref in late:
            self.ray.kill(starting[ref])
        if not actors:
            reason = errors[0] if errors else f"none ready within {self.options.ready_timeout_s:.0f} s"
            raise DistributedBuildError(f"no encoder actor started on {len(nodes)} node(s): {reason}")
        self.report.actors = len(actors)
        return actors

    def run(self, paths: Sequence[Path]) -> RayReport:
        started, cpu = time.perf_counter(), time.process_time()
        self.paths = list(paths)
        with self.writer.folder.exclusive():
            parent = self.writer.live_parent()
        try:
            while not self._finished():
                self._take_parsed()
                self._submit_parses()
                self._submit_batches()
                self._write_ready()
                if not self._finished():
                    self._wait()
        except DistributedBuildError:
            self._write_ready(failed=True)  # documents whose vectors are all stored go in before the failure is told
            self._publish(parent)
            raise
        finally:
            for actor in self.actors:
                self.ray.kill(actor)
        self._publish(parent)
        self.report.seconds = time.perf_counter() - started
        self.report.driver_cpu_seconds = time.process_time() - cpu
        return self.report

    def _publish(self, parent: Path | None) -> None:
        """One generation for all the transactions: advanced from the one live when the build began, if still so."""
        with self.writer.folder.exclusive():
            if not self.writer.live_is_current():  # else another writer has published what was stored
                same = parent is not None and self.writer.folder.live_dir() == parent
                self.writer.publish_locked(parent if same else None, self.removed)

    def _finished(self) -> bool:
        return self.taken == len(self.paths) and not (self.prepared or self.ready or self.batches or self.retry)

    def _backlog(self) -> int:
        return len(self.queue) + sum(len(keys) for _, keys, _, _ in self.batches.values())

    def _submit_parses(self) -> None:
        ahead = self.options.parse_ahead * self.report.nodes
        limit = 2 * self.options.encode_batch * self.options.actor_queue * max(1, len(self.actors))
        while self.submitted < len(self.paths) and self.submitted - self.taken < ahead and self._backlog() < limit:
            path = self.paths[self.submitted]
            self.parsing[self.parse.remote(path.name, path.read_bytes(), self.writer.settings, self.spec)] = \
                self.submitted
            self.submitted += 1

    def _take_parsed(self) -> None:
        """Parsed files in file order: rejected, unchanged, or queued for their passages' vectors."""
        while self.taken in self.parsed:
            result = self.parsed.pop(self.taken)
            self.taken += 1
            if isinstance(result, dict):
                self.report.rejected.append(result)
            elif self.writer.store.content_hash_of(result[0].source) == result[0].content_hash:
                self.report.unchanged.append(result[0].source)
            else:
                self.prepared.append(self._queue_passages(_Pending(*result)))

    def _queue_passages(self, pending: _Pending) -> _Pending:
        """Queue the passages no vector is stored or coming for; in first-seen order, as a single process does."""
        if self.embedder is None:
            return pending
        settings = self.writer.settings
        texts = {embedding_key(t): t for t in (dense_text(c.text, c.header, settings) for c in pending.doc.chunks)}
        known = self.writer.store.known_embeddings(self.embedder.info.vector_key,
                                                   [k for k in texts if k not in self.waiting])
        for key, text in texts.items():
            if key not in self.waiting and key not in known:
                self.waiting[key] = []
                self.queue.append((key, text))
            if key in self.waiting:
                self.waiting[key].append(pending)
                pending.needed.add(key)
        return pending

    def _next_batch(self) -> tuple[list[str], list[str]] | None:
        if self.retry:
            return self.retry.popleft()
        size = self.options.encode_batch
        if len(self.queue) < size and not (self.taken == len(self.paths) and self.queue):
            return None  # a short batch only at the very end, as in a single-process build
        items = [self.queue.popleft() for _ in range(min(size, len(self.queue)))]
        return [key for key, _ in items], [text for _, text in items]

    def _submit_batches(self) -> None:
        while free := [actor for actor, load in self.actors.items() if load < self.options.actor_queue]:
            batch = self._next_batch()
            if batch is None:
                return
            actor = min(free, key=self.actors.__getitem__)
            self.batches[actor.encode.remote(batch[1])] = (actor, *batch, time.perf_counter())
            self.actors[actor] += 1

    def _write_ready(self, failed: bool = False) -> None:
        """Documents whose vectors are all stored, in file order, one transaction per ``write_chunks`` chunks."""
        while self.prepared and not self.prepared[0].needed:
            self.ready.append(self.prepared.popleft())
        last = failed or (self.taken == len(self.paths) and not self.prepared)
        if self.ready and (last or sum(len(p.doc.chunks) for p in self.ready) >= self.options.write_chunks):
            docs = [p.doc for p in self.ready]
            with self.writer.folder.exclusive():
                stored = self.writer.store_locked(docs, [], [p.tokens for p in self.ready])
            self.ready = []
            outcome = stored.outcome if stored is not None else {doc.source: "unchanged" for doc in docs}
            lists = {"added": self.report.added, "replaced": self.report.replaced, "unchanged": self.report.unchanged}
            for doc in docs:
                lists[outcome[doc.source]].append(doc.source)
            self.removed += stored.removed if stored is not None else []

    def _wait(self) -> None:
        pending = [*self.parsing, *self.batches]
        if not pending:
            raise DistributedBuildError("the build stalled with nothing in flight")  # a bug, never a hang
        done, _ = self.ray.wait(pending, num_returns=1, timeout=self.options.stall_timeout_s)
        if not done:
            raise DistributedBuildError(f"no task finished in {self.options.stall_timeout_s:.0f} s")
        ref = done[0]
        if ref in self.parsing:
            self._parsed(ref, self.parsing.pop(ref))
        else:
            self._encoded(ref, *self.batches.pop(ref))

    def _parsed(self, ref: Any, index: int) -> None:
        try:
            self.parsed[index], cpu = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            raise DistributedBuildError(f"parsing {self.paths[index].name} failed: {why(exc)}") from exc
        self.report.worker_cpu_seconds += cpu
        self.files_done += 1
        self.writer.progress("files", self.files_done, len(self.paths))

    def _encoded(self, ref: Any, actor: Any, keys: list[str], texts: list[str], sent: float) -> None:
        assert self.embedder is not None
        try:
            vectors, wall, cpu = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:  # the encoder itself failed: another would too
            raise DistributedBuildError(f"encoding failed: {why(exc)}") from exc
        except self.ray.exceptions.RayError as exc:  # the actor, or its node, is gone: its batches go elsewhere
            self.report.lost_actors += self.actors.pop(actor, None) is not None
            self.retry.append((keys, texts))
            if not self.actors:
                raise DistributedBuildError(f"every encoder actor is gone ({why(exc)}); what was encoded and "
                                            "written is stored: run the build again to finish it") from exc
            return
        self.actors[actor] -= 1
        self.writer.store.save_embeddings(self.embedder.info.vector_key, keys, vectors)
        for key in keys:
            for pending in self.waiting.pop(key, []):
                pending.needed.discard(key)
        report = self.report
        report.encoded += len(keys)
        report.batches += 1
        report.encode_seconds += wall
        report.worker_cpu_seconds += cpu
        report.round_trip_seconds += time.perf_counter() - sent
        coming = report.encoded + self._backlog() + sum(len(keys) for keys, _ in self.retry)
        files = max(1, self.taken)
        self.writer.progress("chunks encoded", report.encoded, max(report.encoded, coming * len(self.paths) // files))
