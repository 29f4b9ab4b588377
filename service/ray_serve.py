"""Replicas on Ray Serve: the same FastAPI app in N Ray actors, on one machine or on several.

Why two mechanisms. On one machine, ``tracuu serve --workers N`` (uvicorn's worker processes sharing one socket)
is the faster one: each request is parsed once, in the process that answers it. Ray Serve adds a proxy hop and an
actor call per request (bench/replicas.py measures both), but it places replicas on every node of a cluster and
restarts one that dies, which uvicorn cannot. Both answer from the same immutable generations: each replica holds
the snapshot of one generation folder and switches when ``CURRENT`` names a newer one (index.collection), so a
write made anywhere — an upload to one replica, the CLI — rolls out to every replica without a failed request.

Every node must see the index folder at the same path (a shared or synchronised file system): replicas read it,
and an upload through one of them writes it under the folder's lock.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from index.ray_work import connected

APP_NAME = "tracuu"
CPUS_PER_REPLICA = 1.0  # a request is one thread of Python and the encoder's one query thread


def _replica_env(index_dir: Path) -> dict[str, str]:
    """The settings a replica reads: this process's TRACUU_* variables, with the index folder made absolute."""
    env = {key: value for key, value in os.environ.items() if key.startswith("TRACUU_")}
    env["TRACUU_INDEX_DIR"] = str(index_dir.resolve())
    return env


def _build_app() -> Any:
    """Run in each replica when it starts: the app its lifespan opens the index and loads the encoder for."""
    from service.app import create_app

    return create_app()


def deployment(index_dir: Path, replicas: int) -> Any:
    """The Serve application: the FastAPI app behind Serve's ingress, ``replicas`` copies of it."""
    from ray import serve

    ingress = serve.ingress(_build_app)()
    options = {"num_cpus": CPUS_PER_REPLICA, "runtime_env": {"env_vars": _replica_env(index_dir)}}
    replicated = serve.deployment(name=APP_NAME, num_replicas=replicas, ray_actor_options=options,
                                  logging_config={"log_level": "WARNING", "enable_access_log": False})(ingress)
    return replicated.bind()


def serve_on_ray(index_dir: Path, address: str, replicas: int, host: str, port: int) -> None:
    """Deploy ``replicas`` replicas on the cluster at ``address`` (or ``local``), serve on host:port until SIGTERM
    or Ctrl-C, then take the application down."""
    from ray import serve

    with connected(address):
        serve.start(http_options={"host": host, "port": port}, logging_config={"log_level": "WARNING"})
        try:
            serve.run(deployment(index_dir, replicas), name=APP_NAME, route_prefix="/")
            print(f"serving {index_dir} on http://{host}:{port} with {replicas} Ray Serve replica(s)", file=sys.stderr,
                  flush=True)
            _wait_for_signal()
        finally:
            _take_down(serve)


def _take_down(serve: Any) -> None:
    """Delete this application; stop Serve itself only when no other application runs on the cluster."""
    serve.delete(APP_NAME)
    if not serve.status().applications:
        serve.shutdown()


def _wait_for_signal() -> None:
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
