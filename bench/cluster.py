"""A Ray cluster on loopback, started and stopped by its processes' ids: for the benchmarks and the tests.

What these machines need (ray 2.60.0): nodes on ``127.0.0.2`` (head) and ``127.0.0.3``… (workers), since Ray
replaces ``127.0.0.1`` with the machine's external address; ``--num-cpus=2`` per node, so that one-CPU encoder
actors leave a CPU to the parse tasks; ``--object-store-memory`` set (each node would count the whole machine's
memory); usage statistics off. Ray's servers listen on every interface whatever the node's address, so the
cluster requires a token made for it (``RAY_AUTH_MODE=token``; :attr:`LocalCluster.env` for its drivers).

Each node is ``ray start --block`` in a session of its own, stopped by signalling that session's process group,
then every process it started (Ray's workers put themselves in groups of their own): **never** ``ray stop``,
which ends every Ray process on the machine, other people's included. :meth:`LocalCluster.close` checks that
nothing it started is left running.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAD_IP = "127.0.0.2"
NODE_CPUS = 2
OBJECT_STORE_BYTES = 300_000_000
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
TERM_GRACE_S = 3.0  # a head drains for up to 30 s on SIGTERM: a short grace, then SIGKILL
STARTED = "This command will now block forever"  # what `ray start --block` prints once the node runs


def _ray() -> str:
    return str(Path(sys.executable).with_name("ray"))


Process = tuple[int, int]  # (pid, start time in clock ticks): a pid the system gave to another process is not it


def _stat(pid: int | str) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def descendants(pid: int) -> set[Process]:
    """Every process below ``pid``, each with its start time."""
    children: dict[int, list[Process]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else None
        if fields is not None:
            children.setdefault(int(fields[1]), []).append((int(entry.name), int(fields[19])))
    found: set[Process] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child[0])
    return found


def alive(processes: set[Process]) -> set[Process]:
    """Those still running: same pid, same start time, not a zombie."""
    running = set()
    for pid, started in processes:
        fields = _stat(pid)
        if fields is not None and int(fields[19]) == started and fields[0] != "Z":
            running.add((pid, started))
    return running


def holding(variable: str, value: str) -> set[Process]:
    """Running processes whose environment has ``variable=value``: everything a cluster (or a local Ray) started
    inherits its token, so none may be left once it is stopped."""
    wanted, found = f"{variable}={value}".encode(), set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and wanted in (entry / "environ").read_bytes().split(b"\0"):
                fields = _stat(entry.name)
                if fields is not None and fields[0] != "Z":
                    found.add((int(entry.name), int(fields[19])))
        except OSError:  # gone meanwhile, or another user's
            continue
    return found


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class RayNode:
    """One ``ray start --block`` process, in a session of its own."""

    def __init__(self, args: list[str], ip: str, log: Path, env: dict[str, str]) -> None:
        self.ip, self.log = ip, log
        with log.open("wb") as out:
            self.process = subprocess.Popen([_ray(), "start", *args, f"--node-ip-address={ip}", "--block",
                                             f"--num-cpus={NODE_CPUS}", f"--object-store-memory={OBJECT_STORE_BYTES}",
                                             "--disable-usage-stats"], stdout=out, stderr=subprocess.STDOUT,
                                            env={**os.environ, **env}, start_new_session=True)
        self.started: set[Process] = set()  # every process seen below it: what stopping it must end

    def wait_started(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while STARTED not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"Ray node {self.ip} did not start (exit {self.process.returncode}):\n{tail}")
            time.sleep(0.2)
        self.remember()

    def remember(self) -> None:
        self.started |= descendants(self.process.pid)

    def kill(self) -> None:
        """The node dies at once, as when its machine fails (SIGKILL to its group and everything below it)."""
        self.remember()
        self._signal(signal.SIGKILL)

    def stop(self) -> set[Process]:
        """SIGTERM, then SIGKILL after a grace period; returns the pids still running after that (none, normally)."""
        if self.process.poll() is None:
            self.remember()
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(TERM_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
        self._signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT_S)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while alive(self.started) and time.monotonic() < deadline:
            time.sleep(0.1)
        return alive(self.started)

    def _signal(self, sig: signal.Signals) -> None:
        """The node's process group (while its leader is not reaped, its id cannot have been reused), then each
        process it started that still runs (checked by start time)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
        for pid, _ in alive(self.started):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


class LocalCluster:
    """A head on 127.0.0.2 and workers on 127.0.0.3…; a context manager that leaves no process behind."""

    def __init__(self, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.temp = Path(tempfile.mkdtemp(prefix="tracuu-ray-"))  # short: Ray's socket paths must stay < 108 bytes
        self.port = free_port(HEAD_IP)
        self.address = f"{HEAD_IP}:{self.port}"
        # what the nodes and every driver need in their environment (a driver's Ray reads it once per process)
        self.env = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
                    **(env or {})}
        self.head = RayNode(["--head", f"--port={self.port}", "--include-dashboard=false", f"--temp-dir={self.temp}"],
                            HEAD_IP, self.temp / "head.log", self.env)
        self.workers: list[RayNode] = []
        try:
            self.head.wait_started()
            for _ in range(workers):
                self.add_worker()
        except BaseException:
            self.close()
            raise

    def add_worker(self) -> RayNode:
        ip = f"127.0.0.{3 + len(self.workers)}"
        node = RayNode([f"--address={self.address}"], ip, self.temp / f"worker-{len(self.workers)}.log", self.env)
        self.workers.append(node)
        node.wait_started()
        return node

    def remember(self) -> None:
        """Note the processes the nodes run now (workers and actors start on demand)."""
        for node in (self.head, *self.workers):
            node.remember()

    def close(self) -> None:
        """Stop every node, workers first; raise if any process they started, or any holding the cluster's token,
        is still running."""
        left: set[Process] = set()
        for node in (*self.workers, self.head):
            left |= node.stop()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while (strays := holding("RAY_AUTH_TOKEN", self.env["RAY_AUTH_TOKEN"])) and time.monotonic() < deadline:
            time.sleep(0.2)  # a driver's workers end a moment after the nodes
        left |= strays
        for pid, _ in alive(left):  # ours (they hold the token made for this cluster): ended, and reported below
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.temp, ignore_errors=True)
        if left:
            pids = sorted(pid for pid, _ in left)
            raise RuntimeError(f"Ray processes still running after the cluster stopped: {pids}")

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
