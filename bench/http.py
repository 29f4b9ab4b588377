"""Load against a real server on 127.0.0.1: latency percentiles and throughput at fixed concurrency.

The server runs as its own process (``tracuu serve``), so its memory is read
from /proc and the load generator's CPU is visible as what it is: a
competitor for the same two cores. Every loop is bounded twice, by a request
count and by a deadline, so a slow server cannot hang the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.stats import rss_mb, summarize_ms
from eval.paths import REPO_ROOT

READY_TIMEOUT_S = 600.0  # opening a 100k-chunk index reads every chunk; a fresh build may also run first


@dataclass(frozen=True)
class Request:
    """One request of a workload: method, path and JSON body (None for GET)."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    params: dict[str, str] | None = None


@dataclass
class LoadResult:
    concurrency: int
    latencies_s: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        done = len(self.latencies_s)
        return {"concurrency": self.concurrency, **summarize_ms(self.latencies_s),
                "rps": round(done / self.wall_s, 1) if self.wall_s else 0.0,
                "errors": sum(self.errors.values()), "error_kinds": dict(self.errors),
                "wall_s": round(self.wall_s, 2)}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Server:
    """A ``tracuu serve`` subprocess on a free loopback port."""

    def __init__(self, index_dir: Path, embed_model: Path | str | None = None, extra_env: dict[str, str] | None = None,
                 workers: int = 1, ray: str | None = None, host: str = "127.0.0.1"):
        """``workers`` uvicorn processes, or with ``ray`` (a cluster's address) that many Ray Serve replicas."""
        self.port = free_port(host)
        self.base_url = f"http://{host}:{self.port}"
        env = {**os.environ, "TRACUU_INDEX_DIR": str(index_dir), "TRACUU_LOG_LEVEL": "WARNING", **(extra_env or {})}
        env.pop("TRACUU_EMBED_MODEL", None)
        env["TRACUU_EMBED_MODEL"] = str(embed_model) if embed_model is not None else "none"
        command = [sys.executable, "-m", "service.cli", "serve", "--index", str(index_dir),
                   "--host", host, "--port", str(self.port), "--log-level", "warning"]
        command += ["--ray", ray, "--replicas", str(workers)] if ray else ["--workers", str(workers)]
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace")[-2000:] if self.process.stderr else ""
                raise RuntimeError(f"server exited with {self.process.returncode}: {err}")
            try:
                response = httpx.get(f"{self.base_url}/health", timeout=2.0)
                if response.status_code == 200:
                    return dict(response.json())
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"server on {self.base_url} not ready after {timeout_s:.0f} s")

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.base_url}/health", timeout=10.0).json())

    def rss_mb(self) -> float:
        """Resident memory of the server and its worker processes together."""
        return round(sum(rss_mb(pid) for pid in _process_tree(self.process.pid)), 1)

    def stop(self) -> None:
        """Terminate the server; what it started (uvicorn's worker processes) is killed too if it outlives it."""
        tree = {pid: _cmdline(pid) for pid in _process_tree(self.process.pid)[1:]}
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid, cmdline in tree.items():
            if cmdline and _cmdline(pid) == cmdline:  # still the process it started, not a reused pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.process.stderr:
            self.process.stderr.close()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _process_tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


@contextmanager
def serving(index_dir: Path, embed_model: Path | str | None = None, workers: int = 1) -> Iterator[Server]:
    server = Server(index_dir, embed_model, workers=workers)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


async def _worker(client: httpx.AsyncClient, requests: Sequence[Request], counter: Iterator[int], stop_at: float,
                  result: LoadResult, check: Callable[[httpx.Response], str | None] | None) -> None:
    for i in counter:
        if time.monotonic() >= stop_at:
            return
        req = requests[i % len(requests)]
        started = time.perf_counter()
        try:
            response = await client.request(req.method, req.path, json=req.body, params=req.params)
            problem = f"HTTP {response.status_code}" if response.status_code != 200 else (
                check(response) if check else None)
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
        elapsed = time.perf_counter() - started
        if problem:
            result.errors[problem] = result.errors.get(problem, 0) + 1
        else:
            result.latencies_s.append(elapsed)


async def _load(base_url: str, requests: Sequence[Request], concurrency: int, max_requests: int, max_seconds: float,
                check: Callable[[httpx.Response], str | None] | None) -> LoadResult:
    result = LoadResult(concurrency)
    counter = iter(range(max_requests))  # shared: the workers together send at most max_requests
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:
        started = time.perf_counter()
        stop_at = time.monotonic() + max_seconds
        await asyncio.gather(*(_worker(client, requests, counter, stop_at, result, check)
                               for _ in range(concurrency)))
        result.wall_s = time.perf_counter() - started
    return result


def run_load(base_url: str, requests: Sequence[Request], concurrency: int, max_requests: int, max_seconds: float,
             warmup: int = 20, check: Callable[[httpx.Response], str | None] | None = None) -> LoadResult:
    """Send ``requests`` round-robin with ``concurrency`` clients until either bound is reached."""
    if warmup:
        asyncio.run(_load(base_url, requests, 1, warmup, max_seconds, None))
    return asyncio.run(_load(base_url, requests, concurrency, max_requests, max_seconds, check))


def search_requests(queries: Sequence[str], mode: str, k: int = 10) -> list[Request]:
    return [Request("GET", "/search", params={"q": q, "mode": mode, "k": str(k)}) for q in queries]


def ask_requests(questions: Sequence[str]) -> list[Request]:
    return [Request("POST", "/ask", body={"question": q}) for q in questions]


def similar_requests(texts: Sequence[str]) -> list[Request]:
    return [Request("POST", "/similar", body={"text": t, "k": 10}) for t in texts]
