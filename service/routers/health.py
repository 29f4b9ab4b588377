"""``/health`` (what is loaded and how), ``/overview`` (what the collection holds) and ``/metrics`` (Prometheus:
request counts and latency by endpoint)."""

from __future__ import annotations

import os
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.deps import CollectionDep
from service.outputs import Overview
from service.overview import overview

router = APIRouter(tags=["service"])


@router.get("/health")
def health(collection: CollectionDep) -> dict[str, Any]:
    """Trạng thái dịch vụ: số văn bản, số đoạn, trạng thái tìm kiếm ngữ nghĩa."""
    docs, chunks = collection.store.counts()
    manifest = collection.manifest() or {}
    return {
        "status": "ok",
        "documents": docs,
        "chunks": chunks,
        "dense": collection.searcher().dense_status,
        "index_built_at": manifest.get("built_at"),
        # which replica answered and from which generation: a rollout is over when every replica names the new one
        "replica": {"pid": os.getpid(), "generation": collection.served_generation},
    }


@router.get("/overview", response_model=Overview)
def collection_overview(collection: CollectionDep) -> dict[str, Any]:
    """Tổng quan bộ văn bản: số văn bản và đoạn; theo tỉnh (tên cũ và tên hiện nay), theo năm, theo loại; mô hình
    ngữ nghĩa; lần cập nhật cuối."""
    _, chunks = collection.store.counts()
    return overview(collection.store.documents(), chunks, collection.manifest())


class _Metrics:
    """Pure ASGI middleware: Starlette's ``@app.middleware("http")`` wraps every request in a task group and a
    streamed response, which costs more than a lexical search over thousands of chunks."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            endpoint = getattr(scope.get("route"), "path", "unmatched")  # the route template: ids stay out of labels
            self.requests.labels(endpoint, scope["method"], str(status)).inc()
            self.latency.labels(endpoint).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI) -> None:
    """Request counts and latency by endpoint, served at ``/metrics`` from the app's own registry."""
    registry = CollectorRegistry()
    requests = Counter("tracuu_requests_total", "HTTP requests", ["endpoint", "method", "status"], registry=registry)
    latency = Histogram("tracuu_request_seconds", "HTTP request latency", ["endpoint"], registry=registry)
    app.add_middleware(_Metrics, requests=requests, latency=latency)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
